package origin

import (
	"net/http"
	"strings"
	"testing"
)

func TestCORSHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, allow string
	}{
		{"any origin", "*"},
		{"one origin", "https://player.example"},
		{"disabled", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{AllowOrigin: tc.allow})
			e.put(t, "live/ch/1.m4s", "x")
			e.put(t, "live/ch/index.m3u8", livePlaylist)
			for _, p := range []string{"/live/ch/1.m4s", "/live/ch/index.m3u8", "/live/ch/missing.m4s", "/live/ch/state.json"} {
				w := e.do("GET", p, "Origin", "https://player.example")
				wantHeader(t, w, "Access-Control-Allow-Origin", tc.allow)
				expose := w.Header().Get("Access-Control-Expose-Headers")
				if tc.allow == "" {
					if expose != "" {
						t.Fatalf("%s: CORS disabled but Expose-Headers = %q", p, expose)
					}
					continue
				}
				for _, h := range []string{"Content-Length", "Content-Range", "ETag", "Age", "Date"} {
					if !strings.Contains(expose, h) {
						t.Errorf("%s: Expose-Headers %q lacks %s", p, expose, h)
					}
				}
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	e.put(t, "live/ch/1.m4s", "x")
	w := e.do("OPTIONS", "/live/ch/1.m4s",
		"Origin", "https://player.example",
		"Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "range, X-Playback-Session-Id,bad header")
	wantStatus(t, w, http.StatusNoContent)
	if w.Body.Len() != 0 {
		t.Fatalf("preflight body %q", w.Body.String())
	}
	wantHeader(t, w, "Access-Control-Allow-Origin", "*")
	wantHeader(t, w, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	wantHeader(t, w, "Access-Control-Allow-Headers", "Range, X-Playback-Session-Id")
	wantHeader(t, w, "Access-Control-Max-Age", "86400")
	wantHeader(t, w, "Allow", "GET, HEAD, OPTIONS")
	if !varyHas(w.Header(), "Access-Control-Request-Headers") {
		t.Fatal("preflight lacks Vary: Access-Control-Request-Headers")
	}

	// Preflight does not need the object to exist yet (the playlist may be
	// requested just before the channel goes live).
	wantStatus(t, e.do("OPTIONS", "/live/ch/index.m3u8", "Origin", "https://p.example", "Access-Control-Request-Method", "GET"), http.StatusNoContent)
	// Paths the origin would never serve are still 404.
	wantStatus(t, e.do("OPTIONS", "/live/ch/state.json"), http.StatusNotFound)

	// CORS disabled: a plain OPTIONS answer without CORS headers.
	off := newEnv(t, Config{})
	w = off.do("OPTIONS", "/live/ch/1.m4s", "Origin", "https://player.example", "Access-Control-Request-Method", "GET")
	wantStatus(t, w, http.StatusNoContent)
	wantHeader(t, w, "Allow", "GET, HEAD, OPTIONS")
	wantHeader(t, w, "Access-Control-Allow-Origin", "")
	wantHeader(t, w, "Access-Control-Allow-Methods", "")
}
