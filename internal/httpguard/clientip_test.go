package httpguard

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     []string
		want    string
	}{
		{"peer without proxies", nil, "192.0.2.1:1234", nil, "192.0.2.1"},
		{"forwarded-for ignored from anyone", nil, "192.0.2.1:1234", []string{"198.51.100.9"}, "192.0.2.1"},
		{"forwarded-for ignored from an untrusted peer", []string{"10.0.0.0/8"}, "192.0.2.1:1234", []string{"198.51.100.9"}, "192.0.2.1"},
		{"trusted proxy", []string{"10.0.0.0/8"}, "10.1.2.3:1234", []string{"198.51.100.9"}, "198.51.100.9"},
		{"trusted proxy, no header", []string{"10.0.0.0/8"}, "10.1.2.3:1234", nil, "10.1.2.3"},
		{"rightmost untrusted wins over a forged left", []string{"10.0.0.0/8"}, "10.1.2.3:1234", []string{"1.1.1.1, 198.51.100.9"}, "198.51.100.9"},
		{"chain of trusted proxies", []string{"10.0.0.0/8"}, "10.1.2.3:1234", []string{"198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"several headers", []string{"10.0.0.0/8"}, "10.1.2.3:1234", []string{"1.1.1.1", "198.51.100.9, 10.0.0.7"}, "198.51.100.9"},
		{"all trusted: the leftmost", []string{"10.0.0.0/8"}, "10.1.2.3:1234", []string{"10.0.0.9, 10.0.0.7"}, "10.0.0.9"},
		{"garbage stops at the last good hop", []string{"10.0.0.0/8"}, "10.1.2.3:1234", []string{"198.51.100.9, junk, 10.0.0.7"}, "10.0.0.7"},
		{"single trusted address", []string{"192.0.2.7"}, "192.0.2.7:80", []string{"203.0.113.5"}, "203.0.113.5"},
		{"IPv6 peer", nil, "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"IPv4-mapped peer", nil, "[::ffff:192.0.2.1]:443", nil, "192.0.2.1"},
		{"zone dropped", nil, "[fe80::1%eth0]:443", nil, "fe80::1"},
		{"not an address", nil, "pipe", nil, "invalid IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			trusted := proxies(prefixes(tt.trusted...))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientAddr(r, trusted).String(); got != tt.want {
				t.Errorf("clientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBucketKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::",
	} {
		if got := bucketKey(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("bucketKey(%s) = %s, want %s", in, got, want)
		}
	}
}

// X-Forwarded-Proto is believed from a trusted proxy peer only, and only
// when it holds one value; otherwise the connection decides.
func TestScheme(t *testing.T) {
	t.Parallel()
	trusted := NewTrustedProxies(prefixes("10.0.0.0/8"))
	tests := []struct {
		name    string
		proxies TrustedProxies
		remote  string
		tls     bool
		proto   []string
		want    string
	}{
		{"plain", trusted, "192.0.2.1:1", false, nil, "http"},
		{"tls", trusted, "192.0.2.1:1", true, nil, "https"},
		{"untrusted peer cannot claim https", trusted, "192.0.2.1:1", false, []string{"https"}, "http"},
		{"untrusted peer cannot claim http over tls", trusted, "192.0.2.1:1", true, []string{"http"}, "https"},
		{"loopback is not trusted by default", TrustedProxies{}, "127.0.0.1:1", false, []string{"https"}, "http"},
		{"private peer is not trusted by default", TrustedProxies{}, "10.0.0.1:1", false, []string{"https"}, "http"},
		{"trusted proxy terminating tls", trusted, "10.1.2.3:1", false, []string{"https"}, "https"},
		{"trusted proxy, plain viewer", trusted, "10.1.2.3:1", true, []string{"http"}, "http"},
		{"trusted proxy, case and space", trusted, "10.1.2.3:1", false, []string{" HTTPS "}, "https"},
		{"trusted proxy, a list is ignored", trusted, "10.1.2.3:1", false, []string{"https, http"}, "http"},
		{"trusted proxy, two headers ignored", trusted, "10.1.2.3:1", false, []string{"https", "https"}, "http"},
		{"trusted proxy, other value ignored", trusted, "10.1.2.3:1", false, []string{"wss"}, "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			if !tt.tls {
				r.TLS = nil
			} else if r.TLS == nil {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tt.proto {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			if got := tt.proxies.Scheme(r); got != tt.want {
				t.Errorf("Scheme = %s, want %s", got, tt.want)
			}
		})
	}
}

// NewTrustedProxies takes prefixes of either family and single
// addresses, and keeps its own copy.
func TestNewTrustedProxies(t *testing.T) {
	t.Parallel()
	ps := prefixes("192.0.2.7", "2001:db8::/32")
	p := NewTrustedProxies(ps)
	ps[0] = mustPrefix("198.51.100.0/24") // the caller's slice changes afterwards
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8::5]:443"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 192.0.2.7")
	if got := p.ClientAddr(r).String(); got != "203.0.113.9" {
		t.Errorf("ClientAddr = %s, want 203.0.113.9", got)
	}
}
