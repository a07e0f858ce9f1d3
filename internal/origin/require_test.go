package origin

import (
	"net/http"
	"testing"
)

// With RequireHeader set, only requests carrying the exact value (the
// edge's CDN identifier) are served.
func TestRequireHeader(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RequireHeader, cfg.RequireValue = "X-Osprey-Cdn-Identifier", "s3cret"
	e := newEnv(t, cfg)
	e.put(t, "vod/a/index.m3u8", "#EXTM3U\n#EXT-X-ENDLIST\n")
	tests := []struct {
		name   string
		hdr    []string
		status int
	}{
		{"without the header", nil, http.StatusForbidden},
		{"wrong value", []string{"X-Osprey-CDN-Identifier", "guess"}, http.StatusForbidden},
		{"prefix of the value", []string{"X-Osprey-CDN-Identifier", "s3cre"}, http.StatusForbidden},
		{"right value", []string{"X-Osprey-CDN-Identifier", "s3cret"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(http.MethodGet, "/vod/a/index.m3u8", tt.hdr...)
			wantStatus(t, w, tt.status)
			if tt.status == http.StatusForbidden && w.Header().Get("Cache-Control") != ccError {
				t.Errorf("403 Cache-Control = %q", w.Header().Get("Cache-Control"))
			}
		})
	}
}
