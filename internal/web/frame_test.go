package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Pages may be framed by their own origin only; player pages also by the
// configured embedding origins, which only the CSP can list.
func TestFramePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		embed    []string
		path     string
		wantCSP  string // suffix of the CSP
		wantXFO  string
		notInCSP string
	}{
		{"home", nil, "/", "frame-ancestors 'self'", "SAMEORIGIN", ""},
		{"player, no embedding", nil, "/watch/ch_abc", "frame-ancestors 'self'", "SAMEORIGIN", ""},
		{"vod player, no embedding", nil, "/watch/vod/as_abc", "frame-ancestors 'self'", "SAMEORIGIN", ""},
		{"player embeddable", []string{"https://blog.example.com"}, "/watch/ch_abc", "frame-ancestors 'self' https://blog.example.com", "", ""},
		{"vod player embeddable", []string{"https://a.example", "https://b.example"}, "/watch/vod/as_abc", "frame-ancestors 'self' https://a.example https://b.example", "", ""},
		{"home not embeddable", []string{"https://blog.example.com"}, "/", "frame-ancestors 'self'", "SAMEORIGIN", "blog.example.com"},
		{"404 not embeddable", []string{"https://blog.example.com"}, "/nope", "frame-ancestors 'self'", "SAMEORIGIN", "blog.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := New(Config{EmbedOrigins: tt.embed})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.HasSuffix(csp, tt.wantCSP) || !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP %q, want it to end with %q", csp, tt.wantCSP)
			}
			if tt.notInCSP != "" && strings.Contains(csp, tt.notInCSP) {
				t.Errorf("CSP %q lets %s frame it", csp, tt.notInCSP)
			}
			if got := w.Header().Get("X-Frame-Options"); got != tt.wantXFO {
				t.Errorf("X-Frame-Options %q, want %q", got, tt.wantXFO)
			}
		})
	}
}
