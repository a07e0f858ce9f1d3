package httpguard

import "net/netip"

// rules are one route class's access rules, evaluated in order; the first
// that matches decides, and an address no rule matches is allowed.
type rules []Rule

// allowed reports whether a may use the route class.
func (rs rules) allowed(a netip.Addr) bool {
	for _, r := range rs {
		if r.All || r.Prefix.Contains(a) {
			return r.Allow
		}
	}
	return true
}
