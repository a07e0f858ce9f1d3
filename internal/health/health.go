// Package health answers a node's liveness and readiness probes.
//
// /healthz is liveness: 200 while the process serves HTTP, nothing else.
// /readyz is readiness: 200 when every dependency this node's roles need
// answers, else 503 with a body that names each failed dependency and its
// address ("catalog (PostgreSQL at db:5432) unreachable"), so that a person
// reading a probe failure knows where to look. The driver's own error, which
// can carry paths and internal details, is added only for a request that
// presents the admin token. Every probe checks again: readiness recovers by
// itself when the dependency does.
package health

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds one readiness probe.
const DefaultTimeout = 2 * time.Second

// Check is one dependency of the node.
type Check struct {
	// Name is the dependency's kind: "catalog", "storage" or "events".
	Name string
	// Addr says where it is, without secrets, e.g. "PostgreSQL at db:5432".
	Addr string
	// Ping returns nil when the dependency answers; it must honour ctx.
	Ping func(ctx context.Context) error
}

// Handler serves /healthz and /readyz.
type Handler struct {
	checks     []Check
	authorized func(*http.Request) bool
	timeout    time.Duration
	log        *slog.Logger

	mu   sync.Mutex
	down map[string]bool // by check name: failed at the last probe
}

// New returns a Handler over checks. authorized tells whether a request
// may learn the drivers' errors (nil: never).
func New(checks []Check, authorized func(*http.Request) bool, log *slog.Logger) *Handler {
	if authorized == nil {
		authorized = func(*http.Request) bool { return false }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{checks: checks, authorized: authorized, timeout: DefaultTimeout, log: log.With("component", "health")}
}

// ServeHTTP answers GET and HEAD on /healthz and /readyz.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeText(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch r.URL.Path {
	case "/healthz":
		writeText(w, http.StatusOK, "ok")
	case "/readyz":
		h.readyz(w, r)
	default:
		writeText(w, http.StatusNotFound, "not found")
	}
}

// Failure is a dependency that did not answer.
type Failure struct {
	Check Check
	Err   error
}

// Probe runs every check at once, each bounded by the handler's timeout,
// and returns the ones that failed, in the order of the checks.
func (h *Handler) Probe(ctx context.Context) []Failure {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	errs := make([]error, len(h.checks))
	var wg sync.WaitGroup
	for i, c := range h.checks {
		wg.Go(func() { errs[i] = ping(ctx, c) })
	}
	wg.Wait()
	var failed []Failure
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down == nil {
		h.down = make(map[string]bool)
	}
	for i, err := range errs {
		c := h.checks[i]
		if err != nil {
			failed = append(failed, Failure{Check: c, Err: err})
		}
		// Log changes only: probes come every few seconds.
		switch {
		case err != nil && !h.down[c.Name]:
			h.log.Warn("dependency unreachable", "dependency", c.Name, "addr", c.Addr, "err", err)
		case err == nil && h.down[c.Name]:
			h.log.Info("dependency reachable again", "dependency", c.Name, "addr", c.Addr)
		}
		h.down[c.Name] = err != nil
	}
	return failed
}

// ping runs c.Ping, turning a ping that outlives ctx into ctx's error, so
// that a driver that ignores its context cannot hang the probe.
func ping(ctx context.Context, c Check) error {
	done := make(chan error, 1)
	go func() { done <- c.Ping(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("no answer in time: %w", ctx.Err())
	}
}

func (h *Handler) readyz(w http.ResponseWriter, r *http.Request) {
	failed := h.Probe(r.Context())
	if len(failed) == 0 {
		writeText(w, http.StatusOK, "ok")
		return
	}
	detail := h.authorized(r)
	var b strings.Builder
	b.WriteString("not ready:")
	for _, f := range failed {
		fmt.Fprintf(&b, "\n%s (%s) unreachable", f.Check.Name, f.Check.Addr)
		if detail {
			fmt.Fprintf(&b, ": %v", f.Err)
		}
	}
	writeText(w, http.StatusServiceUnavailable, b.String())
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, text)
}
