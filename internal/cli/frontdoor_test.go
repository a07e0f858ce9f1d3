package cli

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
)

// TLS and the metrics address come from flags, variables or the file.
func TestServeFrontDoorSettings(t *testing.T) {
	clearEnv(t)
	file := writeConfig(t, `
security:
  tls_cert: /file/cert.pem
  tls_key: /file/key.pem
  metrics_addr: "127.0.0.1:9100"
  rate_limits:
    api: {rate: 5, burst: 10}
  access:
    metrics: ["allow 10.0.0.0/8", "deny all"]
`)
	cfg := servedConfig(t, "--config", file)
	s := cfg.Security
	if s.TLSCert != "/file/cert.pem" || s.TLSKey != "/file/key.pem" || s.MetricsAddr != "127.0.0.1:9100" {
		t.Errorf("from the file: %+v", s)
	}
	if s.RateLimits["api"] != (config.RateLimit{Rate: 5, Burst: 10}) || s.RateLimits["media"].Rate != 200 {
		t.Errorf("rate limits: %+v (the file's api over the default media)", s.RateLimits)
	}
	if len(s.Access["metrics"]) != 2 {
		t.Errorf("access: %+v", s.Access)
	}

	t.Setenv("OSPREY_TLS_CERT", "/env/cert.pem")
	t.Setenv("OSPREY_TLS_KEY", "/env/key.pem")
	cfg = servedConfig(t, "--config", file, "--metrics-addr", ":9200")
	if s := cfg.Security; s.TLSCert != "/env/cert.pem" || s.TLSKey != "/env/key.pem" || s.MetricsAddr != ":9200" {
		t.Errorf("env and flag over the file: %+v", s)
	}
	cfg = servedConfig(t, "--tls-cert", "/flag/c.pem", "--tls-key", "/flag/k.pem")
	if s := cfg.Security; s.TLSCert != "/flag/c.pem" || s.TLSKey != "/flag/k.pem" {
		t.Errorf("flags: %+v", s)
	}
}

func TestServeFrontDoorInvalid(t *testing.T) {
	clearEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", "/c.pem"}, "security.tls_cert: tls_cert and tls_key go together"},
		{[]string{"--metrics-addr", "nope"}, "security.metrics_addr"},
		{[]string{"--config", writeConfig(t, "security:\n  access:\n    api: [\"permit 10.0.0.0/8\"]\n")}, "security.access.api[0]"},
		{[]string{"--config", writeConfig(t, "security:\n  rate_limits:\n    api: {rate: 5}\n")}, "security.rate_limits.api.burst"},
	} {
		r := run(captureServe(new(config.Config)), append([]string{"serve"}, tt.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("serve %v: exit %d, stderr %q; want an error with %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
}

// `osprey edge` takes the file's security section and --metrics-addr.
func TestEdgeFrontDoorSettings(t *testing.T) {
	clearEnv(t)
	file := writeConfig(t, `
security:
  max_connections_per_ip: 32
  metrics_addr: "127.0.0.1:9300"
  rate_limits:
    media: {rate: 50, burst: 100}
`)
	var got config.Edge
	opts := Options{Edge: func(ctx context.Context, cfg config.Edge, token string, log *slog.Logger, _ <-chan struct{}) error {
		got = cfg
		return nil
	}}
	r := run(opts, "edge", "--config", file, "--origin", "http://origin.example.com", "--metrics-addr", "127.0.0.1:9400")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	s := got.Security
	if s.MaxConnectionsPerIP != 32 || s.MetricsAddr != "127.0.0.1:9400" || s.RateLimits["media"].Rate != 50 || s.MaxConnections != 10000 {
		t.Errorf("edge security: %+v", s)
	}
	r = run(opts, "edge", "--config", writeConfig(t, "security:\n  max_connections: 0\n"), "--origin", "http://o.example.com")
	if r.code == 0 || !strings.Contains(r.stderr, "security.max_connections") {
		t.Errorf("invalid edge security accepted: %d %q", r.code, r.stderr)
	}
}
