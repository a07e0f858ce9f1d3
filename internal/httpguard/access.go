package httpguard

import (
	"net/netip"

	"github.com/ospreyvideo/osprey/internal/config"
)

// rules are one route class's access rules, evaluated in order; the first
// that matches decides, and an address no rule matches is allowed.
type rules []config.AccessRule

func parseRules(list []string) (rules, error) {
	rs := make(rules, 0, len(list))
	for _, s := range list {
		r, err := config.ParseAccessRule(s)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// allowed reports whether a may use the route class.
func (rs rules) allowed(a netip.Addr) bool {
	for _, r := range rs {
		if r.All || r.Prefix.Contains(a) {
			return r.Allow
		}
	}
	return true
}
