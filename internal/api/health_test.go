package api

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
)

// /readyz tells anyone whether the server is ready, but only the admin
// token's holder why not: the reason can name paths and addresses.
func TestReadyz(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pingErr error
		ready   func(context.Context) error
		token   string
		status  int
		body    string
	}{
		{"ready", nil, nil, "", 200, "ok\n"},
		{"ready with check", nil, func(ctx context.Context) error { return nil }, "", 200, "ok\n"},
		{"catalog down, no token", errBoom, nil, "", 503, "not ready\n"},
		{"catalog down, admin token", errBoom, nil, testToken, 503, "not ready: catalog: disk on fire\n"},
		{"catalog down, wrong token", errBoom, nil, "nope", 503, "not ready\n"},
		{"check fails, no token", nil, func(ctx context.Context) error { return errors.New("rtmp listener not started") }, "", 503, "not ready\n"},
		{"check fails, admin token", nil, func(ctx context.Context) error { return errors.New("rtmp listener not started") }, testToken, 503, "not ready: rtmp listener not started\n"},
		{"check gets a deadline", nil, func(ctx context.Context) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("no deadline")
			}
			return nil
		}, "", 200, "ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, nil, func(d *Deps) { d.Ready = tt.ready })
			e.cat.pingErr = tt.pingErr
			r := httptest.NewRequest("GET", "/readyz", nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := e.serve(r)
			if w.Code != tt.status || w.Body.String() != tt.body {
				t.Fatalf("readyz = %d %q, want %d %q", w.Code, w.Body, tt.status, tt.body)
			}
		})
	}
}

// /healthz says ok and nothing more, to anyone.
func TestHealthzMinimal(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	e.cat.pingErr = errBoom
	w := e.serve(httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Fatalf("healthz = %d %q", w.Code, w.Body)
	}
}
