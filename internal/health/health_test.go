package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func byToken(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer secret" }

func serve(h http.Handler, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// /readyz names each failed dependency and its address to anyone, and the
// driver's error only to the admin token's holder.
func TestReadyz(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	boom := func(context.Context) error { return errors.New("dial tcp 10.0.0.5:5432: connection refused") }
	tests := []struct {
		name   string
		checks []Check
		token  string
		status int
		body   string
	}{
		{"no checks", nil, "", 200, "ok\n"},
		{"all up", []Check{{"catalog", "PostgreSQL at db:5432", ok}, {"storage", "s3 bucket b", ok}}, "", 200, "ok\n"},
		{"catalog down", []Check{{"catalog", "PostgreSQL at db:5432", boom}, {"storage", "s3 bucket b", ok}}, "", 503,
			"not ready:\ncatalog (PostgreSQL at db:5432) unreachable\n"},
		{"catalog down, wrong token", []Check{{"catalog", "PostgreSQL at db:5432", boom}}, "nope", 503,
			"not ready:\ncatalog (PostgreSQL at db:5432) unreachable\n"},
		{"catalog down, admin token", []Check{{"catalog", "PostgreSQL at db:5432", boom}}, "secret", 503,
			"not ready:\ncatalog (PostgreSQL at db:5432) unreachable: dial tcp 10.0.0.5:5432: connection refused\n"},
		{"two down", []Check{{"storage", "s3 bucket b", boom}, {"events", "NATS at n:4222", boom}}, "", 503,
			"not ready:\nstorage (s3 bucket b) unreachable\nevents (NATS at n:4222) unreachable\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := serve(New(tt.checks, byToken, nil), "/readyz", tt.token)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("readyz = %d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
		})
	}
}

// Readiness is probed again on every request, so it recovers by itself.
func TestReadyzRecovers(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	h := New([]Check{{"events", "NATS at n:4222", func(context.Context) error {
		if down.Load() {
			return errors.New("no servers available")
		}
		return nil
	}}}, nil, nil)
	if w := serve(h, "/readyz", ""); w.Code != 503 {
		t.Fatalf("down: %d", w.Code)
	}
	down.Store(false)
	if w := serve(h, "/readyz", ""); w.Code != 200 {
		t.Fatalf("back: %d %s", w.Code, w.Body)
	}
}

// A check that ignores its context cannot hang the probe.
func TestReadyzBoundsAHangingCheck(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	h := New([]Check{{"storage", "s3 bucket b", func(context.Context) error { <-release; return nil }}}, nil, nil)
	h.timeout = 100 * time.Millisecond
	start := time.Now()
	w := serve(h, "/readyz", "")
	if w.Code != 503 || !strings.Contains(w.Body.String(), "storage (s3 bucket b) unreachable") {
		t.Fatalf("readyz = %d %q", w.Code, w.Body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("probe took %v", d)
	}
}

// /healthz says ok and nothing more, whatever the dependencies.
func TestHealthzMinimal(t *testing.T) {
	t.Parallel()
	h := New([]Check{{"catalog", "x", func(context.Context) error { return errors.New("down") }}}, byToken, nil)
	for _, token := range []string{"", "secret"} {
		if w := serve(h, "/healthz", token); w.Code != 200 || w.Body.String() != "ok\n" {
			t.Fatalf("healthz = %d %q", w.Code, w.Body)
		}
	}
}
