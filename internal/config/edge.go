package config

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Edge configures Osprey's caching edge: `osprey edge` (a role of its own,
// in front of one or more origins), or the same edge in front of the local
// origin inside `osprey serve` when Enabled is set.
type Edge struct {
	// Enabled puts the edge in front of the local origin in `osprey serve`
	// (ignored by `osprey edge`, where the edge is the whole process).
	Enabled bool `yaml:"enabled"`
	// HTTPAddr is where `osprey edge` listens; default ":8081".
	HTTPAddr string `yaml:"http"`
	// DataDir holds `osprey edge`'s disk cache and admin token; default
	// "./osprey-edge-data". In serve, the cache is <data>/edge-cache.
	DataDir string `yaml:"data"`
	// Origins are base URLs: the first is the primary, the next ones are
	// tried in order when it fails. Required by `osprey edge`.
	Origins []string `yaml:"origins"`
	// Name identifies this edge in Via and Cache-Status; default "osprey-edge".
	Name string `yaml:"name"`

	CacheMemory   ByteSize `yaml:"cache_memory"`    // memory tier budget; default 512 MiB
	CacheDisk     ByteSize `yaml:"cache_disk"`      // disk tier budget; default 10 GiB; 0 disables
	MaxObjectSize ByteSize `yaml:"max_object_size"` // larger responses are passed through uncached; default 256 MiB

	// CacheKeyQuery lists the query parameters that are part of the cache
	// key and are forwarded to the origin; every other parameter (tokens,
	// signatures, CMCD) is dropped. Default: "player" (the watch page's
	// player choice), the origin's manifest filter parameters and the
	// LL-HLS delivery directives "_HLS_msn", "_HLS_part", "_HLS_skip".
	// A list set here replaces the default: keep the filter names in it, or
	// filtered manifest URLs are served unfiltered (the edge keeps the three
	// directives even when the list leaves them out: without them a
	// blocking reload would get the plain playlist).
	CacheKeyQuery []string `yaml:"cache_key_query"`
	// TTL gives default freshness lifetimes by path pattern ("*.m3u8=1s"),
	// used when the origin's response says nothing (no max-age, s-maxage or
	// Expires); first match wins, after them the built-in defaults.
	TTL []string `yaml:"ttl"`
	// NegativeTTL is how long a 404 or 410 is cached when the origin gives
	// it no explicit lifetime; default 1s, 0 disables negative caching.
	NegativeTTL time.Duration `yaml:"negative_ttl"`
	// StaleIfError is how long past expiry a response may still be served
	// when the origins are down or answer 5xx (unless the origin forbids it
	// with must-revalidate or sets its own stale-if-error); default 24h.
	StaleIfError time.Duration `yaml:"stale_if_error"`
	// StaleWhileRevalidate is how long past expiry a response is served
	// while it is revalidated in the background, when the origin does not
	// say (stale-while-revalidate=N); default 0.
	StaleWhileRevalidate time.Duration `yaml:"stale_while_revalidate"`

	OriginConnectTimeout time.Duration `yaml:"origin_connect_timeout"` // default 500ms
	OriginTimeout        time.Duration `yaml:"origin_timeout"`         // time to response headers before the next origin is tried (the last gets 30s); default 1s
	OriginRetryAfter     time.Duration `yaml:"origin_retry_after"`     // a failed origin is skipped this long; default 5s
	// OriginHoldTimeout bounds the wait for the response headers of an
	// LL-HLS blocking playlist reload (_HLS_msn), which the origin holds
	// until the part exists (about three target durations, then 503); at
	// least origin_timeout. Running out answers 504 without marking the
	// origin down or trying the next one. Default 10s.
	OriginHoldTimeout time.Duration `yaml:"origin_hold_timeout"`
	// OriginHealthPath is probed on an origin marked down (any answer below
	// 500 brings it back); default "/healthz".
	OriginHealthPath string `yaml:"origin_health_path"`
	// OriginHeaders are added to every origin request, "Name: value": the
	// secret CDN identifier an origin can insist on.
	OriginHeaders []string `yaml:"origin_headers"`

	// TrustedKeys are CloudFront-style public keys for signed URLs and
	// cookies, "KEY_PAIR_ID=/path/public.pem".
	TrustedKeys []string `yaml:"trusted_keys"`
	// RequireSigned lists path patterns ("/vod/*") whose requests must carry
	// a valid signed URL or signed cookies.
	RequireSigned []string `yaml:"require_signed"`
	// AccessLog is where the JSON access log goes: a file path, "-" for
	// standard output, "" for none. Default "-" for `osprey edge`, "" in serve.
	AccessLog string `yaml:"access_log"`
	// TLSCert and TLSKey (PEM files) make `osprey edge` serve HTTPS (and
	// HTTP/2) on its address instead of plain HTTP. Default: none.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`

	// Events is the event bus `osprey edge` shares invalidations on:
	// "nats://HOST:PORT[,nats://…]" (NATS with JetStream), the same as the
	// servers' --events; "" keeps invalidations to this edge. Inside
	// `osprey serve` the edge uses serve's bus and this is ignored.
	Events string `yaml:"events"`
	// NodeID names this edge on the bus (logs, the invalidations it
	// accepts, its durable subscription); "" means the host name. Ignored
	// inside `osprey serve` (serve's node_id applies).
	NodeID string `yaml:"node_id"`

	// Security is the HTTP front door of `osprey edge`: the CLI copies the
	// file's top-level "security:" section here (and --metrics-addr over
	// it). Inside `osprey serve`, the edge is behind serve's own front door
	// and this is ignored.
	Security Security `yaml:"-"`
}

// DefaultEdge returns the edge defaults.
func DefaultEdge() Edge {
	return Edge{
		HTTPAddr:             ":8081",
		DataDir:              "./osprey-edge-data",
		Name:                 "osprey-edge",
		CacheMemory:          512 << 20,
		CacheDisk:            10 << 30,
		MaxObjectSize:        256 << 20,
		CacheKeyQuery:        defaultCacheKeyQuery(),
		NegativeTTL:          time.Second,
		StaleIfError:         24 * time.Hour,
		OriginConnectTimeout: 500 * time.Millisecond,
		OriginTimeout:        time.Second,
		OriginRetryAfter:     5 * time.Second,
		OriginHoldTimeout:    10 * time.Second,
		OriginHealthPath:     "/healthz",
		AccessLog:            "-",
		Security:             defaultSecurity(),
	}
}

// defaultCacheKeyQuery is the default edge.cache_key_query: "player"
// (/watch/{id}?player=dash picks the player) and the manifest filter
// parameters the origin reads (origin.FilterParams; a test in the origin
// package keeps the two lists in step), and the LL-HLS delivery directives.
func defaultCacheKeyQuery() []string {
	return []string{"player",
		"min_height", "max_height", "min_bitrate", "max_bitrate", "codecs", "max_fps", "aws.manifestfilter",
		"_HLS_msn", "_HLS_part", "_HLS_skip"}
}

// ByteSize is a number of bytes written as "512MiB", "10GB" or "1048576".
type ByteSize int64

// UnmarshalText parses a size with an optional unit (KB, KiB, MB, MiB, ...).
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return fmt.Errorf("%q is not a size like \"512MiB\" or \"10GB\"", s)
	}
	if n > 1<<62 {
		return fmt.Errorf("%q is too large", s)
	}
	*b = ByteSize(n)
	return nil
}

// String formats the size in IEC units: exact for whole units ("512 MiB"),
// else with two decimals ("10.53 MiB", within 0.5 %), so a size a message
// shows parses back to nearly the size it was. (humanize.IBytes rounds to
// whole units from 10 up: 10.53 MiB printed as "10 MiB", FuzzByteSize's
// finding.)
func (b ByteSize) String() string {
	const units = "KMGTPE"
	if b < 1024 {
		return strconv.FormatInt(int64(b), 10) + " B"
	}
	unit, i := int64(1024), 0
	for i+1 < len(units) && int64(b)/unit >= 1024 {
		unit *= 1024
		i++
	}
	suffix := " " + units[i:i+1] + "iB"
	if int64(b)%unit == 0 {
		return strconv.FormatInt(int64(b)/unit, 10) + suffix
	}
	return strconv.FormatFloat(float64(b)/float64(unit), 'f', 2, 64) + suffix
}

// Validate reports every problem with the edge settings at once, keys
// prefixed with prefix ("edge." in serve's file, "" for `osprey edge`).
// needOrigins is set for `osprey edge`.
func (e Edge) Validate(prefix string, needOrigins bool) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if needOrigins && len(e.Origins) == 0 {
		add("origins", "at least one origin URL is needed (--origin http://origin.example.com)")
	}
	for i, o := range e.Origins {
		if err := checkBaseURL(o); err != nil {
			add(fmt.Sprintf("origins[%d]", i), "%v", err)
		}
	}
	if needOrigins {
		if err := checkAddr(e.HTTPAddr); err != nil {
			add("http", "%v", err)
		}
		if strings.TrimSpace(e.DataDir) == "" {
			add("data", "must not be empty")
		}
		errs = append(errs, e.Security.validate()...)
		if err := CheckEventsURL(e.Events); err != nil {
			add("events", "%v", err)
		}
		if err := checkNodeID(e.NodeID); err != nil {
			add("node_id", "%v", err)
		}
	}
	if e.CacheMemory < 1<<20 {
		add("cache_memory", "must be at least 1 MiB, got %s", e.CacheMemory)
	}
	if e.CacheDisk < 0 {
		add("cache_disk", "must not be negative")
	}
	if e.MaxObjectSize < 1 {
		add("max_object_size", "must be positive")
	}
	for i, q := range e.CacheKeyQuery {
		if q == "" || strings.ContainsAny(q, "&=?# ") {
			add(fmt.Sprintf("cache_key_query[%d]", i), "%q is not a query parameter name", q)
		}
	}
	for i, rule := range e.TTL {
		if _, _, err := ParseTTLRule(rule); err != nil {
			add(fmt.Sprintf("ttl[%d]", i), "%v", err)
		}
	}
	for _, d := range []struct {
		key string
		val time.Duration
	}{{"negative_ttl", e.NegativeTTL}, {"stale_if_error", e.StaleIfError}, {"stale_while_revalidate", e.StaleWhileRevalidate}} {
		if d.val < 0 {
			add(d.key, "must not be negative, got %s", d.val)
		}
	}
	if e.OriginConnectTimeout <= 0 || e.OriginConnectTimeout > time.Minute {
		add("origin_connect_timeout", "must be between 1ms and 1m, got %s", e.OriginConnectTimeout)
	}
	if e.OriginTimeout <= 0 || e.OriginTimeout > 10*time.Minute {
		add("origin_timeout", "must be between 1ms and 10m, got %s", e.OriginTimeout)
	}
	if e.OriginHoldTimeout <= 0 || e.OriginHoldTimeout > 10*time.Minute {
		add("origin_hold_timeout", "must be between 1ms and 10m, got %s", e.OriginHoldTimeout)
	}
	if e.OriginRetryAfter <= 0 {
		add("origin_retry_after", "must be positive, got %s", e.OriginRetryAfter)
	}
	if e.OriginHealthPath != "" && !strings.HasPrefix(e.OriginHealthPath, "/") {
		add("origin_health_path", "%q must start with /", e.OriginHealthPath)
	}
	for i, h := range e.OriginHeaders {
		if _, _, err := ParseHeaderLine(h); err != nil {
			add(fmt.Sprintf("origin_headers[%d]", i), "%v", err)
		}
	}
	for i, k := range e.TrustedKeys {
		if id, file, ok := strings.Cut(k, "="); !ok || id == "" || file == "" {
			add(fmt.Sprintf("trusted_keys[%d]", i), "%q must be KEY_PAIR_ID=/path/to/public.pem", k)
		}
	}
	for i, p := range e.RequireSigned {
		if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "*") {
			add(fmt.Sprintf("require_signed[%d]", i), "%q must be a path pattern starting with / or *", p)
		}
	}
	if (e.TLSCert == "") != (e.TLSKey == "") {
		add("tls_cert", "tls_cert and tls_key go together")
	}
	if len(e.RequireSigned) > 0 && len(e.TrustedKeys) == 0 {
		add("require_signed", "needs at least one trusted key (--trusted-key ID=public.pem)")
	}
	return errs
}

// ParseTTLRule splits "PATTERN=DURATION" ("*.m3u8=1s", "/vod/*=24h").
func ParseTTLRule(rule string) (pattern string, ttl time.Duration, err error) {
	i := strings.LastIndexByte(rule, '=')
	if i <= 0 {
		return "", 0, fmt.Errorf("%q must be PATTERN=DURATION, e.g. \"*.m3u8=1s\"", rule)
	}
	pattern = rule[:i]
	ttl, err = time.ParseDuration(rule[i+1:])
	if err != nil || ttl < 0 {
		return "", 0, fmt.Errorf("%q: %q is not a duration like \"2s\" or \"24h\"", rule, rule[i+1:])
	}
	if !strings.HasPrefix(pattern, "/") && !strings.HasPrefix(pattern, "*") {
		return "", 0, fmt.Errorf("%q: the pattern must start with / or *", rule)
	}
	return pattern, ttl, nil
}

// ParseHeaderLine splits "Name: value" and checks that both are valid.
func ParseHeaderLine(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("%q must be a header line like \"X-Osprey-CDN-Identifier: s3cret\"", line)
	}
	return http.CanonicalHeaderKey(name), value, nil
}
