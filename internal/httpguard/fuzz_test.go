package httpguard

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
)

// FuzzClientAddr feeds X-Forwarded-For and RemoteAddr from outside: the
// result is always the peer or an address that was in the header, and
// never a trusted proxy unless every hop was one.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:1234", "198.51.100.9")
	f.Add("10.0.0.1:1234", "1.1.1.1, 198.51.100.9, 10.0.0.7")
	f.Add("10.0.0.1:1234", " , ,,")
	f.Add("[::ffff:10.0.0.1]:1", "::ffff:198.51.100.9, fe80::1%eth0")
	f.Add("192.0.2.1:1", "198.51.100.9")
	f.Add("pipe", "198.51.100.9")
	trusted := proxies{mustPrefix("10.0.0.0/8"), mustPrefix("2001:db8::/32")}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
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
		if got != peer && !containsAddr(xff, got) {
			t.Fatalf("%v is neither the peer nor in %q", got, xff)
		}
	})
}

func mustPrefix(s string) netip.Prefix {
	p, err := config.ParsePrefix(s)
	if err != nil {
		panic(err)
	}
	return p
}

// containsAddr reports whether a appears among the comma-separated values.
func containsAddr(list string, a netip.Addr) bool {
	for _, part := range strings.Split(list, ",") {
		if p, err := netip.ParseAddr(strings.TrimSpace(part)); err == nil && p.Unmap().WithZone("") == a {
			return true
		}
	}
	return false
}
