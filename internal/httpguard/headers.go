package httpguard

import (
	"net/http"
	"strconv"
	"time"
)

// headerSet holds the security headers' values, each a one-element slice
// with no spare capacity, so that setting them allocates nothing and an
// Add by a handler copies rather than shares.
type headerSet struct {
	nosniff, denyFrame, noReferrer, sameOrigin, apiCSP, hsts []string
}

// apiCSP forbids everything to a JSON or text response opened as a page,
// framing included.
const apiCSP = "default-src 'none'; frame-ancestors 'none'"

func newHeaderSet(hstsMaxAge time.Duration) headerSet {
	one := func(v string) []string { return []string{v}[:1:1] }
	h := headerSet{
		nosniff:    one("nosniff"),
		denyFrame:  one("DENY"),
		noReferrer: one("no-referrer"),
		sameOrigin: one("same-origin"),
		apiCSP:     one(apiCSP),
	}
	if hstsMaxAge > 0 {
		h.hsts = one("max-age=" + strconv.FormatInt(int64(hstsMaxAge/time.Second), 10))
	}
	return h
}

// set adds the headers every response of class gets: nosniff everywhere;
// on the API, metrics and probes no framing, no referrer and a CSP that
// allows nothing; on pages a same-origin referrer (the web package sets
// their CSP and frame-ancestors); HSTS over TLS. Media keeps its own
// headers (CORS) and gets only nosniff and HSTS. Handlers may override.
func (s *headerSet) set(h http.Header, class Class, tls bool) {
	h["X-Content-Type-Options"] = s.nosniff
	switch class {
	case ClassOpen, ClassAPI, ClassUpload, ClassMetrics:
		h["X-Frame-Options"] = s.denyFrame
		h["Referrer-Policy"] = s.noReferrer
		h["Content-Security-Policy"] = s.apiCSP
	case ClassWeb:
		h["Referrer-Policy"] = s.sameOrigin
	}
	if tls && s.hsts != nil {
		h["Strict-Transport-Security"] = s.hsts
	}
}
