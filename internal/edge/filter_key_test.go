package edge

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/ospreyvideo/osprey/internal/config"
)

// With the default cache_key_query, two different manifest filters are two
// cache entries, and each reaches the origin with its own query (MediaPackage's
// aws.manifestfilter too, raw ";" and ":" included); tokens do not split
// the cache and are not forwarded.
func TestCacheKeyManifestFilters(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []url.Values
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Query())
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		fmt.Fprintf(w, "#EXTM3U\n# filtered for %s\n", r.URL.RawQuery)
	})
	te := newTestEdge(t, Config{KeyQuery: config.DefaultEdge().CacheKeyQuery}, origin.URL)

	const aws = "video_height:1-720;video_bitrate:0-3000000"
	requests := []struct {
		query string
		want  url.Values // what the origin must have seen for it
	}{
		{"max_height=480&token=a", url.Values{"max_height": {"480"}}},
		{"max_height=720&token=a", url.Values{"max_height": {"720"}}},
		{"token=b&max_height=480", url.Values{"max_height": {"480"}}},
		{"max_height=720", url.Values{"max_height": {"720"}}},
		{"aws.manifestfilter=" + aws + "&Signature=x", url.Values{"aws.manifestfilter": {aws}}},
		{"aws.manifestfilter=" + url.QueryEscape(aws), url.Values{"aws.manifestfilter": {aws}}},
		{"codecs=avc1,mp4a&max_fps=30&min_bitrate=1&max_bitrate=2&min_height=3", url.Values{
			"codecs": {"avc1,mp4a"}, "max_fps": {"30"}, "min_bitrate": {"1"}, "max_bitrate": {"2"}, "min_height": {"3"}}},
	}
	bodies := map[string]string{}
	for _, rq := range requests {
		resp, body := get(t, te.srv.URL+"/live/ch/index.m3u8?"+rq.query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", rq.query, resp.StatusCode)
		}
		key := fmt.Sprint(rq.want)
		if prev, ok := bodies[key]; ok && prev != string(body) {
			t.Errorf("%s: body %q, the same filter gave %q", rq.query, body, prev)
		}
		bodies[key] = string(body)
	}
	if len(bodies) != 4 {
		t.Fatalf("%d distinct bodies, want 4", len(bodies))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 {
		t.Fatalf("origin requests = %d (%v), want 4: one per filter", len(seen), seen)
	}
	for _, rq := range requests {
		if !slices.ContainsFunc(seen, func(q url.Values) bool { return fmt.Sprint(q) == fmt.Sprint(rq.want) }) {
			t.Errorf("%s: the origin never saw query %v (saw %v)", rq.query, rq.want, seen)
		}
	}
}
