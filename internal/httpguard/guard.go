package httpguard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
)

// Class is a route class: what limits and rules apply to a request.
type Class int

// Route classes (see config.RouteClasses). ClassOpen is for /healthz:
// no limit, no rule.
const (
	ClassOpen Class = iota
	ClassAPI
	ClassUpload
	ClassMedia
	ClassMetrics
	ClassWeb
	numClasses
)

var classNames = [numClasses]string{"open", config.ClassAPI, config.ClassUpload, config.ClassMedia, config.ClassMetrics, config.ClassWeb}

func (c Class) String() string {
	if c < 0 || c >= numClasses {
		return "class(" + strconv.Itoa(int(c)) + ")"
	}
	return classNames[c]
}

// sweepEvery is how often idle clients are dropped from the rate limiters.
const sweepEvery = 30 * time.Second

// Guard is the front door. Build it with New, put it in front of a
// handler with Wrap, and Close it to stop its background sweeping.
type Guard struct {
	cfg      config.Security
	log      *slog.Logger
	trusted  TrustedProxies
	exempt   proxies // unlimited_clients
	limiters [numClasses]*Limiter
	access   [numClasses]rules
	headers  headerSet
	metrics  *metrics
	now      func() time.Time

	stop     context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// New returns the guard configured by sec, which must be valid
// (config.Security.Validate). log receives refusals at debug level.
func New(sec config.Security, log *slog.Logger) (*Guard, error) {
	if errs := sec.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("security settings: %w", errs[0])
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{cfg: sec, log: log.With("component", "httpguard"), headers: newHeaderSet(sec.HSTSMaxAge),
		metrics: newMetrics(), now: time.Now}
	trusted, err := ParseTrustedProxies(sec.TrustedProxies)
	if err != nil {
		return nil, err
	}
	g.trusted = trusted
	for _, p := range sec.UnlimitedClients {
		pfx, err := config.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("security.unlimited_clients: %w", err)
		}
		g.exempt = append(g.exempt, pfx)
	}
	for c := ClassOpen + 1; c < numClasses; c++ {
		if rl, ok := sec.RateLimits[c.String()]; ok && rl.Rate > 0 {
			g.limiters[c] = NewLimiter(rl.Rate, rl.Burst, sec.RateLimitClients)
		}
		rs, err := parseRules(sec.Access[c.String()])
		if err != nil {
			return nil, fmt.Errorf("security.access.%s: %w", c, err)
		}
		g.access[c] = rs
	}
	ctx, cancel := context.WithCancel(context.Background())
	g.stop = cancel
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		g.sweep(ctx)
	}()
	return g, nil
}

// Close stops the sweeper and waits for it. It is idempotent.
func (g *Guard) Close() error {
	g.stopOnce.Do(func() {
		g.stop()
		g.wg.Wait()
	})
	return nil
}

func (g *Guard) sweep(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, l := range g.limiters {
				if l != nil {
					l.Sweep(now)
				}
			}
		}
	}
}

// Wrap returns next behind the guard; classify sorts each request into its
// route class. In order: security headers, the class's access rules (403),
// its rate limit (429), the JSON body cap on the API, progress deadlines.
func (g *Guard) Wrap(classify func(*http.Request) Class, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		class := classify(r)
		g.headers.set(w.Header(), class, r.TLS != nil)
		if class != ClassOpen {
			addr := g.ClientAddr(r)
			if !g.access[class].allowed(addr) {
				g.metrics.refused(class, reasonAccess)
				g.log.Debug("request denied by an access rule", "class", class, "client", addr, "method", r.Method, "path", r.URL.Path)
				refuse(w, r, class, http.StatusForbidden, "forbidden", "access from your address is not allowed here", 0)
				return
			}
			if l := g.limiters[class]; l != nil && !g.exempt.contains(addr) {
				if ok, wait := l.Allow(addr, g.now()); !ok {
					g.metrics.refused(class, reasonRate)
					g.log.Debug("request rate limited", "class", class, "client", addr, "method", r.Method, "path", r.URL.Path)
					refuse(w, r, class, http.StatusTooManyRequests, "rate_limited", "too many requests; retry later", retryAfterSeconds(wait))
					return
				}
			}
		}
		if class == ClassAPI && r.Body != nil && r.Body != http.NoBody {
			limit := int64(g.cfg.MaxJSONBody)
			if r.ContentLength > limit {
				g.metrics.refused(class, reasonSize)
				refuse(w, r, class, http.StatusRequestEntityTooLarge, "payload_too_large",
					"the request body is larger than "+strconv.FormatInt(limit, 10)+" bytes", 0)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		d := findDeadliner(w)
		if d == nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &progressBody{ReadCloser: r.Body, d: d, timeout: g.cfg.ProgressTimeout}
		}
		pw := &progressWriter{ResponseWriter: w, d: d, timeout: g.cfg.ProgressTimeout}
		defer pw.finish()
		next.ServeHTTP(pw, r)
	})
}

// refuse answers the guard's own refusals: JSON in the API's error shape on
// the API classes, text elsewhere.
func refuse(w http.ResponseWriter, r *http.Request, class Class, status int, code, msg string, retryAfter int64) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.FormatInt(retryAfter, 10))
	}
	if r.ProtoMajor == 1 && r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
		// Do not read the refused request's body. (Not on HTTP/2, where
		// it would end every stream of the connection.)
		h.Set("Connection", "close")
	}
	switch class {
	case ClassAPI, ClassUpload, ClassMetrics:
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"code":"` + code + `","message":"` + msg + `"}}` + "\n"))
	default:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(msg + "\n"))
	}
}
