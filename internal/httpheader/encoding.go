// Package httpheader reads HTTP request headers the same way wherever
// Osprey serves HTTP (origin, edge, web console).
package httpheader

import (
	"net/http"
	"strings"
)

// AcceptsGzip reports whether a request's Accept-Encoding allows gzip: an
// explicit gzip (or x-gzip) entry decides, else "*"; a quality of zero
// refuses. No header means no.
func AcceptsGzip(h http.Header) bool {
	star := false
	for _, v := range h.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			ok := qualityNonZero(params)
			switch coding {
			case "gzip", "x-gzip":
				return ok
			case "*":
				star = ok
			}
		}
	}
	return star
}

// qualityNonZero parses the parameters after a coding and reports whether
// q is absent or greater than zero.
func qualityNonZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		name, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		val = strings.TrimSpace(val)
		return strings.Trim(val, "0.") != "" // "0", "0.0", "0.000" are zero
	}
	return true
}
