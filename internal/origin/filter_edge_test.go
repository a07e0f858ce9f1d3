package origin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/edge"
	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// The edge's default cache key keeps every filter parameter: each filter
// is its own cache entry, forwarded to the origin, which filters.
func TestFilterParamsInDefaultEdgeKey(t *testing.T) {
	t.Parallel()
	keys := config.DefaultEdge().CacheKeyQuery
	for _, name := range origin.FilterParams() {
		if !slices.Contains(keys, name) {
			t.Errorf("edge.cache_key_query default %v lacks %q", keys, name)
		}
	}
}

// Filtered manifests through a real edge with the default key list, in
// front of a real origin: one origin request per filter, each with its
// query, answered from the cache afterwards; other parameters (tokens) do
// not split the cache.
func TestFilteredManifestsThroughTheEdge(t *testing.T) {
	t.Parallel()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for key, file := range map[string]string{"live/ch/index.m3u8": "ladder4.m3u8", "live/ch/manifest.mpd": "ladder4.mpd"} {
		b, err := os.ReadFile("testdata/filter/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(context.Background(), key, b); err != nil {
			t.Fatal(err)
		}
	}
	cfg := origin.DefaultConfig()
	cfg.SegmentDuration = 20 * time.Second // manifests fresh for 10 s: repeats are hits
	o := origin.New(st, cfg, nil)
	var mu sync.Mutex
	var seen []string // origin requests: path?query
	originSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		o.ServeHTTP(w, r)
	}))
	t.Cleanup(originSrv.Close)
	e, err := edge.New(edge.Config{
		Origins:  []string{originSrv.URL},
		Cache:    cache.Config{MemoryBytes: 16 << 20},
		KeyQuery: config.DefaultEdge().CacheKeyQuery,
	})
	if err != nil {
		t.Fatal(err)
	}
	edgeSrv := httptest.NewServer(e)
	t.Cleanup(func() { edgeSrv.Close(); e.Close() })

	aws := "aws.manifestfilter=" + url.QueryEscape("video_height:1-720;video_bitrate:0-3000000")
	for _, path := range []string{"/live/ch/index.m3u8", "/live/ch/manifest.mpd"} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		for _, tc := range []struct {
			query  string
			status int
			cached bool   // answered from the edge's cache
			want   string // in the body
			absent string // not in the body
		}{
			{"max_height=480&token=a", 200, false, "480", "720"},
			{"token=b&max_height=480", 200, true, "480", "720"},
			{"max_height=720", 200, false, "720", "1080"},
			{"max_height=720&CMCD=br%3D3200", 200, true, "720", "1080"},
			{aws, 200, false, "480", "1080"},
			{aws + "&token=c", 200, true, "480", "1080"},
			{"", 200, false, "1080", ""},
			{"max_height=1", 400, false, "no video rendition", "#EXTM3U"},
			{"max_height=1", 400, false, "no video rendition", "#EXTM3U"}, // a 400 is not cached
		} {
			resp, body := fetch(t, edgeSrv.URL+path+"?"+tc.query)
			if resp.StatusCode != tc.status {
				t.Fatalf("%s?%s: status %d (%s)", path, tc.query, resp.StatusCode, body)
			}
			if hit := strings.Contains(resp.Header.Get("Cache-Status"), "; hit"); hit != tc.cached {
				t.Errorf("%s?%s: Cache-Status %q, want cached=%v", path, tc.query, resp.Header.Get("Cache-Status"), tc.cached)
			}
			if !strings.Contains(body, tc.want) || tc.absent != "" && strings.Contains(body, tc.absent) {
				t.Errorf("%s?%s: body should have %q and not %q:\n%s", path, tc.query, tc.want, tc.absent, body)
			}
		}
		mu.Lock()
		got := slices.Clone(seen)
		mu.Unlock()
		want := []string{path + "?max_height=480", path + "?max_height=720", path + "?" + aws, path + "?", path + "?max_height=1", path + "?max_height=1"}
		if !slices.Equal(got, want) {
			t.Errorf("origin requests %q, want %q", got, want)
		}
	}
}
