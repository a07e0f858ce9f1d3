package app

import (
	"net"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
)

// The advertised URL is the configured one, else the listener's address,
// with a reachable host when the listener is on every interface.
func TestAdvertiseURL(t *testing.T) {
	tcp := func(s string) net.Addr { a, _ := net.ResolveTCPAddr("tcp", s); return a }
	for _, c := range []struct {
		name string
		cfg  config.Config
		addr net.Addr
		want string // "" : any http URL on port 8080 whose host is not unspecified
	}{
		{"configured", config.Config{AdvertiseURL: "http://osprey-a:8080/"}, tcp("0.0.0.0:8080"), "http://osprey-a:8080"},
		{"listener's IP", config.Config{}, tcp("127.0.0.1:8080"), "http://127.0.0.1:8080"},
		{"TLS", config.Config{Security: config.Security{TLSCert: "c.pem"}}, tcp("10.1.2.3:8443"), "https://10.1.2.3:8443"},
		{"every interface", config.Config{}, tcp("0.0.0.0:8080"), ""},
		{"every IPv6 interface", config.Config{}, tcp("[::]:8080"), ""},
	} {
		got, err := advertiseURL(&c.cfg, c.addr)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		switch {
		case c.want != "" && got != c.want:
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		case c.want == "" && (!strings.HasPrefix(got, "http://") || !strings.HasSuffix(got, ":8080") ||
			strings.Contains(got, "0.0.0.0") || strings.Contains(got, "[::]")):
			t.Errorf("%s: %q, want this host's address on port 8080", c.name, got)
		}
	}
}
