package config

import (
	"strings"
	"testing"
	"time"
)

func TestSecurityDefaultsValid(t *testing.T) {
	t.Parallel()
	if errs := Default().Security.validate(); len(errs) > 0 {
		t.Fatalf("defaults invalid: %v", errs)
	}
	if errs := DefaultEdge().Security.Validate(); len(errs) > 0 {
		t.Fatalf("edge defaults invalid: %v", errs)
	}
	// Every call returns fresh maps.
	a, b := Default().Security, Default().Security
	a.RateLimits["api"] = RateLimit{Rate: 1, Burst: 1}
	if b.RateLimits["api"].Rate == 1 {
		t.Error("Default() shares its rate limit map")
	}
}

func TestSecurityValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*Security)
		want   string // "" = valid
	}{
		{"tls pair", func(s *Security) { s.TLSCert, s.TLSKey = "c.pem", "k.pem" }, ""},
		{"cert without key", func(s *Security) { s.TLSCert = "c.pem" }, "security.tls_cert: tls_cert and tls_key go together"},
		{"reload off", func(s *Security) { s.TLSReloadInterval = 0 }, ""},
		{"reload too often", func(s *Security) { s.TLSReloadInterval = time.Millisecond }, "security.tls_reload_interval"},
		{"negative hsts", func(s *Security) { s.HSTSMaxAge = -time.Second }, "security.hsts_max_age"},
		{"embed origins", func(s *Security) { s.EmbedOrigins = []string{"https://blog.example.com", "*"} }, ""},
		{"bad embed origin", func(s *Security) { s.EmbedOrigins = []string{"blog.example.com"} }, "security.embed_origins[0]"},
		{"metrics addr", func(s *Security) { s.MetricsAddr = "127.0.0.1:9100" }, ""},
		{"bad metrics addr", func(s *Security) { s.MetricsAddr = "9100" }, "security.metrics_addr"},
		{"proxies", func(s *Security) { s.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"} }, ""},
		{"bad proxy", func(s *Security) { s.TrustedProxies = []string{"10.0.0.0/40"} }, "security.trusted_proxies[0]"},
		{"bad unlimited", func(s *Security) { s.UnlimitedClients = []string{"localhost"} }, "security.unlimited_clients[0]"},
		{"no connections", func(s *Security) { s.MaxConnections = 0 }, "security.max_connections: must be at least 1"},
		{"per ip over total", func(s *Security) { s.MaxConnectionsPerIP = 20000 }, "security.max_connections_per_ip"},
		{"header timeout", func(s *Security) { s.ReadHeaderTimeout = 0 }, "security.read_header_timeout"},
		{"progress timeout", func(s *Security) { s.ProgressTimeout = 48 * time.Hour }, "security.progress_timeout"},
		{"tiny headers", func(s *Security) { s.MaxHeaderBytes = 100 }, "security.max_header_bytes"},
		{"tiny json", func(s *Security) { s.MaxJSONBody = 10 }, "security.max_json_body"},
		{"limit off", func(s *Security) { s.RateLimits["media"] = RateLimit{} }, ""},
		{"negative rate", func(s *Security) { s.RateLimits["api"] = RateLimit{Rate: -1, Burst: 1} }, "security.rate_limits.api.rate"},
		{"rate without burst", func(s *Security) { s.RateLimits["upload"] = RateLimit{Rate: 5} }, "security.rate_limits.upload.burst"},
		{"unknown limit class", func(s *Security) { s.RateLimits["metrics"] = RateLimit{Rate: 1, Burst: 1} }, "security.rate_limits.metrics: unknown route class"},
		{"no clients", func(s *Security) { s.RateLimitClients = 0 }, "security.rate_limit_clients"},
		{"access rules", func(s *Security) {
			s.Access = map[string][]string{"metrics": {"allow 10.0.0.0/8", "deny all"}, "web": {"deny 203.0.113.7"}}
		}, ""},
		{"unknown access class", func(s *Security) { s.Access = map[string][]string{"admin": {"deny all"}} }, "security.access.admin: unknown route class"},
		{"bad rule", func(s *Security) { s.Access = map[string][]string{"api": {"allow all", "block 10.0.0.0/8"}} }, "security.access.api[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaultSecurity()
			tt.modify(&s)
			errs := s.validate()
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			got := strings.Join(msgs, "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("unexpected errors:\n%s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("errors %q lack %q", got, tt.want)
			}
		})
	}
}

func TestSecurityFromYAML(t *testing.T) {
	t.Parallel()
	cfg := Default()
	err := decode([]byte(`
security:
  trusted_proxies: [10.0.0.0/8]
  rate_limits:
    media: {rate: 50, burst: 100}
  access:
    metrics: ["allow 10.0.0.0/8", "deny all"]
  max_header_bytes: 32KiB
`), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Security
	if s.RateLimits["media"] != (RateLimit{Rate: 50, Burst: 100}) || s.RateLimits["api"] != (RateLimit{Rate: 20, Burst: 40}) {
		t.Errorf("rate limits %+v: the file's media over the default api", s.RateLimits)
	}
	if s.MaxHeaderBytes != 32<<10 || len(s.Access["metrics"]) != 2 || s.TrustedProxies[0] != "10.0.0.0/8" {
		t.Errorf("security %+v", s)
	}
	if err := decode([]byte("security:\n  rate_limit: {}\n"), &cfg); err == nil {
		t.Error("an unknown key was accepted")
	}
}

func TestParseAccessRule(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"allow 10.0.0.0/8":     "allow 10.0.0.0/8",
		"DENY 10.1.2.3/8":      "deny 10.0.0.0/8",
		"deny 192.0.2.7":       "deny 192.0.2.7/32",
		"allow all":            "allow all",
		"  deny   2001:db8::1": "deny 2001:db8::1/128",
	} {
		r, err := ParseAccessRule(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		got := "deny "
		if r.Allow {
			got = "allow "
		}
		if r.All {
			got += "all"
		} else {
			got += r.Prefix.String()
		}
		if got != want {
			t.Errorf("%q parsed as %q, want %q", in, got, want)
		}
	}
}
