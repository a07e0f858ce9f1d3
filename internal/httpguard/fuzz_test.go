package httpguard

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientAddr feeds X-Forwarded-For (one header line per "\n") and
// RemoteAddr from outside. The result is the peer, or an address that
// came through trusted hops only: it is in the header, and the peer and
// every hop to its right are trusted proxies. So it is the rightmost
// address that is not a trusted proxy, or a trusted one when every hop
// from there to the peer was one (the chain of proxies ended in a
// garbled or missing entry).
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1234", "198.51.100.9")
	f.Add("10.0.0.1:1234", "1.1.1.1, 198.51.100.9, 10.0.0.7")
	f.Add("10.0.0.1:1234", " , ,,")
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:198.51.100.9, fe80::1%eth0")
	f.Add("192.0.2.1:1", "198.51.100.9")
	f.Add("pipe", "198.51.100.9")
	f.Add("10.0.0.1:1234", "203.0.113.5\n10.0.0.9, 10.0.0.8")
	f.Add("10.0.0.1:1234", "203.0.113.5, 10.0.0.9\n198.51.100.1")
	f.Add("10.0.0.1:1234", "10.1.1.1, garbage, 10.2.2.2")
	trusted := proxies{mustPrefix("10.0.0.0/8"), mustPrefix("2001:db8::/32")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		lines := strings.Split(xff, "\n")
		r.Header["X-Forwarded-For"] = lines
		got := clientAddr(r, trusted)
		peer := remoteAddr(remote)
		if !peer.IsValid() || !trusted.contains(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %v: got %v", peer, got)
			}
			return
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("address %v not normalised", got)
		}
		if got == peer {
			return
		}
		// The hops, client first, as the proxies appended them.
		hops := strings.Split(strings.Join(lines, ","), ",")
		for k := len(hops) - 1; k >= 0; k-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[k]))
			if err != nil {
				t.Fatalf("%v came from beyond the unparsable hop %q in %q", got, hops[k], xff)
			}
			a = a.Unmap().WithZone("")
			if a == got {
				// Every hop to its right was a trusted proxy; a trusted
				// proxy itself only when nothing believable is left of it.
				if trusted.contains(a) && k > 0 {
					if _, err := netip.ParseAddr(strings.TrimSpace(hops[k-1])); err == nil {
						t.Fatalf("%v is a trusted proxy, with the address %q left of it, in %q", got, hops[k-1], xff)
					}
				}
				return
			}
			if !trusted.contains(a) {
				t.Fatalf("%v is left of %v, which is not a trusted proxy, in %q", got, a, xff)
			}
		}
		t.Fatalf("%v is neither the peer nor in %q", got, xff)
	})
}
