package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestReason(t *testing.T) {
	t.Parallel()
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1",
		"255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.0.8",
		"::1", "::", "fc00::1", "fd12:3456::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
		"2002:7f00:1::", "2002:a00:1::", "64:ff9b:1::1", "fec0::1", "::127.0.0.1", "2001:db8::1",
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.128.0.1", "100.63.255.255", "172.32.0.1",
		"192.169.0.1", "169.255.0.1", "2606:4700:4700::1111", "2a00:1450:4001::200e",
		"64:ff9b::808:808", "2002:808:808::", "::ffff:8.8.8.8",
	}
	for _, a := range blocked {
		if r := Reason(netip.MustParseAddr(a)); r == "" {
			t.Errorf("%s is allowed, want it refused", a)
		}
	}
	for _, a := range public {
		if r := Reason(netip.MustParseAddr(a)); r != "" {
			t.Errorf("%s is refused as %s, want it allowed", a, r)
		}
	}
	if Reason(netip.Addr{}) == "" {
		t.Error("the zero Addr is allowed")
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	lo := netip.MustParseAddrPort("127.0.0.1:8080")
	tests := []struct {
		name    string
		g       Guard
		address string
		want    string // "" allowed, else part of the error
	}{
		{"loopback", Guard{}, "127.0.0.1:80", "a loopback address"},
		{"metadata", Guard{}, "169.254.169.254:80", "link-local"},
		{"mapped loopback", Guard{}, "[::ffff:127.0.0.1]:80", "127.0.0.1 is a loopback address"},
		{"ula", Guard{}, "[fd00::1]:443", "a private address"},
		{"cgnat", Guard{}, "100.64.0.1:443", "carrier-grade NAT"},
		{"public", Guard{}, "93.184.216.34:443", ""},
		{"allowed private", Guard{AllowPrivate: true}, "10.0.0.1:80", ""},
		{"allow func", Guard{Allow: func(ap netip.AddrPort) bool { return ap == lo }}, "127.0.0.1:8080", ""},
		{"allow func other port", Guard{Allow: func(ap netip.AddrPort) bool { return ap == lo }}, "127.0.0.1:8081", "loopback"},
		{"not an address", Guard{}, "example.com:80", "unexpected dial address"},
	}
	for _, tc := range tests {
		err := tc.g.Control("tcp", tc.address, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Control(%s) = %v, want allowed", tc.name, tc.address, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Control(%s) = %v, want an error with %q", tc.name, tc.address, err, tc.want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host    string
		allowed bool
	}{
		{"localhost", false},
		{"LocalHost.", false},
		{"api.localhost", false},
		{"127.0.0.1", false},
		{"::1", false},
		{"[::1]", false},
		{"fe80::1%eth0", false},
		{"169.254.169.254", false},
		{"10.0.0.1", false},
		{"hooks.example.com", true},
		{"localhost.example.com", true},
		{"8.8.8.8", true},
		{"2606:4700:4700::1111", true},
	}
	for _, tc := range tests {
		err := Guard{}.CheckHost(tc.host, "443")
		var b *BlockedError
		if tc.allowed != (err == nil) || (err != nil && !errors.As(err, &b)) {
			t.Errorf("CheckHost(%q) = %v, want allowed %v", tc.host, err, tc.allowed)
		}
		if err := (Guard{AllowPrivate: true}).CheckHost(tc.host, "443"); err != nil {
			t.Errorf("CheckHost(%q) with AllowPrivate = %v", tc.host, err)
		}
	}
	g := Guard{Allow: func(ap netip.AddrPort) bool { return ap == netip.MustParseAddrPort("127.0.0.1:9") }}
	if err := g.CheckHost("127.0.0.1", "9"); err != nil {
		t.Errorf("CheckHost with Allow = %v", err)
	}
}

// TestTransport connects through the guarded transport to a loopback
// server: refused by default, served when private addresses are allowed.
func TestTransport(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	get := func(g Guard) error {
		tr := g.Transport(5 * time.Second)
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	err := get(Guard{})
	var b *BlockedError
	if !errors.As(err, &b) || b.Addr != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("GET %s = %v, want a *BlockedError for 127.0.0.1", srv.URL, err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("error %v is not a dial error", err)
	}
	if err := get(Guard{AllowPrivate: true}); err != nil {
		t.Fatalf("GET with AllowPrivate = %v", err)
	}
	if (Guard{}).Transport(time.Second).Proxy != nil {
		t.Fatal("the transport uses a proxy")
	}
}
