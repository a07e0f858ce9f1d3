package httpguard

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
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
			var trusted proxies
			for _, p := range tt.trusted {
				pfx, err := config.ParsePrefix(p)
				if err != nil {
					t.Fatal(err)
				}
				trusted = append(trusted, pfx)
			}
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
