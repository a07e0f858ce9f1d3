package httpguard

import (
	"net/netip"
	"testing"
)

func TestAccessRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules []string
		addr  string
		want  bool
	}{
		{"no rules allow", nil, "192.0.2.1", true},
		{"allow list, inside", []string{"allow 10.0.0.0/8", "deny all"}, "10.2.3.4", true},
		{"allow list, outside", []string{"allow 10.0.0.0/8", "deny all"}, "192.0.2.1", false},
		{"first match wins", []string{"deny 10.9.0.0/16", "allow 10.0.0.0/8", "deny all"}, "10.9.1.1", false},
		{"first match wins, other order", []string{"allow 10.0.0.0/8", "deny 10.9.0.0/16"}, "10.9.1.1", true},
		{"deny list", []string{"deny 203.0.113.0/24"}, "203.0.113.77", false},
		{"deny list, no match allows", []string{"deny 203.0.113.0/24"}, "203.0.114.1", true},
		{"single address", []string{"deny 192.0.2.7"}, "192.0.2.7", false},
		{"single address, neighbour", []string{"deny 192.0.2.7"}, "192.0.2.8", true},
		{"IPv6", []string{"allow 2001:db8::/32", "deny all"}, "2001:db8::5", true},
		{"IPv6 outside", []string{"allow 2001:db8::/32", "deny all"}, "2001:db9::5", false},
		{"IPv4 rule does not match IPv6", []string{"deny 0.0.0.0/0"}, "2001:db8::5", true},
		{"deny all covers IPv6", []string{"deny all"}, "2001:db8::5", false},
		{"unknown address only by all", []string{"deny 0.0.0.0/0", "allow all"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs, err := parseRules(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			if got := rs.allowed(a); got != tt.want {
				t.Errorf("allowed(%s) under %q = %v, want %v", tt.addr, tt.rules, got, tt.want)
			}
		})
	}
}

func TestParseRulesRejects(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "allow", "permit 10.0.0.0/8", "deny 10.0.0.0/33", "allow 300.1.1.1", "deny all now"} {
		if _, err := parseRules([]string{bad}); err == nil {
			t.Errorf("rule %q accepted", bad)
		}
	}
}
