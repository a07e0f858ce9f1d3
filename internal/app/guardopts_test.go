package app

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// defaultGuardOptions is what the built-in security settings convert to.
func defaultGuardOptions() httpguard.Options {
	return httpguard.Options{
		Unlimited: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		RateLimits: map[httpguard.Class]httpguard.RateLimit{
			httpguard.ClassAPI:    {Rate: 20, Burst: 40},
			httpguard.ClassUpload: {Rate: 20, Burst: 100},
			httpguard.ClassMedia:  {Rate: 200, Burst: 400},
		},
		RateLimitClients:    100_000,
		Access:              map[httpguard.Class][]httpguard.Rule{},
		MaxConnections:      10000,
		MaxConnectionsPerIP: 256,
		ReadHeaderTimeout:   10 * time.Second,
		IdleTimeout:         2 * time.Minute,
		ProgressTimeout:     time.Minute,
		HSTSMaxAge:          365 * 24 * time.Hour,
		MaxHeaderBytes:      64 << 10,
		MaxJSONBody:         1 << 20,
	}
}

func TestGuardOptions(t *testing.T) {
	t.Parallel()
	pfx := netip.MustParsePrefix
	tests := []struct {
		name    string
		sec     func() config.Security
		want    func() httpguard.Options // nil when an error is wanted
		wantErr string
	}{
		{"serve defaults", func() config.Security { return config.Default().Security }, defaultGuardOptions, ""},
		{"edge defaults", func() config.Security { return config.DefaultEdge().Security }, defaultGuardOptions, ""},
		{"parsed", func() config.Security {
			s := config.Default().Security
			s.TrustedProxies = []string{"10.1.2.3/8", "192.0.2.7", "::ffff:198.51.100.1", "2001:db8::/32"}
			s.UnlimitedClients = []string{}
			s.RateLimits = map[string]config.RateLimit{"media": {Rate: 0}, "api": {Rate: 5, Burst: 6}}
			s.Access = map[string][]string{
				"metrics": {"allow 10.0.0.0/8", "DENY all"},
				"web":     {"deny 203.0.113.7"},
				"upload":  {},
			}
			s.HSTSMaxAge = 0
			s.MaxJSONBody = 4 << 10
			return s
		}, func() httpguard.Options {
			o := defaultGuardOptions()
			o.TrustedProxies = []netip.Prefix{pfx("10.0.0.0/8"), pfx("192.0.2.7/32"), pfx("198.51.100.1/32"), pfx("2001:db8::/32")}
			o.Unlimited = nil
			o.RateLimits = map[httpguard.Class]httpguard.RateLimit{httpguard.ClassMedia: {}, httpguard.ClassAPI: {Rate: 5, Burst: 6}}
			o.Access = map[httpguard.Class][]httpguard.Rule{
				httpguard.ClassMetrics: {{Allow: true, Prefix: pfx("10.0.0.0/8")}, {All: true}},
				httpguard.ClassWeb:     {{Prefix: pfx("203.0.113.7/32")}},
				httpguard.ClassUpload:  {},
			}
			o.HSTSMaxAge = 0
			o.MaxJSONBody = 4 << 10
			return o
		}, ""},
		{"empty rule", withRule(""), nil, "security.access.api[0]"},
		{"rule without a target", withRule("allow"), nil, "security.access.api[0]"},
		{"unknown action", withRule("permit 10.0.0.0/8"), nil, "security.access.api[0]"},
		{"bad CIDR", withRule("deny 10.0.0.0/33"), nil, "security.access.api[0]"},
		{"bad address", withRule("allow 300.1.1.1"), nil, "security.access.api[0]"},
		{"trailing words", withRule("deny all now"), nil, "security.access.api[0]"},
		{"unknown access class", func() config.Security {
			s := config.Default().Security
			s.Access = map[string][]string{"open": {"deny all"}}
			return s
		}, nil, "security.access.open"},
		{"bad trusted proxy", func() config.Security {
			s := config.Default().Security
			s.TrustedProxies = []string{"10.0.0.0/8", "proxy.example"}
			return s
		}, nil, "security.trusted_proxies[1]"},
		{"bad unlimited client", func() config.Security {
			s := config.Default().Security
			s.UnlimitedClients = []string{"::1/129"}
			return s
		}, nil, "security.unlimited_clients[0]"},
		{"out of range", func() config.Security {
			s := config.Default().Security
			s.ProgressTimeout = 0
			return s
		}, nil, "security.progress_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := guardOptions(tt.sec())
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one about %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tt.want(); !reflect.DeepEqual(got, want) {
				t.Errorf("options\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// withRule is the default security settings with one API access rule.
func withRule(rule string) func() config.Security {
	return func() config.Security {
		s := config.Default().Security
		s.Access = map[string][]string{"api": {rule}}
		return s
	}
}

// Every route class of the configuration is a guard class of that name.
func TestGuardClassNames(t *testing.T) {
	t.Parallel()
	for _, name := range config.RouteClasses {
		if c, ok := httpguard.ClassNamed(name); !ok || c.String() != name {
			t.Errorf("route class %q: guard class %v (%v)", name, c, ok)
		}
	}
}

// A guard over the converted defaults behaves as the defaults say: the API
// limit is 40 at once for a client but none for loopback, the JSON body
// cap is 1 MiB, and HTTPS responses carry a year of HSTS.
func TestGuardOptionsDefaultsBehave(t *testing.T) {
	t.Parallel()
	o, err := guardOptions(config.Default().Security)
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpguard.New(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := g.Wrap(func(*http.Request) httpguard.Class { return httpguard.ClassAPI },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	do := func(remote string, body io.Reader, cs *tls.ConnectionState) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/x", body)
		r.RemoteAddr, r.TLS = remote, cs
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, remote := range []string{"192.0.2.1:1", "127.0.0.1:1"} {
		var codes []int
		for range 41 {
			codes = append(codes, do(remote, nil, nil).Code)
		}
		want := http.StatusOK
		if remote == "192.0.2.1:1" {
			want = http.StatusTooManyRequests
		}
		if codes[39] != http.StatusOK || codes[40] != want {
			t.Errorf("from %s: requests 40 and 41 got %d and %d, want 200 and %d", remote, codes[39], codes[40], want)
		}
	}
	if w := do("127.0.0.2:1", strings.NewReader(strings.Repeat("j", 1<<20)), nil); w.Code != http.StatusOK {
		t.Errorf("a 1 MiB body: %d", w.Code)
	}
	if w := do("127.0.0.2:1", strings.NewReader(strings.Repeat("j", 1<<20+1)), nil); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB: %d", w.Code)
	}
	if v := do("127.0.0.3:1", nil, &tls.ConnectionState{}).Header().Get("Strict-Transport-Security"); v != "max-age=31536000" {
		t.Errorf("HSTS %q", v)
	}
}
