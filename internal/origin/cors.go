package origin

import (
	"net/http"
	"strings"
)

// exposeHeaders lets players read the headers they use for bandwidth
// estimation, range handling, clock sync and cache diagnostics.
const exposeHeaders = "Content-Length, Content-Range, Content-Encoding, ETag, Age, Date, Last-Modified, Cache-Control"

// setCORS adds the headers every response carries when CORS is enabled.
func (o *Origin) setCORS(h http.Header) {
	if o.allowOrigin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", o.allowOrigin)
	h.Set("Access-Control-Expose-Headers", exposeHeaders)
}

// preflight answers OPTIONS: 204 with Allow, and when CORS is enabled the
// allowed methods, Range plus whatever headers the browser asks for (media
// is public, so any request header is acceptable), and a day of caching.
func (o *Origin) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", allowMethods)
	if o.allowOrigin != "" {
		h.Set("Access-Control-Allow-Methods", allowMethods)
		h.Set("Access-Control-Allow-Headers", allowHeaders(r.Header.Values("Access-Control-Request-Headers")))
		h.Set("Access-Control-Max-Age", "86400")
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowHeaders returns "Range" followed by the valid header names requested.
func allowHeaders(requested []string) string {
	names := []string{"Range"}
	for _, v := range requested {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" || !isToken(name) || strings.EqualFold(name, "range") {
				continue
			}
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
