package netguard

import (
	"net/netip"
	"testing"
)

// FuzzCheckHost: CheckHost never panics, and a literal address it lets
// through is one Reason calls public (and Control admits).
func FuzzCheckHost(f *testing.F) {
	for _, s := range []string{"localhost", "127.0.0.1", "::ffff:10.0.0.1", "fe80::1%eth0", "[::1]",
		"example.com", "8.8.8.8", "64:ff9b::7f00:1", "2002:a00:1::", "LOCALHOST.", "0x7f.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		err := Guard{}.CheckHost(host, "80")
		ip, perr := netip.ParseAddr(host)
		if perr != nil || err != nil {
			return
		}
		if r := Reason(ip); r != "" {
			t.Fatalf("CheckHost(%q) passed %s", host, r)
		}
		if ip.Zone() == "" {
			if cerr := (Guard{}).Control("tcp", netip.AddrPortFrom(ip, 80).String(), nil); cerr != nil {
				t.Fatalf("CheckHost(%q) passed but Control refuses: %v", host, cerr)
			}
		}
	})
}
