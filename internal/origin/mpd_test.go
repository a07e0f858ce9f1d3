package origin

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestRewriteUTCTiming(t *testing.T) {
	t.Parallel()
	const base = "https://cdn.example"
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"root-relative", `<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/time"/>`,
			`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="https://cdn.example/time"/>`, true},
		{"single quotes", `<UTCTiming value='/time' schemeIdUri="x"/>`, `<UTCTiming value='https://cdn.example/time' schemeIdUri="x"/>`, true},
		{"list of URLs", `<UTCTiming value="/time https://other/t /t2"/>`, `<UTCTiming value="https://cdn.example/time https://other/t https://cdn.example/t2"/>`, true},
		{"two elements", `<UTCTiming value="/a"/><UTCTiming value="http://x/b"/><UTCTiming value="/c"/>`,
			`<UTCTiming value="https://cdn.example/a"/><UTCTiming value="http://x/b"/><UTCTiming value="https://cdn.example/c"/>`, true},
		{"absolute", `<UTCTiming value="https://time.example/iso"/>`, "", false},
		{"protocol-relative", `<UTCTiming value="//time.example/iso"/>`, "", false},
		{"direct scheme", `<UTCTiming schemeIdUri="urn:mpeg:dash:utc:direct:2014" value="2026-11-21T14:00:00Z"/>`, "", false},
		{"value elsewhere untouched", `<BaseURL value="/x"/><UTCTiming value="/time"/>`, `<BaseURL value="/x"/><UTCTiming value="https://cdn.example/time"/>`, true},
		{"longer element name", `<UTCTimingX value="/time"/>`, "", false},
		{"longer name, then a real one", `<UTCTimingX value="/a"/><UTCTiming value="/b"/>`, `<UTCTimingX value="/a"/><UTCTiming value="https://cdn.example/b"/>`, true},
		{"no UTCTiming", `<MPD type="dynamic"/>`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := "<MPD>" + tc.in + "</MPD>"
			got, changed := rewriteUTCTiming([]byte(in), base)
			if changed != tc.changed {
				t.Fatalf("changed = %v, want %v (%s)", changed, tc.changed, got)
			}
			want := in
			if tc.changed {
				want = "<MPD>" + tc.want + "</MPD>"
			}
			if string(got) != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestMPDUTCTimingServed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		publicURL string
		host      string
		hdr       []string
		tls       bool
		want      string // the UTCTiming value served
	}{
		{"public URL", "https://cdn.example.com/", "internal:8080", nil, false, "https://cdn.example.com/time"},
		{"public URL with path", "https://example.com/osprey", "internal:8080", nil, false, "https://example.com/osprey/time"},
		{"public URL is escaped", "https://example.com/a&b", "internal", nil, false, "https://example.com/a&amp;b/time"},
		// Without a public URL the value stays root-relative, whatever
		// the request says about itself: the same MPD for every viewer.
		{"no public URL", "", "origin.test:8080", nil, false, "/time"},
		{"X-Forwarded-Proto ignored", "", "origin.test", []string{"X-Forwarded-Proto", "https"}, false, "/time"},
		{"X-Forwarded-Host ignored", "", "origin.test", []string{"X-Forwarded-Host", "evil.example"}, false, "/time"},
		{"TLS", "", "secure.test", nil, true, "/time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{PublicURL: tc.publicURL, AllowOrigin: "*"})
			e.put(t, "live/ch/manifest.mpd", liveMPD)
			r := httptest.NewRequest("GET", "/live/ch/manifest.mpd", nil)
			r.Host = tc.host
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				r.Header.Set(tc.hdr[i], tc.hdr[i+1])
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			e.o.ServeHTTP(w, r)
			wantStatus(t, w, http.StatusOK)
			if want := `value="` + tc.want + `"`; !strings.Contains(w.Body.String(), want) {
				t.Fatalf("body lacks %s:\n%s", want, w.Body.String())
			}
			wantHeader(t, w, "Content-Length", strconv.Itoa(w.Body.Len()))
			if vary := w.Header().Values("Vary"); len(vary) != 1 || vary[0] != "Accept-Encoding" {
				t.Fatalf("Vary %q, want only Accept-Encoding (anything else keeps the MPD out of CDN caches)", vary)
			}
		})
	}
}

func TestMPDRewriteValidators(t *testing.T) {
	t.Parallel()
	a := newEnv(t, Config{PublicURL: "https://a.example", AllowOrigin: "*"})
	b := newEnv(t, Config{PublicURL: "https://b.example", AllowOrigin: "*"})
	info := a.put(t, "live/ch/manifest.mpd", liveMPD)
	b.put(t, "live/ch/manifest.mpd", liveMPD)
	plain := a.put(t, "live/ch/plain.mpd", staticMPD)

	get := func(e *env, hdr ...string) *httptest.ResponseRecorder {
		return e.do("GET", "/live/ch/manifest.mpd", hdr...)
	}
	a1, a2, b1 := get(a), get(a), get(b)
	tagA, tagB := a1.Header().Get("ETag"), b1.Header().Get("ETag")
	if tagA != a2.Header().Get("ETag") {
		t.Fatal("same public URL, different ETags")
	}
	if tagA == tagB && a1.Body.String() != b1.Body.String() {
		t.Fatalf("public URLs a and b share ETag %s although their bodies differ", tagA)
	}
	if tagA == `"`+info.ETag+`"` {
		t.Fatal("rewritten MPD carries the stored object's ETag")
	}
	// Conditional requests use the rewritten representation's ETag.
	wantStatus(t, get(a, "If-None-Match", tagA), http.StatusNotModified)
	// And gzip composes with it.
	gz := get(a, "Accept-Encoding", "gzip")
	gzTag := gz.Header().Get("ETag")
	if gzTag != strings.TrimSuffix(tagA, `"`)+`--gzip"` {
		t.Fatalf("gzip ETag %s, want %s with --gzip", gzTag, tagA)
	}
	if body := gunzip(t, gz.Body.Bytes()); body != a1.Body.String() {
		t.Fatal("gzip body differs from the rewritten identity body")
	}
	wantStatus(t, get(a, "Accept-Encoding", "gzip", "If-None-Match", gzTag), http.StatusNotModified)

	// Without a public URL the MPD is served as stored, with its ETag,
	// whatever Host the request names.
	n := newEnv(t, DefaultConfig())
	stored := n.put(t, "live/ch/manifest.mpd", liveMPD)
	r := httptest.NewRequest("GET", "/live/ch/manifest.mpd", nil)
	r.Host = "a.example"
	w := httptest.NewRecorder()
	n.o.ServeHTTP(w, r)
	wantStatus(t, w, http.StatusOK)
	if w.Body.String() != liveMPD {
		t.Fatalf("the MPD changed without a public URL:\n%s", w.Body.String())
	}
	wantHeader(t, w, "ETag", `"`+stored.ETag+`"`)
	// An MPD without UTCTiming keeps the stored ETag.
	wantHeader(t, a.do("GET", "/live/ch/plain.mpd"), "ETag", `"`+plain.ETag+`"`)
}
