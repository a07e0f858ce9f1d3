package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ospreyvideo/osprey/internal/httpguard"
)

const readyTimeout = 2 * time.Second

// healthz answers 200 while the process serves HTTP; it says nothing else.
func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeText(w, http.StatusOK, "ok")
}

// readyz answers 200 when the catalog answers a ping and Deps.Ready passes,
// else 503. Only a request with the admin token as Bearer learns why it
// is not ready: the reason can name paths and internal addresses.
func (a *API) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.ready(ctx); err != nil {
		a.log.Debug("not ready", "err", err)
		msg := "not ready"
		if httpguard.NewBearer(a.deps.AdminToken).Authorized(r) {
			msg += ": " + err.Error()
		}
		writeText(w, http.StatusServiceUnavailable, msg)
		return
	}
	writeText(w, http.StatusOK, "ok")
}

func (a *API) ready(ctx context.Context) error {
	if err := a.deps.Catalog.Ping(ctx); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if a.deps.Ready != nil {
		if err := a.deps.Ready(ctx); err != nil {
			return err
		}
	}
	return nil
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}
