package web

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// hashedAsset takes a hashed asset URL apart: /assets/common.0123456789.js.
var hashedAsset = regexp.MustCompile(`^/assets/(.+)\.[0-9a-f]{10}(\.[^./]+)$`)

// TestPlayerPagesLoadCommonFirst checks that each player page runs its
// engine, then common.js, then its own script, all deferred (deferred scripts
// run in document order), and that the page scripts build on what common.js
// defines.
func TestPlayerPagesLoadCommonFirst(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeCatalog{channels: map[string]bool{"ch_a": true}}, nil)
	tests := []struct {
		path string
		want []string
	}{
		{"/watch/ch_a", []string{"hls.min.js", "common.js", "player.js"}},
		{"/watch/ch_a?player=dash", []string{"dash.mediaplayer.min.js", "common.js", "player.js"}},
		{"/watch/vod/as_a", []string{"hls.min.js", "common.js", "vod.js"}},
		{"/watch/vod/as_a?player=dash", []string{"dash.mediaplayer.min.js", "common.js", "vod.js"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := do(t, http.MethodGet, srv.URL+tt.path, nil)
			checkPage(t, r, http.StatusOK)
			var got []string
			for _, tag := range scriptTag.FindAllStringSubmatch(r.body, -1) {
				src := scriptSrc.FindStringSubmatch(tag[1])
				if src == nil {
					continue // checkPage reports it
				}
				m := hashedAsset.FindStringSubmatch(src[1])
				if m == nil {
					t.Errorf("script %s is not a hashed asset URL", src[1])
					continue
				}
				got = append(got, m[1]+m[2])
				if !strings.Contains(tag[1], " defer") {
					t.Errorf("%s is not deferred: %s", src[1], tag[0])
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("scripts %v, want %v in this order", got, tt.want)
			}
		})
	}

	read := func(name string) string {
		b, err := embedded.ReadFile(staticDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if !strings.Contains(read("common.js"), "window.OspreyCommon = ") {
		t.Errorf("common.js does not define window.OspreyCommon")
	}
	for _, name := range []string{"player.js", "vod.js"} {
		js := read(name)
		for _, want := range []string{"= window.OspreyCommon;", "createCore(", "window.osprey = osprey"} {
			if !strings.Contains(js, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}
