package httpguard

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Class is a route class: what limits and rules apply to a request.
type Class int

// Route classes. ClassOpen is for /healthz: no limit, no rule. The others
// are named, in Options and in the configuration, by their String.
const (
	ClassOpen Class = iota
	ClassAPI
	ClassUpload
	ClassMedia
	ClassMetrics
	ClassWeb
	numClasses
)

var classNames = [numClasses]string{"open", "api", "upload", "media", "metrics", "web"}

func (c Class) String() string {
	if c < 0 || c >= numClasses {
		return "class(" + strconv.Itoa(int(c)) + ")"
	}
	return classNames[c]
}

// ClassNamed returns the route class called name ("api", "upload",
// "media", "metrics" or "web"): one that rate limits and access rules may
// apply to, so never ClassOpen.
func ClassNamed(name string) (Class, bool) {
	for c := ClassOpen + 1; c < numClasses; c++ {
		if classNames[c] == name {
			return c, true
		}
	}
	return 0, false
}

// configurable reports whether c may have rate limits and access rules.
func (c Class) configurable() bool { return c > ClassOpen && c < numClasses }

// sweepEvery is how often idle clients are dropped from the rate limiters.
const sweepEvery = 30 * time.Second

// Guard is the front door. Build it with New, put it in front of a
// handler with Wrap, and Close it to stop its background sweeping.
type Guard struct {
	opts     Options
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

// New returns the guard set by o. It refuses options it cannot run with
// (a limit below 1, a non-positive timeout, an invalid prefix, limits or
// rules for ClassOpen); the user-facing bounds are the configuration's.
// log receives refusals at debug level.
func New(o Options, log *slog.Logger) (*Guard, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("guard options: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Guard{opts: o, log: log.With("component", "httpguard"), headers: newHeaderSet(o.HSTSMaxAge),
		metrics: newMetrics(), now: time.Now, trusted: NewTrustedProxies(o.TrustedProxies),
		exempt: append(proxies(nil), o.Unlimited...)}
	for c := ClassOpen + 1; c < numClasses; c++ {
		if rl, ok := o.RateLimits[c]; ok && rl.Rate > 0 {
			g.limiters[c] = NewLimiter(rl.Rate, rl.Burst, o.RateLimitClients)
		}
		g.access[c] = append(rules(nil), o.Access[c]...)
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
			limit := g.opts.MaxJSONBody
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
			r.Body = &progressBody{ReadCloser: r.Body, d: d, timeout: g.opts.ProgressTimeout}
		}
		pw := &progressWriter{ResponseWriter: w, d: d, timeout: g.opts.ProgressTimeout}
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
