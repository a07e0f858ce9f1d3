package origin

import (
	"net/http"
	"testing"
	"time"
)

func TestTimeHandler(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	e.o.now = func() time.Time {
		return time.Date(2026, 11, 21, 15, 0, 0, 123456789, time.FixedZone("CET", 3600))
	}
	h := e.o.TimeHandler()

	w := serve(h, "GET", "/time")
	wantStatus(t, w, http.StatusOK)
	if got, want := w.Body.String(), "2026-11-21T14:00:00.123Z"; got != want {
		t.Fatalf("body = %q, want %q", got, want)
	}
	wantHeader(t, w, "Content-Type", "text/plain; charset=utf-8")
	wantHeader(t, w, "Cache-Control", "no-store")
	wantHeader(t, w, "Access-Control-Allow-Origin", "*")
	wantHeader(t, w, "Content-Length", "24")

	head := serve(h, "HEAD", "/time")
	wantStatus(t, head, http.StatusOK)
	if head.Body.Len() != 0 {
		t.Fatal("HEAD /time has a body")
	}
	wantHeader(t, head, "Cache-Control", "no-store")

	post := serve(h, "POST", "/time")
	wantStatus(t, post, http.StatusMethodNotAllowed)
	wantHeader(t, post, "Allow", "GET, HEAD, OPTIONS")

	pre := serve(h, "OPTIONS", "/time", "Origin", "https://p.example", "Access-Control-Request-Method", "GET")
	wantStatus(t, pre, http.StatusNoContent)
	wantHeader(t, pre, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
}

func TestTimeHandlerRealClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	before := time.Now().Add(-time.Millisecond)
	w := serve(e.o.TimeHandler(), "GET", "/time")
	after := time.Now().Add(time.Millisecond)
	got, err := time.Parse(timeLayout, w.Body.String())
	if err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	if got.Before(before.Truncate(time.Millisecond)) || got.After(after) {
		t.Fatalf("served %v, outside [%v, %v]", got, before, after)
	}
}
