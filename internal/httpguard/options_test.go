package httpguard

import (
	"net/netip"
	"strings"
	"testing"
)

// New refuses options the guard cannot run with, and runs with the rest.
func TestNewChecksOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Options)
		want   string // "" accepts
	}{
		{"defaults", func(*Options) {}, ""},
		{"rate 0 with no burst", func(o *Options) { o.RateLimits = map[Class]RateLimit{ClassMedia: {}} }, ""},
		{"rules on metrics and web", func(o *Options) {
			o.Access = map[Class][]Rule{ClassMetrics: {denyAll}, ClassWeb: {allow("10.0.0.0/8")}}
		}, ""},
		{"rate with no burst", func(o *Options) { o.RateLimits = map[Class]RateLimit{ClassAPI: {Rate: 1}} }, "rate limit for api"},
		{"negative rate", func(o *Options) { o.RateLimits = map[Class]RateLimit{ClassAPI: {Rate: -1, Burst: 1}} }, "rate limit for api"},
		{"limit on the open class", func(o *Options) { o.RateLimits = map[Class]RateLimit{ClassOpen: {Rate: 1, Burst: 1}} }, "not a limited route class"},
		{"rules on an unknown class", func(o *Options) { o.Access = map[Class][]Rule{numClasses: {denyAll}} }, "not a limited route class"},
		{"rule without a prefix", func(o *Options) { o.Access = map[Class][]Rule{ClassAPI: {{Allow: true}}} }, "access rule 0 for api"},
		{"invalid trusted proxy", func(o *Options) { o.TrustedProxies = []netip.Prefix{{}} }, "invalid prefix"},
		{"invalid unlimited client", func(o *Options) { o.Unlimited = []netip.Prefix{{}} }, "invalid prefix"},
		{"no limiter clients", func(o *Options) { o.RateLimitClients = 0 }, "rate limit clients"},
		{"no connections", func(o *Options) { o.MaxConnections = 0 }, "connection caps"},
		{"no connections per address", func(o *Options) { o.MaxConnectionsPerIP = 0 }, "connection caps"},
		{"no progress timeout", func(o *Options) { o.ProgressTimeout = 0 }, "timeouts"},
		{"negative HSTS", func(o *Options) { o.HSTSMaxAge = -1 }, "HSTS"},
		{"no header bytes", func(o *Options) { o.MaxHeaderBytes = 0 }, "limits must be positive"},
		{"no JSON body", func(o *Options) { o.MaxJSONBody = 0 }, "limits must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := testOptions()
			tt.modify(&o)
			g, err := New(o, nil)
			if err == nil {
				g.Close()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err %v, want one about %q", err, tt.want)
			}
		})
	}
}

// Each limited class is found by its name, and only those.
func TestClassNamed(t *testing.T) {
	t.Parallel()
	for c := ClassAPI; c < numClasses; c++ {
		if got, ok := ClassNamed(c.String()); !ok || got != c {
			t.Errorf("ClassNamed(%q) = %v, %v; want %v", c.String(), got, ok, c)
		}
	}
	for _, name := range []string{"open", "", "API", "class(9)"} {
		if c, ok := ClassNamed(name); ok {
			t.Errorf("ClassNamed(%q) = %v", name, c)
		}
	}
}
