package httpguard

import (
	"net/http"
	"net/netip"
	"strings"
)

// proxies is the set of trusted reverse proxies.
type proxies []netip.Prefix

func (p proxies) contains(a netip.Addr) bool {
	for _, pfx := range p {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// TrustedProxies is the one reading of forwarded headers that the front
// door and the edge share: the reverse proxies (security.trusted_proxies)
// whose X-Forwarded-For and X-Forwarded-Proto are believed. The zero value
// trusts no one: the client is the TCP peer, and forwarded headers are
// ignored whoever sends them.
type TrustedProxies struct{ p proxies }

// NewTrustedProxies trusts the proxies in ps (CIDRs; a single address is
// a full-length prefix). ps is copied.
func NewTrustedProxies(ps []netip.Prefix) TrustedProxies {
	return TrustedProxies{p: append(proxies(nil), ps...)}
}

// ClientAddr returns the address of r's client: the TCP peer, unless the
// peer is a trusted proxy, in which case the rightmost X-Forwarded-For
// address that is not itself a trusted proxy (the leftmost ones can be
// forged by the client). The result is unmapped (IPv4 in IPv6 becomes
// IPv4) and without zone; it is the zero Addr when RemoteAddr is not an
// address.
func (t TrustedProxies) ClientAddr(r *http.Request) netip.Addr {
	return clientAddr(r, t.p)
}

// Scheme returns the scheme the client used: the X-Forwarded-Proto that a
// trusted proxy peer sent (a proxy terminating TLS in front of us), when
// it holds one value, "http" or "https"; else "https" on a TLS connection
// and "http" otherwise. From any other peer the header is ignored.
func (t TrustedProxies) Scheme(r *http.Request) string {
	if vs := r.Header.Values("X-Forwarded-Proto"); len(vs) == 1 {
		if p := strings.ToLower(strings.TrimSpace(vs[0])); p == "https" || p == "http" {
			if peer := remoteAddr(r.RemoteAddr); peer.IsValid() && t.p.contains(peer) {
				return p
			}
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// TrustedProxies returns the guard's trusted proxies, for handlers behind
// it that read forwarded headers (the edge's signed URLs).
func (g *Guard) TrustedProxies() TrustedProxies { return g.trusted }

// ClientAddr is g.TrustedProxies().ClientAddr(r).
func (g *Guard) ClientAddr(r *http.Request) netip.Addr {
	return clientAddr(r, g.trusted.p)
}

func clientAddr(r *http.Request, trusted proxies) netip.Addr {
	peer := remoteAddr(r.RemoteAddr)
	if len(trusted) == 0 || !peer.IsValid() || !trusted.contains(peer) {
		return peer
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var part string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				part, v = v[j+1:], v[:j]
			} else {
				part, v = v, ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(part))
			if err != nil {
				return peer // garbage from here on: stop at the last good hop
			}
			a = a.Unmap().WithZone("")
			if !trusted.contains(a) {
				return a
			}
			peer = a
		}
	}
	return peer
}

// remoteAddr parses "ip:port" (or a bare IP) without allocating.
func remoteAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// bucketKey is the key a client is counted under: its IPv4 address, or its
// IPv6 /64 (one subscriber usually holds a whole /64).
func bucketKey(a netip.Addr) netip.Addr {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
