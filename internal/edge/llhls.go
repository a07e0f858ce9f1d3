package edge

import (
	"strings"
	"time"
)

// Low-Latency HLS through the edge (RFC 8216bis §6.2.5).
//
// A player asks for the next playlist update with delivery directives in
// the query: _HLS_msn=N (and _HLS_part=K) makes the origin hold the request
// until that segment (part) exists, _HLS_skip=YES|v2 asks for a delta
// playlist. The directives are part of the cache key and forwarded, always
// (whatever cache_key_query says: without them a blocking reload would be
// answered with the plain playlist), so that every viewer waiting for the
// same part joins one flight: one origin request, held by the origin, whose
// answer all of them receive and which is then a hit for the late ones.
// Their values are not checked here: the origin answers a malformed or
// too-far-ahead directive with 400, which is never stored.
//
// A held request is not a slow origin. Its response headers may take as
// long as the origin holds it (about three target durations), so it is
// bounded by Config.HoldTimeout (default 10 s) instead of OriginTimeout, on
// every origin; when that runs out the viewers get 504, the origin is not
// marked down and the request is not tried on the next origin (a second
// origin would hold it as long again, past the player's patience). A 5xx
// that arrives after the origin held the request longer than OriginTimeout
// (its 503 "the part did not come in time") is likewise the answer, not a
// reason to move on; a quick 5xx or a connect error still fails over.
//
// Parts ({n}.{k}.m4s) are ordinary objects: the origin answers a
// preload-hinted part at once with a body it writes while the part is
// produced, the flight streams it to every waiting viewer as it grows (see
// flight.go), and it is stored once complete.

// hlsDirectives are the delivery directives the cache key always keeps.
var hlsDirectives = []string{"_HLS_msn", "_HLS_part", "_HLS_skip"}

// DefaultHoldTimeout bounds a blocking playlist reload's wait for the
// origin's response headers when Config.HoldTimeout is not set.
const DefaultHoldTimeout = 10 * time.Second

// blockingReload reports whether a forwarded (canonical) query asks the
// origin to hold the request: it carries _HLS_msn.
func blockingReload(query string) bool {
	for part := range strings.SplitSeq(query, "&") {
		if strings.HasPrefix(part, "_HLS_msn=") {
			return true
		}
	}
	return false
}

// holdTimeout is how long a blocking reload may wait for an origin's
// response headers.
func (e *Edge) holdTimeout() time.Duration {
	return max(e.cfg.HoldTimeout, e.cfg.OriginTimeout)
}
