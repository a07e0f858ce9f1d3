package edge

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// protected reports whether a canonical path needs a signed URL or signed
// cookies. Patterns match regardless of case, so that an origin that reads
// paths case-insensitively (IIS, some object stores) cannot be asked for
// /VOD/... unsigned; a signed URL still names its path exactly.
func (e *Edge) protected(path string) bool {
	lower := strings.ToLower(path)
	for _, p := range e.signed {
		if signedurl.Match(p, lower) {
			return true
		}
	}
	return false
}

// lowerAll returns patterns in lower case.
func lowerAll(patterns []string) []string {
	out := make([]string, len(patterns))
	for i, p := range patterns {
		out[i] = strings.ToLower(p)
	}
	return out
}

// verifySigned checks the request's signed URL or cookies against the URL
// the viewer used: scheme, Host, path and query, and the viewer's address
// for a policy with an IP condition. Both are read as the front door reads
// them (Config.TrustedProxies, from security.trusted_proxies): the scheme
// is https on a TLS connection, or the X-Forwarded-Proto of a trusted
// proxy (a load balancer terminating TLS in front of the edge); the
// address is the TCP peer, or the X-Forwarded-For hop a trusted proxy
// vouches for. Nobody is trusted by default, so a viewer cannot claim
// another address or scheme.
func (e *Edge) verifySigned(r *http.Request) error {
	u := &url.URL{Scheme: e.cfg.TrustedProxies.Scheme(r), Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	return e.cfg.Verifier.Verify(u, e.clientAddr(r), r.Cookies())
}

// clientAddr is the viewer's IP address (see verifySigned).
func (e *Edge) clientAddr(r *http.Request) netip.Addr {
	return e.cfg.TrustedProxies.ClientAddr(r)
}

// deny answers 403 with the reason.
func (e *Edge) deny(rec *record, err error) {
	reason := "denied"
	for _, s := range []struct {
		err  error
		name string
	}{
		{signedurl.ErrUnsigned, "unsigned"}, {signedurl.ErrMalformed, "malformed"},
		{signedurl.ErrUnknownKey, "unknown-key"}, {signedurl.ErrBadSignature, "bad-signature"},
		{signedurl.ErrExpired, "expired"}, {signedurl.ErrNotYetValid, "not-yet-valid"},
		{signedurl.ErrWrongResource, "wrong-resource"}, {signedurl.ErrIPNotAllowed, "ip"},
	} {
		if errors.Is(err, s.err) {
			reason = s.name
			break
		}
	}
	e.metrics.denied.WithLabelValues(reason).Inc()
	h := rec.Header()
	h.Set("Cache-Control", "no-store")
	e.addTrace(h, e.cfg.Name+"; detail=signature-"+reason)
	msg := strings.TrimPrefix(err.Error(), "signedurl: ")
	http.Error(rec, "403 Forbidden: "+msg, http.StatusForbidden)
}
