package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// fakeCatalog answers ChannelExists from a fixed set and records the lookups.
type fakeCatalog struct {
	mu       sync.Mutex
	channels map[string]bool
	err      error
	asked    []string
}

func (f *fakeCatalog) exists(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, id)
	return f.channels[id], f.err
}

func (f *fakeCatalog) lookups() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

func newTestServer(t *testing.T, cat *fakeCatalog, log *slog.Logger) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{ChannelExists: cat.exists, Logger: log}))
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A transport that does not ask for gzip by itself, so that
	// Content-Encoding is what the test asked for.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading %s %s: %v", method, url, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

var (
	scriptTag     = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	scriptSrc     = regexp.MustCompile(`\bsrc="(/assets/[^"]+)"`)
	stylesheetTag = regexp.MustCompile(`<link rel="stylesheet" href="(/assets/[^"]+)">`)
	inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
)

// checkPage asserts what every page shares: HTML, no caching of the page
// itself, a strict CSP, and nothing inline that such a CSP would block.
func checkPage(t *testing.T, r response, wantStatus int) {
	t.Helper()
	if r.status != wantStatus {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, wantStatus, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "media-src 'self' blob:"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	if !strings.HasPrefix(r.body, "<!doctype html>") {
		t.Errorf("body does not start with a doctype: %.60q", r.body)
	}
	for _, m := range scriptTag.FindAllStringSubmatch(r.body, -1) {
		if !scriptSrc.MatchString(m[1]) || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline or foreign script: %s", m[0])
		}
	}
	if inlineHandler.MatchString(r.body) {
		t.Errorf("inline event handler in page:\n%s", r.body)
	}
	if strings.Contains(r.body, " style=") {
		t.Errorf("inline style attribute in page")
	}
	if strings.Contains(r.body, "//cdn") || strings.Contains(r.body, "https://") {
		t.Errorf("page links another origin:\n%s", r.body)
	}
}

func TestPages(t *testing.T) {
	t.Parallel()
	cat := &fakeCatalog{channels: map[string]bool{"ch_live1": true}}
	srv := newTestServer(t, cat, nil)
	tests := []struct {
		name       string
		path       string
		status     int
		contains   []string
		absent     []string
		wantLookup bool
	}{
		{
			name:     "landing",
			path:     "/",
			status:   http.StatusOK,
			contains: []string{"<h1>Osprey</h1>", "/watch/"},
		},
		{
			name:   "watch with hls.js by default",
			path:   "/watch/ch_live1",
			status: http.StatusOK,
			contains: []string{
				`data-channel="ch_live1"`, `data-engine="hls"`,
				`data-hls="/live/ch_live1/index.m3u8"`, `data-dash="/live/ch_live1/manifest.mpd"`, `data-time="/time"`,
				`<video id="video"`, `id="state"`, `id="rendition"`, `id="errors"`,
				`href="?player=dash"`, `/assets/hls.min.`, `/assets/common.`, `/assets/player.`,
			},
			absent:     []string{"dash.mediaplayer"},
			wantLookup: true,
		},
		{
			name:       "watch with dash.js",
			path:       "/watch/ch_live1?player=dash",
			status:     http.StatusOK,
			contains:   []string{`data-engine="dash"`, `/assets/dash.mediaplayer.min.`, `/assets/common.`, `/assets/player.`, `href="?player=hls"`},
			absent:     []string{"/assets/hls.min."},
			wantLookup: true,
		},
		{
			name:       "an unknown player falls back to hls",
			path:       "/watch/ch_live1?player=flash",
			status:     http.StatusOK,
			contains:   []string{`data-engine="hls"`},
			absent:     []string{"flash"},
			wantLookup: true,
		},
		{
			name:       "unknown channel",
			path:       "/watch/ch_nope",
			status:     http.StatusNotFound,
			contains:   []string{"<h1>Not found</h1>", "ch_nope"},
			absent:     []string{"<video", "player."},
			wantLookup: true,
		},
		{
			name:     "malformed channel ID is not looked up",
			path:     "/watch/ch%3Cscript%3E",
			status:   http.StatusNotFound,
			contains: []string{"<h1>Not found</h1>"},
			absent:   []string{"<script>"},
		},
		{
			name:     "no channel",
			path:     "/watch/",
			status:   http.StatusNotFound,
			contains: []string{"<h1>Not found</h1>"},
		},
		{
			name:     "nested path under a channel",
			path:     "/watch/ch_live1/extra",
			status:   http.StatusNotFound,
			contains: []string{"<h1>Not found</h1>"},
		},
		{
			name:     "unknown path",
			path:     "/no/such/page",
			status:   http.StatusNotFound,
			contains: []string{"nothing at this address"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(cat.lookups())
			r := do(t, http.MethodGet, srv.URL+tt.path, nil)
			checkPage(t, r, tt.status)
			for _, s := range tt.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(r.body, s) {
					t.Errorf("page has %q", s)
				}
			}
			if looked := len(cat.lookups()) > before; looked != tt.wantLookup {
				t.Errorf("ChannelExists called: %v, want %v (lookups %v)", looked, tt.wantLookup, cat.lookups())
			}
		})
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeCatalog{channels: map[string]bool{"ch_a": true}}, nil)
	for _, path := range []string{"/", "/watch/ch_a", "/watch/ch_missing", "/assets/player.js"} {
		t.Run(path, func(t *testing.T) {
			get := do(t, http.MethodGet, srv.URL+path, nil)
			head := do(t, http.MethodHead, srv.URL+path, nil)
			if head.status != get.status {
				t.Errorf("HEAD status %d, GET %d", head.status, get.status)
			}
			if head.body != "" {
				t.Errorf("HEAD has a body of %d bytes", len(head.body))
			}
			for _, h := range []string{"Content-Type", "Content-Length", "Cache-Control"} {
				if head.header.Get(h) != get.header.Get(h) {
					t.Errorf("%s: HEAD %q, GET %q", h, head.header.Get(h), get.header.Get(h))
				}
			}
			if get.header.Get("Content-Length") == "" {
				t.Errorf("GET has no Content-Length")
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeCatalog{channels: map[string]bool{"ch_a": true}}, nil)
	if r := do(t, http.MethodPost, srv.URL+"/watch/ch_a", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /watch/ch_a: %d, want 405", r.status)
	}
}

func TestChannelLookupFailure(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	srv := newTestServer(t, &fakeCatalog{err: errors.New("database is locked")}, log)
	r := do(t, http.MethodGet, srv.URL+"/watch/ch_a", nil)
	checkPage(t, r, http.StatusInternalServerError)
	if strings.Contains(r.body, "database is locked") {
		t.Errorf("the page leaks the internal error")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "database is locked") || !strings.Contains(logs.String(), "ch_a") {
		t.Errorf("the failure was not logged with its channel: %q", logs.String())
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestNilChannelExistsAcceptsWellFormedIDs(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Config{}))
	t.Cleanup(srv.Close)
	if r := do(t, http.MethodGet, srv.URL+"/watch/ch_any", nil); r.status != http.StatusOK {
		t.Errorf("/watch/ch_any: %d, want 200", r.status)
	}
	if r := do(t, http.MethodGet, srv.URL+"/watch/a.b", nil); r.status != http.StatusNotFound {
		t.Errorf("/watch/a.b: %d, want 404", r.status)
	}
}

// TestAssetsLinkedByPages fetches every script and stylesheet the pages link
// and checks it is the embedded file, served as immutable.
func TestAssetsLinkedByPages(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeCatalog{channels: map[string]bool{"ch_a": true}}, nil)
	linked := map[string]bool{}
	for _, page := range []string{"/", "/watch/ch_a", "/watch/ch_a?player=dash"} {
		body := do(t, http.MethodGet, srv.URL+page, nil).body
		for _, m := range scriptSrc.FindAllStringSubmatch(body, -1) {
			linked[m[1]] = true
		}
		for _, m := range stylesheetTag.FindAllStringSubmatch(body, -1) {
			linked[m[1]] = true
		}
	}
	want := []string{"hls.min.js", "dash.mediaplayer.min.js", "common.js", "player.js", "osprey.css"}
	if len(linked) != len(want) {
		t.Errorf("pages link %d assets, want %d: %v", len(linked), len(want), linked)
	}
	for _, name := range want {
		raw, err := embedded.ReadFile(staticDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		url := findLinked(linked, name)
		if url == "" {
			t.Errorf("no page links %s (linked: %v)", name, linked)
			continue
		}
		r := do(t, http.MethodGet, srv.URL+url, nil)
		if r.status != http.StatusOK {
			t.Errorf("%s: status %d", url, r.status)
			continue
		}
		if r.body != string(raw) {
			t.Errorf("%s: body differs from the embedded %s", url, name)
		}
		if cc := r.header.Get("Cache-Control"); cc != immutableTTL {
			t.Errorf("%s: Cache-Control %q, want %q", url, cc, immutableTTL)
		}
		wantType := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}[name[strings.LastIndex(name, "."):]]
		if ct := r.header.Get("Content-Type"); ct != wantType {
			t.Errorf("%s: Content-Type %q, want %q", url, ct, wantType)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", url)
		}
	}
}

func findLinked(linked map[string]bool, name string) string {
	dot := strings.LastIndex(name, ".")
	re := regexp.MustCompile("^/assets/" + regexp.QuoteMeta(name[:dot]) + `\.[0-9a-f]{10}` + regexp.QuoteMeta(name[dot:]) + "$")
	for url := range linked {
		if re.MatchString(url) {
			return url
		}
	}
	return ""
}

func TestAssetServing(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeCatalog{}, nil)
	raw, err := embedded.ReadFile(staticDir + "/hls.min.js")
	if err != nil {
		t.Fatal(err)
	}
	set, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	hashedURL, err := set.url("hls.min.js")
	if err != nil {
		t.Fatal(err)
	}
	etag := set.byName["hls.min.js"].etag

	t.Run("plain name is revalidated", func(t *testing.T) {
		r := do(t, http.MethodGet, srv.URL+"/assets/hls.min.js", nil)
		if r.status != http.StatusOK || r.body != string(raw) {
			t.Fatalf("status %d, %d bytes; want 200 and %d bytes", r.status, len(r.body), len(raw))
		}
		if cc := r.header.Get("Cache-Control"); cc != revalidateTTL {
			t.Errorf("Cache-Control %q, want %q", cc, revalidateTTL)
		}
		if r.header.Get("ETag") != etag {
			t.Errorf("ETag %q, want %q", r.header.Get("ETag"), etag)
		}
	})
	t.Run("conditional request", func(t *testing.T) {
		r := do(t, http.MethodGet, srv.URL+hashedURL, map[string]string{"If-None-Match": etag})
		if r.status != http.StatusNotModified {
			t.Errorf("status %d, want 304", r.status)
		}
	})
	t.Run("gzip when accepted", func(t *testing.T) {
		r := do(t, http.MethodGet, srv.URL+hashedURL, map[string]string{"Accept-Encoding": "br, gzip"})
		if r.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", r.header.Get("Content-Encoding"))
		}
		if len(r.body) >= len(raw)/2 {
			t.Errorf("gzip body is %d bytes of %d", len(r.body), len(raw))
		}
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(plain, raw) {
			t.Errorf("gunzipped body differs from the embedded file")
		}
		if r.header.Get("ETag") == etag {
			t.Errorf("the gzip variant shares the identity ETag %q", etag)
		}
		if !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("no Vary: Accept-Encoding")
		}
	})
	t.Run("identity when gzip is refused", func(t *testing.T) {
		r := do(t, http.MethodGet, srv.URL+hashedURL, map[string]string{"Accept-Encoding": "gzip;q=0, *"})
		if r.header.Get("Content-Encoding") != "" || r.body != string(raw) {
			t.Errorf("Content-Encoding %q, %d bytes; want identity", r.header.Get("Content-Encoding"), len(r.body))
		}
	})
	t.Run("range", func(t *testing.T) {
		r := do(t, http.MethodGet, srv.URL+hashedURL, map[string]string{"Range": "bytes=0-99"})
		if r.status != http.StatusPartialContent || r.body != string(raw[:100]) {
			t.Errorf("status %d, %d bytes; want 206 and the first 100 bytes", r.status, len(r.body))
		}
	})
	for _, path := range []string{"/assets/nope.js", "/assets/hls.min.0000000000.js", "/assets/", "/assets/VENDOR.sha256", "/assets/watch.html"} {
		t.Run("missing "+path, func(t *testing.T) {
			r := do(t, http.MethodGet, srv.URL+path, nil)
			if r.status != http.StatusNotFound {
				t.Errorf("status %d, want 404", r.status)
			}
		})
	}
}

func TestHashedName(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"player.js", "player.abc.js"},
		{"hls.min.js", "hls.min.abc.js"},
		{"hls.js.LICENSE", "hls.js.abc.LICENSE"},
		{"README", "README.abc"},
	}
	for _, tt := range tests {
		if got := hashedName(tt.name, "abc"); got != tt.want {
			t.Errorf("hashedName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestValidChannelID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"ch_AbC-09", true},
		{"", false},
		{"a.b", false},
		{"a/b", false},
		{"a b", false},
		{"ch_é", false},
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		if got := validChannelID(tt.id); got != tt.want {
			t.Errorf("validChannelID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
