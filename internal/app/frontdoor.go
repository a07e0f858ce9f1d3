package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// frontDoor is the HTTP side that `osprey serve` and `osprey edge` share:
// the guard (limits, rules, caps, deadlines, headers), the reloading TLS
// certificate, the admin token check and the metrics exposure.
type frontDoor struct {
	sec      config.Security
	guard    *httpguard.Guard
	certs    *httpguard.CertSource // nil: plain HTTP
	admin    httpguard.Bearer
	registry *prometheus.Registry // the front door's own series
	log      *slog.Logger

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// openFrontDoor builds the front door; tlsCert and tlsKey, when set, are
// loaded now (an error is fatal) and then read again when they change and
// on every value from reload (SIGHUP; nil never delivers), until close.
func openFrontDoor(ctx context.Context, sec config.Security, tlsCert, tlsKey, adminToken string, log *slog.Logger, reload <-chan struct{}) (*frontDoor, error) {
	opts, err := guardOptions(sec)
	if err != nil {
		return nil, err
	}
	guard, err := httpguard.New(opts, log)
	if err != nil {
		return nil, err
	}
	f := &frontDoor{sec: sec, guard: guard, admin: httpguard.NewBearer(adminToken), registry: prometheus.NewRegistry(), log: log}
	// The process's own series (go_goroutines, process_open_fds, ...) go
	// with the front door's, once per process.
	err = errors.Join(guard.Register(f.registry),
		f.registry.Register(collectors.NewGoCollector()),
		f.registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})))
	if err != nil {
		guard.Close()
		return nil, fmt.Errorf("registering the front door's metrics: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	f.cancel = cancel
	if tlsCert != "" {
		certs, err := httpguard.LoadCert(tlsCert, tlsKey, log)
		if err != nil {
			f.close()
			return nil, err
		}
		f.certs = certs
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			certs.Watch(wctx, sec.TLSReloadInterval, reload)
		}()
	}
	return f, nil
}

// close stops the certificate watcher and the guard; idempotent.
func (f *frontDoor) close() {
	f.closeOnce.Do(func() {
		if f.cancel != nil {
			f.cancel()
		}
		f.wg.Wait()
		f.guard.Close()
	})
}

// scheme is "https" with a certificate, else "http".
func (f *frontDoor) scheme() string {
	if f.certs != nil {
		return "https"
	}
	return "http"
}

// listener wraps ln with the connection caps and TLS when configured.
func (f *frontDoor) listener(ln net.Listener) net.Listener {
	return f.guard.Listener(ln, f.certs)
}

// handler puts the guard in front of h.
func (f *frontDoor) handler(classify func(*http.Request) httpguard.Class, h http.Handler) http.Handler {
	return f.guard.Wrap(classify, h)
}

// metricsHandler serves the front door's series and those of gs.
func (f *frontDoor) metricsHandler(gs ...prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(append(prometheus.Gatherers{f.registry}, gs...), promhttp.HandlerOpts{})
}

// mainPortMetrics is /metrics on the main port: a 404 pointing elsewhere
// when metrics have their own address, else h behind the admin token.
func (f *frontDoor) mainPortMetrics(h http.Handler) http.Handler {
	if f.sec.MetricsAddr != "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			jsonError(w, http.StatusNotFound, "not_found", "metrics are served on the metrics address (security.metrics_addr)")
		})
	}
	return f.requireAdmin(h)
}

// requireAdmin lets through requests with the admin token as Bearer.
func (f *frontDoor) requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.admin.Authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="osprey"`)
			jsonError(w, http.StatusUnauthorized, "unauthenticated", "send \"Authorization: Bearer <admin token>\"")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveMetrics serves h alone, without authentication, on
// security.metrics_addr when set; the returned stop shuts it down. The
// address is bound before serving so that a taken port is an error at start.
func (f *frontDoor) serveMetrics(h http.Handler, log *slog.Logger) (addr string, stop func(), err error) {
	if f.sec.MetricsAddr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", f.sec.MetricsAddr)
	if err != nil {
		return "", nil, fmt.Errorf("listening for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", h)
	srv := f.guard.Server(f.guard.Wrap(func(*http.Request) httpguard.Class { return httpguard.ClassMetrics }, mux), log)
	ch := make(chan error, 1)
	go func() { ch <- srv.Serve(f.guard.Listener(ln, nil)) }()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-ch; err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server", "err", err)
		}
	}
	return ln.Addr().String(), stop, nil
}

// serveHTTP serves handler on ln (already wrapped by listener) in a
// goroutine; the channel receives Serve's error.
func (f *frontDoor) serveHTTP(ln net.Listener, handler http.Handler, log *slog.Logger) (*http.Server, <-chan error) {
	srv := f.guard.Server(handler, log)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	return srv, serveErr
}

func jsonError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "{\"error\":{\"code\":%q,\"message\":%q}}\n", code, msg)
}
