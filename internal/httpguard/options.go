package httpguard

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Options are the guard's settings, already parsed. The composition root
// builds them from the configuration (security section), whose validation
// sets the user-facing bounds; New checks only what the guard needs to run.
type Options struct {
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (see TrustedProxies).
	TrustedProxies []netip.Prefix
	// Unlimited are the clients exempt from the rate limits and the
	// per-address connection cap; access rules still apply to them.
	Unlimited []netip.Prefix

	// RateLimits are the per-client token buckets by route class; a class
	// absent or with a Rate of 0 is not limited.
	RateLimits map[Class]RateLimit
	// RateLimitClients caps the client addresses each limiter tracks
	// (at least 1).
	RateLimitClients int
	// Access are the rules of each route class, evaluated in order, the
	// first that matches deciding; an address no rule matches is allowed.
	Access map[Class][]Rule

	// MaxConnections caps a listener's open connections, and
	// MaxConnectionsPerIP those from one client address (IPv6 by /64);
	// both at least 1.
	MaxConnections, MaxConnectionsPerIP int

	// ReadHeaderTimeout bounds the TLS handshake and a request's headers,
	// IdleTimeout a keep-alive connection's wait for its next request,
	// ProgressTimeout the time a request body or a response may make no
	// progress (see Wrap). HSTSMaxAge is the Strict-Transport-Security
	// max-age on HTTPS responses; 0 sends none.
	ReadHeaderTimeout, IdleTimeout, ProgressTimeout, HSTSMaxAge time.Duration

	// MaxHeaderBytes caps a request's header block.
	MaxHeaderBytes int
	// MaxJSONBody caps the body of ClassAPI requests (413 above it).
	MaxJSONBody int64
}

// RateLimit is one route class's token bucket: Rate requests per second on
// average, bursts of up to Burst requests (at least 1 when Rate > 0).
type RateLimit struct {
	Rate  float64
	Burst int
}

// Rule is one access rule: Allow or deny the addresses in Prefix, or every
// address when All is set.
type Rule struct {
	Allow  bool
	All    bool
	Prefix netip.Prefix
}

// check reports the first setting the guard cannot run with.
func (o Options) check() error {
	for _, p := range append(append([]netip.Prefix(nil), o.TrustedProxies...), o.Unlimited...) {
		if !p.IsValid() {
			return fmt.Errorf("invalid prefix %v among the trusted proxies or unlimited clients", p)
		}
	}
	for c, rl := range o.RateLimits {
		if !c.configurable() {
			return fmt.Errorf("rate limit for %v, which is not a limited route class", c)
		}
		if rl.Rate < 0 || (rl.Rate > 0 && rl.Burst < 1) {
			return fmt.Errorf("rate limit for %v: rate %g, burst %d", c, rl.Rate, rl.Burst)
		}
	}
	for c, rs := range o.Access {
		if !c.configurable() {
			return fmt.Errorf("access rules for %v, which is not a limited route class", c)
		}
		for i, r := range rs {
			if !r.All && !r.Prefix.IsValid() {
				return fmt.Errorf("access rule %d for %v has no prefix", i, c)
			}
		}
	}
	switch {
	case o.RateLimitClients < 1:
		return fmt.Errorf("rate limit clients must be at least 1, got %d", o.RateLimitClients)
	case o.MaxConnections < 1 || o.MaxConnectionsPerIP < 1:
		return fmt.Errorf("connection caps must be at least 1, got %d and %d per address", o.MaxConnections, o.MaxConnectionsPerIP)
	case o.ReadHeaderTimeout <= 0 || o.IdleTimeout <= 0 || o.ProgressTimeout <= 0:
		return errors.New("the header, idle and progress timeouts must be positive")
	case o.HSTSMaxAge < 0:
		return fmt.Errorf("HSTS max-age must not be negative, got %s", o.HSTSMaxAge)
	case o.MaxHeaderBytes < 1 || o.MaxJSONBody < 1:
		return fmt.Errorf("header and JSON body limits must be positive, got %d and %d", o.MaxHeaderBytes, o.MaxJSONBody)
	}
	return nil
}
