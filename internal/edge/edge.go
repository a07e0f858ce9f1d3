// Package edge is Osprey's caching reverse proxy: the job CloudFront does in
// front of a media origin, for HLS and DASH.
//
// An Edge answers GET and HEAD from a two-tier cache (memory, then disk; see
// package cache), fetching from an ordered list of origins on a miss:
//
//   - Request collapsing: concurrent misses for one object make one origin
//     request (a flight); every waiting viewer receives the body as it
//     streams in, not after it completes, which live delivery needs.
//   - Freshness from the origin (CDN-Cache-Control over Cache-Control:
//     s-maxage, max-age, no-cache, no-store, private, must-revalidate;
//     Expires), with per-path-pattern defaults when the origin says
//     nothing, and brief caching of 404 and 410 (negative caching).
//   - Expired objects are revalidated with a conditional request (304
//     refreshes them) and served stale while revalidating
//     (stale-while-revalidate) or when every origin fails (stale-if-error,
//     by default up to a day past expiry).
//   - Origin failover: a connect error, a timeout or a 5xx moves the request
//     to the next origin; an origin that failed is skipped for a while and
//     probed in the background until it answers again.
//   - LL-HLS: blocking playlist reloads (_HLS_msn, _HLS_part, _HLS_skip)
//     are keyed and collapsed like any object, and held by the origin
//     without being taken for a failure (see llhls.go).
//   - Range and conditional requests are answered from cache.
//   - Age, Cache-Status (RFC 9211) and Via on every response, and one JSON
//     access-log line per request with the CMCD data the player sent.
//   - CloudFront-compatible signed URLs and cookies on protected paths, and
//     a secret header on origin requests that the origin can insist on.
//
// Other methods, and requests with an Authorization header, are passed to
// the origin uncached.
package edge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// Config configures an Edge.
type Config struct {
	// Origins are base URLs, the primary first. Required.
	Origins []string
	// Transport carries origin requests; nil means an http.Transport with
	// ConnectTimeout. (Serve passes one that calls its origin in-process.)
	Transport http.RoundTripper
	// Name identifies the edge in Via and Cache-Status; default "osprey-edge".
	Name string
	// Cache sizes and places the two tiers.
	Cache cache.Config
	// MaxObjectSize: larger responses are passed through uncached.
	MaxObjectSize int64
	// KeyQuery lists the query parameters that are part of the cache key
	// (and forwarded to the origin); others are dropped. The LL-HLS
	// delivery directives (_HLS_msn, _HLS_part, _HLS_skip) always are.
	KeyQuery []string
	// TTL rules apply, first match wins, when the origin gives no lifetime.
	TTL []TTLRule
	// NegativeTTL caches 404 and 410 that have no explicit lifetime.
	NegativeTTL time.Duration
	// StaleIfError and StaleWhileRevalidate are the defaults when the origin
	// does not set them.
	StaleIfError         time.Duration
	StaleWhileRevalidate time.Duration
	// ConnectTimeout bounds dialing an origin (default transport only).
	ConnectTimeout time.Duration
	// OriginTimeout bounds the wait for an origin's response headers before
	// the next origin is tried (the last one left gets 30 s); the body may
	// then take longer, but not stall for more than ten times it (10 s at
	// least).
	OriginTimeout time.Duration
	// HoldTimeout bounds the wait for the response headers of a blocking
	// LL-HLS playlist reload (a request with _HLS_msn), which the origin
	// holds until the part exists; default DefaultHoldTimeout (10 s), never
	// less than OriginTimeout. Such a request is not failed over when it
	// runs out (see llhls.go).
	HoldTimeout time.Duration
	// OriginRetryAfter is how long an origin that failed is skipped.
	OriginRetryAfter time.Duration
	// OriginHealthPath is probed while an origin is skipped; "" disables
	// probing (the origin is then simply retried after OriginRetryAfter).
	OriginHealthPath string
	// OriginHeader is added to every origin request.
	OriginHeader http.Header
	// Verifier checks signed URLs on paths matching RequireSigned.
	Verifier      *signedurl.Verifier
	RequireSigned []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed, for the viewer's address and scheme
	// (signed URLs' IP condition and resource, the access log): the front
	// door's (security.trusted_proxies). The zero value trusts no one.
	TrustedProxies httpguard.TrustedProxies
	// AdminToken authorizes the invalidation API; "" disables it.
	AdminToken string
	// Events, when set, shares invalidations between edges: each one this
	// edge accepts is published (events.EdgeInvalidate), and those of
	// other nodes are applied here once per ID. The caller opens and
	// closes the bus; the edge subscribes in New and stops at Close.
	Events EventBus
	// NodeID names this edge on the bus (its invalidations' "node", its
	// durable subscription); default Name.
	NodeID string
	// AccessLog receives one JSON line per request; nil disables it.
	AccessLog io.Writer
	// Registry receives the edge's metrics; nil means a new registry.
	Registry *prometheus.Registry
	Log      *slog.Logger
}

// TTLRule is a default freshness lifetime for paths matching Pattern
// ('*' matches any run of characters, '?' one).
type TTLRule struct {
	Pattern string
	TTL     time.Duration
}

// DefaultTTLRules apply after the configured ones: manifests one second,
// everything else a day (CloudFront's default TTL).
func DefaultTTLRules() []TTLRule {
	return []TTLRule{
		{Pattern: "*.m3u8", TTL: time.Second},
		{Pattern: "*.mpd", TTL: time.Second},
		{Pattern: "*", TTL: 24 * time.Hour},
	}
}

// Edge is the caching proxy; it is an http.Handler.
type Edge struct {
	cfg       Config
	log       *slog.Logger
	cache     *cache.Cache
	origins   []*origin
	transport http.RoundTripper
	keyQuery  map[string]bool
	signed    []string // RequireSigned in lower case, for protected
	ttl       []TTLRule
	via       string
	metrics   *metrics
	registry  *prometheus.Registry
	access    *accessLog
	bypass    http.Handler
	timeProxy http.Handler
	now       func() time.Time

	flightsMu sync.Mutex
	flights   map[string]*flight

	invalidations invalidations
	bus           EventBus            // nil: invalidations stay local
	sub           events.Subscription // nil without bus

	ctx    context.Context // ends at Close: flights and probes stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once
}

// New opens the cache and returns an Edge. Close releases it.
func New(cfg Config) (*Edge, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Origins) == 0 {
		return nil, fmt.Errorf("edge: no origin")
	}
	if cfg.Name == "" {
		cfg.Name = "osprey-edge"
	}
	if cfg.OriginTimeout <= 0 {
		cfg.OriginTimeout = time.Second
	}
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = DefaultHoldTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 500 * time.Millisecond
	}
	if cfg.OriginRetryAfter <= 0 {
		cfg.OriginRetryAfter = 5 * time.Second
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 256 << 20
	}
	if len(cfg.RequireSigned) > 0 && (cfg.Verifier == nil || cfg.Verifier.Keys == nil || cfg.Verifier.Keys.Len() == 0) {
		return nil, fmt.Errorf("edge: signed paths need at least one trusted key")
	}
	log := cfg.Log.With("component", "edge")
	e := &Edge{
		cfg:      cfg,
		log:      log,
		keyQuery: make(map[string]bool, len(cfg.KeyQuery)),
		signed:   lowerAll(cfg.RequireSigned),
		ttl:      append(append([]TTLRule(nil), cfg.TTL...), DefaultTTLRules()...),
		via:      "1.1 " + cfg.Name,
		flights:  make(map[string]*flight),
		now:      time.Now,
	}
	for _, q := range cfg.KeyQuery {
		e.keyQuery[q] = true
	}
	for _, q := range slices.Concat(hlsDirectives, timeShiftParams) {
		e.keyQuery[q] = true
	}
	for _, raw := range cfg.Origins {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("edge: origin %q is not an absolute http(s) URL", raw)
		}
		u.Path = strings.TrimRight(u.Path, "/")
		u.RawPath = ""
		e.origins = append(e.origins, &origin{base: u, prefix: u.Scheme + "://" + u.Host + u.EscapedPath(), name: u.Host + u.Path})
	}
	e.transport = cfg.Transport
	if e.transport == nil {
		e.transport = newTransport(cfg.ConnectTimeout)
	}
	e.registry = cfg.Registry
	if e.registry == nil {
		e.registry = prometheus.NewRegistry()
	}
	cfg.Cache.Log = log
	c, err := cache.Open(cfg.Cache)
	if err != nil {
		return nil, fmt.Errorf("edge: opening the cache: %w", err)
	}
	e.cache = c
	e.metrics = newMetrics(e)
	if err := e.metrics.register(e.registry); err != nil {
		c.Close()
		return nil, fmt.Errorf("edge: registering metrics: %w", err)
	}
	if cfg.AccessLog != nil {
		e.access = newAccessLog(cfg.AccessLog)
	}
	e.bypass = e.newBypass()
	e.timeProxy = e.newTimeProxy()
	if cfg.Events != nil {
		e.bus = cfg.Events
		if err := e.subscribe(); err != nil {
			for _, col := range e.metrics.collectors {
				e.registry.Unregister(col)
			}
			c.Close()
			return nil, err
		}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if e.access != nil {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.access.flushLoop(e.ctx)
		}()
	}
	return e, nil
}

// newTransport is the default origin transport: short dials, many idle
// connections per origin (the edge sends a lot of small requests), and no
// transparent decompression (responses are cached as the origin sent them).
func newTransport(connectTimeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   connectTimeout * 2,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
}

// Registry returns the registry holding the edge's metrics.
func (e *Edge) Registry() *prometheus.Registry { return e.registry }

// CacheStats reports the tiers' use.
func (e *Edge) CacheStats() cache.Stats { return e.cache.Stats() }

// Close stops the invalidation subscription and background work, waits
// for them, flushes the access log and closes the cache. Requests still
// being served may fail.
func (e *Edge) Close() error {
	var err error
	e.close.Do(func() {
		if e.sub != nil {
			_ = e.sub.Stop()
		}
		e.cancel()
		e.wg.Wait()
		if e.access != nil {
			e.access.flush()
		}
		err = e.cache.Close()
	})
	return err
}

// ServeHTTP serves the edge's own endpoints (/healthz, /metrics and the
// invalidation API), passes the origin's clock (/time) through uncached,
// and proxies everything else. Every request's path is first put in
// canonical form (see canonicalPath): a path that is not canonical is
// refused with 400, and the canonical one is what protection, the cache
// key and the origin URL are computed from.
func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cr, err := canonicalRequest(r)
	if err != nil {
		e.rejectPath(w, r, err)
		return
	}
	r = cr
	switch {
	case r.URL.Path == "/healthz":
		e.serveHealth(w, r)
	case r.URL.Path == "/metrics":
		e.metrics.handler.ServeHTTP(w, r)
	case strings.HasPrefix(r.URL.Path, invalidationsPath):
		e.serveInvalidations(w, r)
	case r.URL.Path == timePath:
		e.serveTime(w, r)
	default:
		e.serveProxy(w, r)
	}
}
