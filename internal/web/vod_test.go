package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestVODPage(t *testing.T) {
	t.Parallel()
	cat := &fakeCatalog{channels: map[string]bool{"ch_a": true}}
	srv := newTestServer(t, cat, nil)
	long := "as_" + strings.Repeat("x", 125)
	tests := []struct {
		name     string
		path     string
		status   int
		contains []string
		absent   []string
	}{
		{
			name:   "hls.js by default",
			path:   "/watch/vod/as_Ab-9_z",
			status: http.StatusOK,
			contains: []string{
				`data-asset="as_Ab-9_z"`, `data-engine="hls"`, `data-autoplay="true"`,
				`data-hls="/vod/as_Ab-9_z/index.m3u8"`, `data-dash="/vod/as_Ab-9_z/manifest.mpd"`,
				`data-thumbnails="/vod/as_Ab-9_z/thumbs/thumbnails.vtt"`,
				`poster="/vod/as_Ab-9_z/thumbs/poster.jpg"`,
				`<video id="video"`, `id="state"`, `id="rendition"`, `id="errors"`,
				`id="scrub"`, `id="preview-image"`, `id="quality"`, `id="subtitles"`,
				"This video is not ready yet or does not exist.",
				`href="?player=dash"`, `/assets/hls.min.`, `/assets/common.`, `/assets/vod.`, `/assets/osprey.`,
			},
			absent: []string{"dash.mediaplayer", "/assets/player.", "/live/"},
		},
		{
			name:     "dash.js with ?player=dash, as on the live page",
			path:     "/watch/vod/as_x?player=dash",
			status:   http.StatusOK,
			contains: []string{`data-engine="dash"`, `/assets/dash.mediaplayer.min.`, `href="?player=hls"`},
			absent:   []string{"/assets/hls.min."},
		},
		{
			name:     "dash.js with ?engine=dash",
			path:     "/watch/vod/as_x?engine=dash",
			status:   http.StatusOK,
			contains: []string{`data-engine="dash"`, `/assets/dash.mediaplayer.min.`},
		},
		{
			name:     "?player wins over ?engine",
			path:     "/watch/vod/as_x?player=hls&engine=dash",
			status:   http.StatusOK,
			contains: []string{`data-engine="hls"`},
		},
		{
			name:     "an unknown engine falls back to hls",
			path:     "/watch/vod/as_x?player=flash",
			status:   http.StatusOK,
			contains: []string{`data-engine="hls"`},
			absent:   []string{"flash"},
		},
		{
			name:     "autoplay off",
			path:     "/watch/vod/as_x?autoplay=0",
			status:   http.StatusOK,
			contains: []string{`data-autoplay="false"`},
		},
		{name: "longest ID", path: "/watch/vod/" + long, status: http.StatusOK, contains: []string{`data-asset="` + long + `"`}},
		{name: "ID too long", path: "/watch/vod/" + long + "x", status: http.StatusNotFound},
		{name: "a channel ID", path: "/watch/vod/ch_a", status: http.StatusNotFound},
		{name: "prefix only", path: "/watch/vod/as_", status: http.StatusNotFound},
		{name: "no prefix", path: "/watch/vod/abc", status: http.StatusNotFound},
		{name: "dot", path: "/watch/vod/as_a.b", status: http.StatusNotFound},
		{name: "markup", path: "/watch/vod/as_%3Cscript%3E", status: http.StatusNotFound, absent: []string{"<script>"}},
		{name: "encoded slash", path: "/watch/vod/as_a%2Fb", status: http.StatusNotFound},
		{name: "nested path", path: "/watch/vod/as_a/extra", status: http.StatusNotFound},
		{name: "no asset", path: "/watch/vod/", status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, http.MethodGet, srv.URL+tt.path, nil)
			checkPage(t, r, tt.status)
			if tt.status == http.StatusNotFound && (!strings.Contains(r.body, "<h1>Not found</h1>") || strings.Contains(r.body, "<video")) {
				t.Errorf("not the 404 page:\n%s", r.body)
			}
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
		})
	}
	if got := cat.lookups(); len(got) != 0 {
		t.Errorf("the VoD page looked up channels: %v", got)
	}
}

// The VoD page's own assets are served like the live page's.
func TestVODAssets(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeCatalog{}, nil)
	linked := map[string]bool{}
	for _, page := range []string{"/watch/vod/as_a", "/watch/vod/as_a?player=dash"} {
		body := do(t, http.MethodGet, srv.URL+page, nil).body
		for _, m := range scriptSrc.FindAllStringSubmatch(body, -1) {
			linked[m[1]] = true
		}
		for _, m := range vodStylesheet.FindAllStringSubmatch(body, -1) {
			linked[m[1]] = true
		}
	}
	for _, name := range []string{"common.js", "vod.js", "vod.css", "osprey.css", "hls.min.js", "dash.mediaplayer.min.js"} {
		url := findLinked(linked, name)
		if url == "" {
			t.Errorf("the VoD page does not link %s (linked: %v)", name, linked)
			continue
		}
		raw, err := embedded.ReadFile(staticDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, http.MethodGet, srv.URL+url, nil)
		if r.status != http.StatusOK || r.body != string(raw) || r.header.Get("Cache-Control") != immutableTTL {
			t.Errorf("%s: status %d, %d bytes (want %d), Cache-Control %q", url, r.status, len(r.body), len(raw), r.header.Get("Cache-Control"))
		}
	}
	head := do(t, http.MethodHead, srv.URL+"/watch/vod/as_a", nil)
	if head.status != http.StatusOK || head.body != "" || head.header.Get("Content-Security-Policy") != contentSecurityPolicy {
		t.Errorf("HEAD: %d, %d bytes, CSP %q", head.status, len(head.body), head.header.Get("Content-Security-Policy"))
	}
}

// The page script reads the hooks and elements the template provides, and
// keeps the state fields the browser harness (test/e2e/browser/play.mjs)
// reads from window.osprey.
func TestVODScriptMatchesPage(t *testing.T) {
	t.Parallel()
	js, err := embedded.ReadFile(staticDir + "/vod.js")
	if err != nil {
		t.Fatal(err)
	}
	page, err := embedded.ReadFile(pagesDir + "/vod.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range vodElementID.FindAllStringSubmatch(string(js), -1) {
		if !strings.Contains(string(page), `id="`+id[1]+`"`) {
			t.Errorf("vod.js uses #%s, which vod.html lacks", id[1])
		}
	}
	for _, attr := range vodDataset.FindAllStringSubmatch(string(js), -1) {
		if !strings.Contains(string(page), "data-"+attr[1]+"=") {
			t.Errorf("vod.js reads data-%s, which vod.html does not set", attr[1])
		}
	}
	for _, field := range []string{"engine:", "state:", "rendition:", "renditions:", "errors:", "window.osprey = osprey"} {
		if !strings.Contains(string(js), field) {
			t.Errorf("vod.js lacks %q", field)
		}
	}
}

func TestValidAssetID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"as_AbC-09_", true},
		{"as_", false},
		{"as", false},
		{"ch_abc", false},
		{"AS_abc", false},
		{"as_a.b", false},
		{"as_a/b", false},
		{"as_é", false},
		{"as_" + strings.Repeat("a", 125), true},
		{"as_" + strings.Repeat("a", 126), false},
	}
	for _, tt := range tests {
		if got := validAssetID(tt.id); got != tt.want {
			t.Errorf("validAssetID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

var (
	vodStylesheet = regexp.MustCompile(`<link rel="stylesheet" href="(/assets/[^"]+)">`)
	vodElementID  = regexp.MustCompile(`\$\('([a-z-]+)'\)`)
	vodDataset    = regexp.MustCompile(`body\.dataset\.([a-z]+)`)
)
