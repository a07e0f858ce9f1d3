package origin

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// The low-latency edge of a live channel (LL-HLS parts, blocking playlist
// reloads, LL-DASH segments still being produced) exists only in the memory
// of the node that packages the channel. An Origin given a LiveSource asks
// it first for media playlists and .m4s objects, and storage for everything
// the source does not serve. The origin still knows nothing of packaging:
// the source is keyed by storage key, and its answers are bytes, readers and
// the sentinel errors below.

// LiveSource serves live objects from memory, by storage key.
type LiveSource interface {
	// MediaPlaylist returns the media playlist stored under key, rendered
	// with the LL-HLS delivery directives of query (rfc8216bis 6.2.5):
	// with _HLS_msn (and _HLS_part) it is held until that part exists;
	// _HLS_skip asks for a delta update. ErrNotLive: serve storage.
	MediaPlaylist(ctx context.Context, key string, query url.Values) ([]byte, error)
	// Open returns the part or segment stored under key as it is produced:
	// its reader returns the bytes produced so far at once, blocks for the
	// rest, and returns io.EOF once the object is complete; any other
	// error means the object was not completed. Close may be called
	// while a Read waits, and ends it (the origin closes the reader when
	// the client leaves, and again when the request ends: Close must be
	// idempotent). ErrNotLive: serve storage.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Errors a LiveSource returns (wrapped or not; the origin tests them with
// errors.Is). Any other error is answered 500, or nothing once the client
// has gone.
var (
	// ErrNotLive: the source does not serve this key (not a live channel of
	// this node, another session's directory, an init segment, a segment
	// already out of memory): the origin serves it from storage.
	ErrNotLive = errors.New("not served by the live source")
	// ErrNotFound: the object does not exist and will not (a part too old
	// or too far ahead): 404, "no-store".
	ErrNotFound = errors.New("no such live object")
	// ErrHoldTimeout: a blocking request waited its bound without the part
	// it asked for: 503, "no-store".
	ErrHoldTimeout = errors.New("live object not produced in time")
	// ErrBadDirective: malformed delivery directives, or a _HLS_msn more
	// than two segments ahead: 400, "no-store", with the error's text as
	// the body.
	ErrBadDirective = errors.New("bad delivery directive")
)

// blockingCacheControl returns the Cache-Control of the answer to a
// blocking playlist reload: about three target durations. The answer to a
// given _HLS_msn/_HLS_part never changes but for its rendition reports, so
// a viewer slightly behind (or an edge's later viewer) may reuse it; by then
// the player asks for later parts anyway.
func blockingCacheControl(segDur time.Duration) string {
	if segDur <= 0 {
		segDur = defaultSegDur
	}
	n := int64((3*segDur + time.Second - 1) / time.Second)
	return "public, max-age=" + strconv.FormatInt(n, 10)
}

// PeerHeader marks a request one node's origin makes to another's for a
// channel packaged there (Config.Peer): the answer is what that node's
// LiveSource returned, as is (no filtering, rewriting or compression), or
// storage's, and it is never passed on to a third node.
const PeerHeader = "Osprey-Peer"

// serveLive serves key from the live sources: this node's, then (unless
// the request comes from a peer) the peer that packages the channel. It
// reports false, having written nothing, when neither serves it (storage
// does).
func (o *Origin) serveLive(w http.ResponseWriter, r *http.Request, key string, mt mediaType) bool {
	fromPeer := r.Header.Get(PeerHeader) != ""
	for _, src := range [2]LiveSource{o.live, o.peer} {
		if src == nil || fromPeer && src == o.peer {
			continue
		}
		var served bool
		switch path.Ext(key) {
		case ".m3u8":
			served = o.serveLivePlaylist(w, r, key, src, fromPeer)
		case ".mpd":
			served = o.serveLiveMPD(w, r, key, src, fromPeer)
		case ".m4s":
			served = o.serveLiveObject(w, r, key, mt, src)
		}
		if served {
			return true
		}
	}
	return false
}

func (o *Origin) serveLivePlaylist(w http.ResponseWriter, r *http.Request, key string, src LiveSource, raw bool) bool {
	q := directiveQuery(r.URL.RawQuery)
	body, err := src.MediaPlaylist(r.Context(), key, q)
	if err != nil {
		return o.liveError(w, r, key, err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/vnd.apple.mpegurl")
	h.Set("X-Content-Type-Options", "nosniff")
	if raw {
		writeRaw(w, body)
		return true
	}
	switch {
	case bytes.Contains(body, []byte("#EXT-X-ENDLIST")):
		h.Set("Cache-Control", ccEnded)
	case q.Has(paramMSN):
		h.Set("Cache-Control", o.blockingCC)
	default:
		h.Set("Cache-Control", o.liveCC)
	}
	o.sendManifest(w, r, key, body, "ll"+bodyHash(body), time.Time{})
	return true
}

// serveLiveMPD serves a live MPD the source renders from memory (LL-DASH:
// it lists the segment being produced), through the same filtering,
// UTCTiming and caching as a stored MPD.
func (o *Origin) serveLiveMPD(w http.ResponseWriter, r *http.Request, key string, src LiveSource, raw bool) bool {
	body, err := src.MediaPlaylist(r.Context(), key, nil)
	if err != nil {
		return o.liveError(w, r, key, err)
	}
	w.Header().Set("Content-Type", "application/dash+xml")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if raw {
		writeRaw(w, body)
		return true
	}
	o.serveManifestBody(w, r, key, body, "ll"+bodyHash(body), time.Time{}, ".mpd")
	return true
}

// writeRaw answers a peer with a source's manifest as it is.
func writeRaw(w http.ResponseWriter, body []byte) {
	w.Header().Set("Cache-Control", ccError)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (o *Origin) serveLiveObject(w http.ResponseWriter, r *http.Request, key string, mt mediaType, src LiveSource) bool {
	body, err := src.Open(r.Context(), key)
	if err != nil {
		return o.liveError(w, r, key, err)
	}
	defer body.Close()
	// A client that leaves ends the wait for the rest of the object
	// (closing the reader unblocks its Read).
	stop := context.AfterFunc(r.Context(), func() { body.Close() })
	defer stop()
	h := w.Header()
	h.Set("Content-Type", mt.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", ccImmutable)
	// No Content-Length (unknown until the object is complete), no
	// validators, no ranges: 200 with the whole object, written as it is
	// produced. Headers go out at once so that a player (or an edge) knows
	// the object is coming while it waits for the first bytes.
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return true
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush() // ErrNotSupported: an in-process writer needs none
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return true // the client has gone
			}
			_ = rc.Flush()
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			if r.Context().Err() == nil {
				o.log.Warn("live object ended before it was complete", "key", key, "err", err)
			}
			// Break the response, so that neither the client nor a cache
			// takes the bytes so far for the whole object.
			panic(http.ErrAbortHandler)
		}
	}
}

// liveError answers a source's error, or reports false for ErrNotLive.
func (o *Origin) liveError(w http.ResponseWriter, r *http.Request, key string, err error) bool {
	switch {
	case errors.Is(err, ErrNotLive):
		return false
	case errors.Is(err, ErrBadDirective):
		o.failNoStore(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		o.failNoStore(w, http.StatusNotFound, http.StatusText(http.StatusNotFound))
	case errors.Is(err, ErrHoldTimeout):
		o.failNoStore(w, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
	case r.Context().Err() != nil:
		// The client has gone (it ended its blocking request): nobody
		// reads the answer.
		o.failNoStore(w, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
	default:
		o.log.Error("serving a live object", "key", key, "err", err)
		o.failNoStore(w, http.StatusInternalServerError, http.StatusText(http.StatusInternalServerError))
	}
	return true
}

// failNoStore writes an error response that no cache may keep, 404s
// included: a part or playlist asked for too early exists moments later.
func (o *Origin) failNoStore(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Cache-Control", ccError)
	h.Set("X-Content-Type-Options", "nosniff")
	http.Error(w, msg, status)
}

// Delivery directive parameters (rfc8216bis 6.2.5).
const (
	paramMSN    = "_HLS_msn"
	paramHLS    = "_HLS_"
	partPattern = ".m4s"
)

// directiveQuery parses a raw query for the live source. Unlike
// url.ParseQuery it splits on "&" only and keeps a name or value that is
// not valid percent-encoding as its literal text instead of dropping the
// pair, so that a malformed _HLS_msn reaches the source (which answers 400)
// rather than turning the request into a plain playlist reload.
func directiveQuery(raw string) url.Values {
	q := url.Values{}
	if raw == "" {
		return q
	}
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		q.Add(unescapeOrLiteral(name), unescapeOrLiteral(value))
	}
	return q
}

func unescapeOrLiteral(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// lowLatency reports whether a request is one whose 404 must not be cached
// at all: a part ({n}.{k}.m4s, never in storage, asked for just before it
// exists) or a request with LL-HLS delivery directives.
func lowLatency(key, rawQuery string) bool {
	return isPartKey(key) || strings.Contains(rawQuery, paramHLS)
}

// isPartKey reports whether key names an LL-HLS part, {n}.{k}.m4s.
func isPartKey(key string) bool {
	name, ok := strings.CutSuffix(path.Base(key), partPattern)
	if !ok {
		return false
	}
	n, k, ok := strings.Cut(name, ".")
	return ok && isDigits(n) && isDigits(k)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// bodyHash is the ETag of a manifest rendered in memory.
func bodyHash(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}
