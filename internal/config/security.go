package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Route classes of the HTTP front door: every request belongs to one, and
// rate limits and access rules are set per class.
const (
	ClassAPI     = "api"     // /api/ (the admin API and the edge's invalidation API)
	ClassUpload  = "upload"  // tus uploads (/api/v1/uploads/), multipart POST /api/v1/assets, subtitle POSTs
	ClassMedia   = "media"   // /live/, /vod/, /time: origin and edge media
	ClassMetrics = "metrics" // /metrics
	ClassWeb     = "web"     // pages and their assets
)

// RouteClasses lists the route classes, in the order of the docs.
var RouteClasses = []string{ClassAPI, ClassUpload, ClassMedia, ClassMetrics, ClassWeb}

// Security configures the HTTP front door of `osprey serve` and, from the
// same file section, of `osprey edge`: TLS, connection caps and deadlines,
// per-client rate limits, size limits and access rules.
type Security struct {
	// TLSCert and TLSKey (PEM files; the certificate with its chain) make
	// serve answer HTTPS and HTTP/2 on its HTTP address (--tls-cert,
	// --tls-key, OSPREY_TLS_CERT, OSPREY_TLS_KEY). The files are re-read
	// when they change and on SIGHUP; a bad new pair keeps the old one.
	// Default: none (plain HTTP). `osprey edge` uses edge.tls_cert/tls_key,
	// or these when those are empty.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSReloadInterval is how often the certificate files' modification
	// times are checked; default 5s. 0 reloads on SIGHUP only.
	TLSReloadInterval time.Duration `yaml:"tls_reload_interval"`
	// EmbedOrigins are the origins ("https://blog.example.com", or "*")
	// whose pages may embed the player pages (/watch/...) in an iframe;
	// every page may be framed by its own origin only otherwise. Default: none.
	EmbedOrigins []string `yaml:"embed_origins"`
	// HSTSMaxAge is the Strict-Transport-Security max-age sent on HTTPS
	// responses; default 8760h (a year); 0 sends none.
	HSTSMaxAge time.Duration `yaml:"hsts_max_age"`

	// MetricsAddr, when set (--metrics-addr, OSPREY_METRICS_ADDR), serves
	// /metrics only on this separate address, without authentication; the
	// main port then answers 404 there. When empty, /metrics on the main
	// port needs the admin token as a Bearer token. Default "".
	MetricsAddr string `yaml:"metrics_addr"`

	// TrustedProxies are the CIDRs ("10.0.0.0/8", "192.0.2.7/32") whose
	// X-Forwarded-For is believed: the client address is then the
	// rightmost address in that header not itself a trusted proxy. From
	// any other peer, the client is the TCP peer address. Their
	// X-Forwarded-Proto (one value, http or https) is believed too. Used
	// for rate limits and access rules, and at the edge for signed URLs
	// (IP conditions, the resource's scheme) and the access log. Default:
	// none (loopback and private peers are not trusted automatically).
	TrustedProxies []string `yaml:"trusted_proxies"`

	// UnlimitedClients are CIDRs exempt from the rate limits and the
	// per-address connection cap (access rules still apply). Default:
	// loopback ("127.0.0.0/8", "::1/128"), so that local tools, tests and
	// benchmarks are not throttled; a reverse proxy on the same host must
	// then be listed in trusted_proxies for its clients to be limited one
	// by one. Set [] to limit loopback too.
	UnlimitedClients []string `yaml:"unlimited_clients"`

	// MaxConnections caps the open HTTP connections of a listener; more are
	// closed at once. Default 10000.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerIP caps the open connections from one client address
	// (trusted proxies count only against max_connections). Default 256.
	MaxConnectionsPerIP int `yaml:"max_connections_per_ip"`
	// ReadHeaderTimeout is the time allowed for the TLS handshake and a
	// request's headers (a slow sender is cut); default 10s.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request; default 2m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ProgressTimeout is how long a request body or a response may make no
	// progress (no bytes read from or taken by the client) before the
	// connection is cut. It is not a total: long uploads and downloads go
	// on as long as they move (at least 256 KiB per timeout). Default 60s.
	ProgressTimeout time.Duration `yaml:"progress_timeout"`
	// MaxHeaderBytes caps a request's header block; default 64 KiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// MaxJSONBody caps the body of API requests that are not uploads (413
	// above it); uploads keep vod.max_source_size. Default 1 MiB.
	MaxJSONBody ByteSize `yaml:"max_json_body"`

	// RateLimits are per-client token buckets by route class: "api",
	// "upload", "media" (see RouteClasses). A client over its rate gets 429
	// with Retry-After. Defaults: api 20/s burst 40, upload 20/s burst 100,
	// media 200/s burst 400; a rate of 0 disables the class's limit.
	RateLimits map[string]RateLimit `yaml:"rate_limits"`
	// RateLimitClients caps the client addresses each limiter tracks (IPv6
	// clients by /64); idle ones are forgotten, and past the cap a random
	// one is. Default 100000.
	RateLimitClients int `yaml:"rate_limit_clients"`

	// Access lists, per route class, rules evaluated in order, the first
	// matching one deciding: "allow CIDR", "deny CIDR", with "all" for any
	// address, e.g. metrics: ["allow 10.0.0.0/8", "deny all"]. A request no
	// rule matches is allowed. Denied requests get 403 (JSON on the API).
	// Default: none (everything allowed).
	Access map[string][]string `yaml:"access"`
}

// RateLimit is one route class's token bucket: Rate requests per second
// on average, bursts of up to Burst requests.
type RateLimit struct {
	Rate  float64 `yaml:"rate"`  // requests/s per client; 0 disables
	Burst int     `yaml:"burst"` // bucket size; at least 1 when rate > 0
}

func defaultSecurity() Security {
	return Security{
		TLSReloadInterval:   5 * time.Second,
		HSTSMaxAge:          365 * 24 * time.Hour,
		MaxConnections:      10000,
		MaxConnectionsPerIP: 256,
		ReadHeaderTimeout:   10 * time.Second,
		IdleTimeout:         2 * time.Minute,
		ProgressTimeout:     time.Minute,
		MaxHeaderBytes:      64 << 10,
		MaxJSONBody:         1 << 20,
		RateLimits:          DefaultRateLimits(),
		RateLimitClients:    100_000,
		UnlimitedClients:    []string{"127.0.0.0/8", "::1/128"},
	}
}

// DefaultRateLimits returns the built-in rate limits by route class.
func DefaultRateLimits() map[string]RateLimit {
	return map[string]RateLimit{
		ClassAPI:    {Rate: 20, Burst: 40},
		ClassUpload: {Rate: 20, Burst: 100},
		ClassMedia:  {Rate: 200, Burst: 400},
	}
}

// AccessRule is one parsed entry of Security.Access.
type AccessRule struct {
	Allow  bool
	Prefix netip.Prefix // 0.0.0.0/0 and ::/0 for "all"
	All    bool
}

// ParseAccessRule parses "allow 10.0.0.0/8", "deny 192.0.2.7" or "deny all".
func ParseAccessRule(rule string) (AccessRule, error) {
	action, target, ok := strings.Cut(strings.TrimSpace(rule), " ")
	target = strings.TrimSpace(target)
	var r AccessRule
	switch strings.ToLower(action) {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		ok = false
	}
	if !ok || target == "" {
		return AccessRule{}, fmt.Errorf("%q must be \"allow CIDR\", \"deny CIDR\" or \"allow|deny all\"", rule)
	}
	if strings.EqualFold(target, "all") {
		r.All = true
		return r, nil
	}
	p, err := ParsePrefix(target)
	if err != nil {
		return AccessRule{}, fmt.Errorf("%q: %w", rule, err)
	}
	r.Prefix = p
	return r, nil
}

// ParsePrefix parses a CIDR ("10.0.0.0/8") or a single address
// ("192.0.2.7", "2001:db8::1"), which stands for itself alone.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a CIDR like 10.0.0.0/8", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validate checks the security section; keys in errors start with "security.".
func (x Security) validate() []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("security.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if (x.TLSCert == "") != (x.TLSKey == "") {
		add("tls_cert", "tls_cert and tls_key go together")
	}
	if x.TLSReloadInterval < 0 {
		add("tls_reload_interval", "must not be negative, got %s", x.TLSReloadInterval)
	} else if x.TLSReloadInterval > 0 && x.TLSReloadInterval < 100*time.Millisecond {
		add("tls_reload_interval", "must be 0 (SIGHUP only) or at least 100ms, got %s", x.TLSReloadInterval)
	}
	for i, o := range x.EmbedOrigins {
		if err := checkOrigin(o); err != nil || o == "" || strings.HasSuffix(o, "/") {
			add(fmt.Sprintf("embed_origins[%d]", i), "%q must be \"*\" or an origin like https://blog.example.com", o)
		}
	}
	if x.HSTSMaxAge < 0 {
		add("hsts_max_age", "must not be negative, got %s", x.HSTSMaxAge)
	}
	if x.MetricsAddr != "" {
		if err := checkAddr(x.MetricsAddr); err != nil {
			add("metrics_addr", "%v", err)
		}
	}
	for i, p := range x.TrustedProxies {
		if _, err := ParsePrefix(p); err != nil {
			add(fmt.Sprintf("trusted_proxies[%d]", i), "%v", err)
		}
	}
	for i, p := range x.UnlimitedClients {
		if _, err := ParsePrefix(p); err != nil {
			add(fmt.Sprintf("unlimited_clients[%d]", i), "%v", err)
		}
	}
	if x.MaxConnections < 1 {
		add("max_connections", "must be at least 1, got %d", x.MaxConnections)
	}
	if x.MaxConnectionsPerIP < 1 || (x.MaxConnections >= 1 && x.MaxConnectionsPerIP > x.MaxConnections) {
		add("max_connections_per_ip", "must be between 1 and max_connections (%d), got %d", x.MaxConnections, x.MaxConnectionsPerIP)
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"read_header_timeout", x.ReadHeaderTimeout}, {"idle_timeout", x.IdleTimeout}, {"progress_timeout", x.ProgressTimeout}} {
		if d.val < 10*time.Millisecond || d.val > 24*time.Hour {
			add(d.key, "must be between 10ms and 24h, got %s", d.val)
		}
	}
	if x.MaxHeaderBytes < 4<<10 || x.MaxHeaderBytes > 16<<20 {
		add("max_header_bytes", "must be between 4 KiB and 16 MiB, got %s", x.MaxHeaderBytes)
	}
	if x.MaxJSONBody < 1<<10 {
		add("max_json_body", "must be at least 1 KiB, got %s", x.MaxJSONBody)
	}
	for class, rl := range x.RateLimits {
		key := "rate_limits." + class
		if class != ClassAPI && class != ClassUpload && class != ClassMedia {
			add(key, "unknown route class %q (have api, upload, media)", class)
			continue
		}
		if rl.Rate < 0 || rl.Rate > 1e6 {
			add(key+".rate", "must be between 0 (no limit) and 1000000 requests/s, got %g", rl.Rate)
		}
		if rl.Rate > 0 && (rl.Burst < 1 || rl.Burst > 1_000_000) {
			add(key+".burst", "must be between 1 and 1000000 when rate is set, got %d", rl.Burst)
		}
	}
	if x.RateLimitClients < 1 {
		add("rate_limit_clients", "must be at least 1, got %d", x.RateLimitClients)
	}
	for class, rules := range x.Access {
		key := "access." + class
		if !knownClass(class) {
			add(key, "unknown route class %q (have %s)", class, strings.Join(RouteClasses, ", "))
			continue
		}
		for i, rule := range rules {
			if _, err := ParseAccessRule(rule); err != nil {
				add(fmt.Sprintf("%s[%d]", key, i), "%v", err)
			}
		}
	}
	return errs
}

func knownClass(class string) bool {
	for _, c := range RouteClasses {
		if c == class {
			return true
		}
	}
	return false
}

// Validate checks s alone (for `osprey edge`, which has no full Config).
func (x Security) Validate() []error { return x.validate() }
