package edge

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// directives are the parsed Cache-Control (or CDN-Cache-Control) of a
// response: lower-cased names, values without quotes.
type directives map[string]string

func parseDirectives(values []string) directives {
	d := directives{}
	for _, v := range values {
		for part := range splitDirectives(v) {
			name, val, _ := strings.Cut(part, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if _, dup := d[name]; dup {
				// RFC 9111 §4.2.1: duplicates make the lifetime invalid;
				// the stricter reading keeps the first.
				continue
			}
			d[name] = strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	return d
}

// splitDirectives yields the comma-separated members of a header value,
// leaving commas inside quoted strings alone.
func splitDirectives(v string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start, quoted := 0, false
		for i := 0; i < len(v); i++ {
			switch v[i] {
			case '"':
				quoted = !quoted
			case ',':
				if !quoted {
					if !yield(v[start:i]) {
						return
					}
					start = i + 1
				}
			}
		}
		yield(v[start:])
	}
}

func (d directives) has(name string) bool { _, ok := d[name]; return ok }

// seconds returns a delta-seconds directive; ok is false when it is absent
// or malformed.
func (d directives) seconds(name string) (time.Duration, bool) {
	v, ok := d[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if n > 1<<31 {
		n = 1 << 31 // RFC 9111 §1.2.2
	}
	return time.Duration(n) * time.Second, true
}

// freshness is what the edge does with an origin response.
type freshness struct {
	store bool   // keep it in the cache
	why   string // why not, for the access log
	fresh time.Duration
	swr   time.Duration
	sie   time.Duration
}

// positive statuses are cached like 200; negative ones only briefly.
func cacheableStatus(status int) (ok, negative bool) {
	switch status {
	case http.StatusOK, http.StatusNonAuthoritativeInfo, http.StatusNoContent,
		http.StatusMultipleChoices, http.StatusMovedPermanently, http.StatusPermanentRedirect:
		return true, false
	case http.StatusNotFound, http.StatusGone:
		return true, true
	}
	return false, false
}

// decide applies the origin's caching headers (CDN-Cache-Control, RFC 9213,
// wins over Cache-Control) and the edge's defaults to a response for path.
func (e *Edge) decide(path string, status int, h http.Header, now time.Time) freshness {
	ok, negative := cacheableStatus(status)
	if !ok {
		return freshness{why: "status " + strconv.Itoa(status)}
	}
	cc := h.Values("CDN-Cache-Control")
	if len(cc) == 0 {
		cc = h.Values("Cache-Control")
	}
	d := parseDirectives(cc)
	switch {
	case d.has("no-store"):
		return freshness{why: "no-store"}
	case d.has("private"):
		return freshness{why: "private"}
	case len(h.Values("Set-Cookie")) > 0:
		return freshness{why: "set-cookie"}
	}
	for _, name := range varyNames(h) {
		if name == "*" {
			return freshness{why: "vary *"}
		}
	}

	f := freshness{store: true, swr: e.cfg.StaleWhileRevalidate, sie: e.cfg.StaleIfError}
	explicit := true
	if v, ok := d.seconds("s-maxage"); ok {
		f.fresh = v
	} else if v, ok := d.seconds("max-age"); ok {
		f.fresh = v
	} else if exp := h.Get("Expires"); exp != "" && !negative {
		f.fresh = expiresLifetime(exp, h.Get("Date"), now)
	} else {
		explicit = false
	}
	switch {
	case negative && !explicit:
		if e.cfg.NegativeTTL <= 0 {
			return freshness{why: "negative caching off"}
		}
		f.fresh = e.cfg.NegativeTTL
	case !explicit && d.has("no-cache"):
		f.fresh = 0
	case !explicit:
		f.fresh = e.defaultTTL(path)
	}
	if d.has("no-cache") && explicit && !negative {
		f.fresh = 0 // stored, but revalidated before every use
	}
	if v, ok := d.seconds("stale-while-revalidate"); ok {
		f.swr = v
	}
	if v, ok := d.seconds("stale-if-error"); ok {
		f.sie = v
	}
	if d.has("must-revalidate") || d.has("proxy-revalidate") {
		f.swr, f.sie = 0, 0
	}
	return f
}

// expiresLifetime is Expires minus Date (or now, without a Date); an
// invalid Expires means already expired (RFC 9111 §5.3).
func expiresLifetime(expires, date string, now time.Time) time.Duration {
	exp, err := http.ParseTime(expires)
	if err != nil {
		return 0
	}
	base := now
	if t, err := http.ParseTime(date); err == nil {
		base = t
	}
	if d := exp.Sub(base); d > 0 {
		return d
	}
	return 0
}

// defaultTTL is the lifetime of the first TTL rule matching path.
func (e *Edge) defaultTTL(path string) time.Duration {
	for _, r := range e.ttl {
		if signedurl.Match(r.Pattern, path) {
			return r.TTL
		}
	}
	return 0
}

// initialAge is the age a response already has when it arrives: its Age
// header, set by caches nearer the origin. RFC 9111 §4.2.3 would add the
// time the request took and a Date-based apparent age; both are left out,
// as CDNs do: origin clocks are second-accurate and often skewed, and an
// origin that holds a request (a blocking LL-HLS playlist reload) would
// make its answer stale on arrival.
func initialAge(h http.Header) time.Duration {
	if v := h.Get("Age"); v != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}
