package httpguard

import (
	"net/netip"
	"testing"
)

func allow(p string) Rule { return Rule{Allow: true, Prefix: mustPrefix(p)} }
func deny(p string) Rule  { return Rule{Prefix: mustPrefix(p)} }

var (
	allowAll = Rule{Allow: true, All: true}
	denyAll  = Rule{All: true}
)

func TestAccessRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules rules
		addr  string
		want  bool
	}{
		{"no rules allow", nil, "192.0.2.1", true},
		{"allow list, inside", rules{allow("10.0.0.0/8"), denyAll}, "10.2.3.4", true},
		{"allow list, outside", rules{allow("10.0.0.0/8"), denyAll}, "192.0.2.1", false},
		{"first match wins", rules{deny("10.9.0.0/16"), allow("10.0.0.0/8"), denyAll}, "10.9.1.1", false},
		{"first match wins, other order", rules{allow("10.0.0.0/8"), deny("10.9.0.0/16")}, "10.9.1.1", true},
		{"deny list", rules{deny("203.0.113.0/24")}, "203.0.113.77", false},
		{"deny list, no match allows", rules{deny("203.0.113.0/24")}, "203.0.114.1", true},
		{"single address", rules{deny("192.0.2.7")}, "192.0.2.7", false},
		{"single address, neighbour", rules{deny("192.0.2.7")}, "192.0.2.8", true},
		{"IPv6", rules{allow("2001:db8::/32"), denyAll}, "2001:db8::5", true},
		{"IPv6 outside", rules{allow("2001:db8::/32"), denyAll}, "2001:db9::5", false},
		{"IPv4 rule does not match IPv6", rules{deny("0.0.0.0/0")}, "2001:db8::5", true},
		{"deny all covers IPv6", rules{denyAll}, "2001:db8::5", false},
		{"unknown address only by all", rules{deny("0.0.0.0/0"), allowAll}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			if got := tt.rules.allowed(a); got != tt.want {
				t.Errorf("allowed(%s) under %+v = %v, want %v", tt.addr, tt.rules, got, tt.want)
			}
		})
	}
}
