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
		{"from Host", "", "origin.test:8080", nil, false, "http://origin.test:8080/time"},
		{"from X-Forwarded-Proto", "", "origin.test", []string{"X-Forwarded-Proto", "https"}, false, "https://origin.test/time"},
		{"from X-Forwarded-Proto list", "", "origin.test", []string{"X-Forwarded-Proto", "HTTPS, http"}, false, "https://origin.test/time"},
		{"from TLS", "", "secure.test", nil, true, "https://secure.test/time"},
		{"IPv6 host", "", "[::1]:8080", nil, false, "http://[::1]:8080/time"},
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
			fromRequest := tc.publicURL == ""
			if got := varyHas(w.Header(), "X-Forwarded-Proto"); got != fromRequest {
				t.Fatalf("Vary X-Forwarded-Proto = %v, want %v", got, fromRequest)
			}
		})
	}
}

func TestMPDRewriteValidators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	info := e.put(t, "live/ch/manifest.mpd", liveMPD)
	plain := e.put(t, "live/ch/plain.mpd", staticMPD)

	get := func(host string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/live/ch/manifest.mpd", nil)
		r.Host = host
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		e.o.ServeHTTP(w, r)
		return w
	}
	a1, a2, b := get("a.example"), get("a.example"), get("b.example")
	tagA, tagB := a1.Header().Get("ETag"), b.Header().Get("ETag")
	if tagA != a2.Header().Get("ETag") {
		t.Fatal("same host, different ETags")
	}
	if tagA == tagB {
		t.Fatalf("hosts a and b share ETag %s although their bodies differ", tagA)
	}
	if tagA == `"`+info.ETag+`"` {
		t.Fatal("rewritten MPD carries the stored object's ETag")
	}
	// Conditional requests use the rewritten representation's ETag.
	wantStatus(t, get("a.example", "If-None-Match", tagA), http.StatusNotModified)
	wantStatus(t, get("b.example", "If-None-Match", tagA), http.StatusOK)
	// And gzip composes with it.
	gz := get("a.example", "Accept-Encoding", "gzip")
	gzTag := gz.Header().Get("ETag")
	if gzTag != strings.TrimSuffix(tagA, `"`)+`--gzip"` {
		t.Fatalf("gzip ETag %s, want %s with --gzip", gzTag, tagA)
	}
	if body := gunzip(t, gz.Body.Bytes()); body != a1.Body.String() {
		t.Fatal("gzip body differs from the rewritten identity body")
	}
	wantStatus(t, get("a.example", "Accept-Encoding", "gzip", "If-None-Match", gzTag), http.StatusNotModified)

	// A Host unsafe to put in XML is not used.
	w := get(`evil"host`)
	wantStatus(t, w, http.StatusOK)
	if w.Body.String() != liveMPD {
		t.Fatalf("unsafe Host changed the MPD:\n%s", w.Body.String())
	}
	// An MPD without UTCTiming keeps the stored ETag.
	wantHeader(t, e.do("GET", "/live/ch/plain.mpd"), "ETag", `"`+plain.ETag+`"`)
}
