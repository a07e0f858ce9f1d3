package app

import (
	"fmt"
	"net/netip"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// guardOptions converts the security section into the guard's options,
// with config's parsers. sec is validated first (config.Security.Validate):
// `osprey edge` builds its security settings without a full Config.
func guardOptions(sec config.Security) (httpguard.Options, error) {
	if errs := sec.Validate(); len(errs) > 0 {
		return httpguard.Options{}, fmt.Errorf("security settings: %w", errs[0])
	}
	o := httpguard.Options{
		RateLimits:          make(map[httpguard.Class]httpguard.RateLimit, len(sec.RateLimits)),
		RateLimitClients:    sec.RateLimitClients,
		Access:              make(map[httpguard.Class][]httpguard.Rule, len(sec.Access)),
		MaxConnections:      sec.MaxConnections,
		MaxConnectionsPerIP: sec.MaxConnectionsPerIP,
		ReadHeaderTimeout:   sec.ReadHeaderTimeout,
		IdleTimeout:         sec.IdleTimeout,
		ProgressTimeout:     sec.ProgressTimeout,
		HSTSMaxAge:          sec.HSTSMaxAge,
		MaxHeaderBytes:      int(sec.MaxHeaderBytes),
		MaxJSONBody:         int64(sec.MaxJSONBody),
	}
	var err error
	if o.TrustedProxies, err = parsePrefixes("trusted_proxies", sec.TrustedProxies); err != nil {
		return httpguard.Options{}, err
	}
	if o.Unlimited, err = parsePrefixes("unlimited_clients", sec.UnlimitedClients); err != nil {
		return httpguard.Options{}, err
	}
	for name, rl := range sec.RateLimits {
		c, ok := httpguard.ClassNamed(name)
		if !ok {
			return httpguard.Options{}, fmt.Errorf("security.rate_limits: unknown route class %q", name)
		}
		o.RateLimits[c] = httpguard.RateLimit{Rate: rl.Rate, Burst: rl.Burst}
	}
	for name, list := range sec.Access {
		c, ok := httpguard.ClassNamed(name)
		if !ok {
			return httpguard.Options{}, fmt.Errorf("security.access: unknown route class %q", name)
		}
		rules := make([]httpguard.Rule, 0, len(list))
		for i, s := range list {
			r, err := config.ParseAccessRule(s)
			if err != nil {
				return httpguard.Options{}, fmt.Errorf("security.access.%s[%d]: %w", name, i, err)
			}
			rules = append(rules, httpguard.Rule{Allow: r.Allow, All: r.All, Prefix: r.Prefix})
		}
		o.Access[c] = rules
	}
	return o, nil
}

// parsePrefixes parses the CIDRs or addresses of security.key.
func parsePrefixes(key string, list []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for i, s := range list {
		p, err := config.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("security.%s[%d]: %w", key, i, err)
		}
		ps = append(ps, p)
	}
	return ps, nil
}
