package httpguard

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// classByPath sorts test requests by their first path segment.
func classByPath(r *http.Request) Class {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/"):
		return ClassAPI
	case strings.HasPrefix(r.URL.Path, "/up/"):
		return ClassUpload
	case strings.HasPrefix(r.URL.Path, "/media/"):
		return ClassMedia
	case r.URL.Path == "/metrics":
		return ClassMetrics
	case r.URL.Path == "/healthz":
		return ClassOpen
	}
	return ClassWeb
}

var echoBody = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	w.Header().Set("X-Read", strings.Repeat("x", int(min(n, 1))))
	_, _ = io.WriteString(w, "ok")
})

func TestWrapRefusals(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) {
		s.RateLimits = map[Class]RateLimit{ClassAPI: {Rate: 1, Burst: 2}, ClassMedia: {Rate: 1, Burst: 3}}
		s.Access = map[Class][]Rule{
			ClassMetrics: {allow("10.0.0.0/8"), denyAll},
			ClassWeb:     {deny("203.0.113.0/24")},
		}
		s.MaxJSONBody = 2 << 10
	})
	h := g.Wrap(classByPath, echoBody)
	type step struct {
		method, path, remote, body string
		status                     int
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"api burst then 429", []step{
			{"GET", "/api/x", "192.0.2.1:1", "", 200},
			{"GET", "/api/x", "192.0.2.1:2", "", 200},
			{"GET", "/api/x", "192.0.2.1:3", "", 429},
			{"GET", "/api/x", "192.0.2.99:1", "", 200},      // another client
			{"GET", "/media/a.m4s", "192.0.2.1:4", "", 200}, // another class
		}},
		{"media burst", []step{
			{"GET", "/media/1", "198.51.100.1:1", "", 200},
			{"GET", "/media/2", "198.51.100.1:1", "", 200},
			{"GET", "/media/3", "198.51.100.1:1", "", 200},
			{"GET", "/media/4", "198.51.100.1:1", "", 429},
		}},
		{"uploads unlimited here", []step{
			{"PATCH", "/up/1", "198.51.100.2:1", "data", 200},
			{"PATCH", "/up/1", "198.51.100.2:1", "data", 200},
			{"PATCH", "/up/1", "198.51.100.2:1", "data", 200},
			{"PATCH", "/up/1", "198.51.100.2:1", strings.Repeat("u", 8<<10), 200}, // no JSON cap
		}},
		{"metrics allow list", []step{
			{"GET", "/metrics", "10.1.1.1:1", "", 200},
			{"GET", "/metrics", "192.0.2.5:1", "", 403},
		}},
		{"web deny list", []step{
			{"GET", "/", "203.0.113.9:1", "", 403},
			{"GET", "/", "203.0.114.9:1", "", 200},
		}},
		{"health is open", []step{
			{"GET", "/healthz", "203.0.113.9:1", "", 200},
		}},
		{"json cap", []step{
			{"POST", "/api/cap", "192.0.2.50:1", strings.Repeat("j", 2<<10), 200},
			{"POST", "/api/cap", "192.0.2.51:1", strings.Repeat("j", 2<<10+1), 413},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i, s := range tt.steps {
				var body io.Reader
				if s.body != "" {
					body = strings.NewReader(s.body)
				}
				r := httptest.NewRequest(s.method, s.path, body)
				r.RemoteAddr = s.remote
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != s.status {
					t.Fatalf("step %d %s %s from %s: %d, want %d (%s)", i, s.method, s.path, s.remote, w.Code, s.status, w.Body)
				}
				switch s.status {
				case 429:
					if w.Header().Get("Retry-After") != "1" {
						t.Errorf("step %d: Retry-After %q, want 1", i, w.Header().Get("Retry-After"))
					}
				case 403:
					if w.Header().Get("Retry-After") != "" {
						t.Errorf("step %d: Retry-After on a 403", i)
					}
				}
			}
		})
	}
}

// Refusals on the API have the API's error shape.
func TestRefusalShape(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) {
		s.Access = map[Class][]Rule{ClassAPI: {denyAll}, ClassMedia: {denyAll}}
	})
	h := g.Wrap(classByPath, echoBody)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/x", nil))
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != 403 || body.Error.Code != "forbidden" {
		t.Errorf("API refusal: %d %q (%v)", w.Code, w.Body, err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("API refusal Content-Type %q", ct)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/media/x", nil))
	if w.Code != 403 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Errorf("media refusal: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	g := newGuard(t, nil)
	h := g.Wrap(classByPath, echoBody)
	tests := []struct {
		path string
		tls  bool
		want map[string]string // "" means absent
	}{
		{"/api/x", false, map[string]string{
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Content-Security-Policy": apiCSP, "Strict-Transport-Security": ""}},
		{"/api/x", true, map[string]string{"Strict-Transport-Security": "max-age=31536000"}},
		{"/healthz", false, map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}},
		{"/metrics", true, map[string]string{"X-Frame-Options": "DENY", "Strict-Transport-Security": "max-age=31536000"}},
		{"/watch/x", false, map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
			"X-Frame-Options": "", "Content-Security-Policy": ""}},
		{"/media/a.m4s", true, map[string]string{"X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "max-age=31536000",
			"X-Frame-Options": "", "Content-Security-Policy": "", "Referrer-Policy": ""}},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.path, nil)
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		for k, v := range tt.want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s (tls %v): %s = %q, want %q", tt.path, tt.tls, k, got, v)
			}
		}
	}
	// HSTS can be turned off.
	g2 := newGuard(t, func(s *Options) { s.HSTSMaxAge = 0 })
	r := httptest.NewRequest("GET", "/api/x", nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	g2.Wrap(classByPath, echoBody).ServeHTTP(w, r)
	if v := w.Header().Get("Strict-Transport-Security"); v != "" {
		t.Errorf("HSTS %q with hsts_max_age 0", v)
	}
}

// A handler adding to a preset header does not change the next response's.
func TestHeadersNotShared(t *testing.T) {
	t.Parallel()
	g := newGuard(t, nil)
	h := g.Wrap(classByPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Content-Type-Options", "extra")
	}))
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/api/x", nil))
		if got := w.Header().Values("X-Content-Type-Options"); len(got) != 2 || got[0] != "nosniff" {
			t.Fatalf("header values %q", got)
		}
	}
}

// Trusted proxies forward the client's address, and the limits apply to it.
func TestWrapTrustedProxy(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) {
		s.TrustedProxies = prefixes("10.0.0.0/8")
		s.Access = map[Class][]Rule{ClassAPI: {deny("198.51.100.0/24")}}
	})
	h := g.Wrap(classByPath, echoBody)
	for _, tt := range []struct {
		remote, xff string
		want        int
	}{
		{"10.0.0.1:1", "198.51.100.7", 403},
		{"10.0.0.1:1", "192.0.2.7", 200},
		{"192.0.2.1:1", "198.51.100.7", 200}, // not a proxy: header ignored
	} {
		r := httptest.NewRequest("GET", "/api/x", nil)
		r.RemoteAddr = tt.remote
		r.Header.Set("X-Forwarded-For", tt.xff)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("from %s for %s: %d, want %d", tt.remote, tt.xff, w.Code, tt.want)
		}
	}
}

// Unlimited clients (loopback by default) skip the rate limits and the
// per-address connection cap, but not the access rules.
func TestUnlimitedClients(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) {
		s.Unlimited = prefixes("127.0.0.0/8", "::1/128")
		s.RateLimits = map[Class]RateLimit{ClassAPI: {Rate: 1, Burst: 1}}
		s.Access = map[Class][]Rule{ClassAPI: {deny("127.0.0.9")}}
	})
	h := g.Wrap(classByPath, echoBody)
	for _, tt := range []struct {
		remote string
		want   []int
	}{
		{"127.0.0.1:1", []int{200, 200, 200}},
		{"[::1]:1", []int{200, 200, 200}},
		{"192.0.2.1:1", []int{200, 429, 429}},
		{"127.0.0.9:1", []int{403, 403, 403}},
	} {
		for i, want := range tt.want {
			r := httptest.NewRequest("GET", "/api/x", nil)
			r.RemoteAddr = tt.remote
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != want {
				t.Errorf("%s request %d: %d, want %d", tt.remote, i, w.Code, want)
			}
		}
	}
}

// An exempt address's connections are not counted per address, and
// release gives back only what was taken.
func TestCapListenerExempt(t *testing.T) {
	t.Parallel()
	l := newCapListener(nil, 10, 1, proxies{mustPrefix("::1/128")}, nil)
	loop, other := mustAddr("::1"), mustAddr("::2") // same /64
	for range 3 {
		if counted, reason := l.admit(loop, bucketKey(loop)); counted || reason != "" {
			t.Fatalf("::1: counted %v, refused %q", counted, reason)
		}
	}
	counted, reason := l.admit(other, bucketKey(other))
	if !counted || reason != "" {
		t.Fatalf("::2: counted %v, refused %q", counted, reason)
	}
	if _, reason := l.admit(other, bucketKey(other)); reason != rejectPerIP {
		t.Fatalf("second ::2: %q, want the per-address cap", reason)
	}
	l.release(bucketKey(loop), false)
	if _, reason := l.admit(other, bucketKey(other)); reason != rejectPerIP {
		t.Fatalf("releasing an exempt connection freed a counted slot")
	}
	l.release(bucketKey(other), true)
	if _, reason := l.admit(other, bucketKey(other)); reason != "" {
		t.Fatalf("after release: %q", reason)
	}
}
