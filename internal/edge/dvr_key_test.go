package edge

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	originpkg "github.com/ospreyvideo/osprey/internal/origin"
)

// ?start= and ?end= (time-shifted playlists) split the cache and reach the
// origin, even with a cache_key_query that does not list them; other
// parameters still do neither.
func TestCacheKeyTimeShift(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		fmt.Fprintf(w, "#EXTM3U\n# %s\n", r.URL.RawQuery)
	})
	te := newTestEdge(t, Config{KeyQuery: []string{"player"}}, origin.URL)

	const a, b = "2026-12-07T20:00:00.000Z", "2026-12-07T20:10:00.000Z"
	requests := []struct {
		query string
		want  string // the origin's query: one request per distinct one
	}{
		{"", ""},
		{"start=" + a, "start=" + url.QueryEscape(a)},
		{"start=" + b, "start=" + url.QueryEscape(b)},
		{"start=" + a + "&end=" + b, "end=" + url.QueryEscape(b) + "&start=" + url.QueryEscape(a)},
		{"token=x&end=" + b + "&start=" + a, "end=" + url.QueryEscape(b) + "&start=" + url.QueryEscape(a)}, // a hit
		{"start=" + url.QueryEscape(a) + "&sig=1", "start=" + url.QueryEscape(a)},                          // a hit
	}
	for _, rq := range requests {
		resp, body := get(t, te.srv.URL+"/live/ch/index.m3u8?"+rq.query)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", rq.query, resp.StatusCode)
		}
		if want := "#EXTM3U\n# " + rq.want + "\n"; string(body) != want {
			t.Errorf("%s: body %q, want %q", rq.query, body, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"", "start=" + url.QueryEscape(a), "start=" + url.QueryEscape(b), "end=" + url.QueryEscape(b) + "&start=" + url.QueryEscape(a)}
	if !slices.Equal(seen, want) {
		t.Errorf("origin saw %q, want %q", seen, want)
	}
}

// The edge keeps exactly the parameters the origin reads a span from.
func TestTimeShiftParamsAreTheOrigins(t *testing.T) {
	if !slices.Equal(timeShiftParams, originpkg.TimeShiftParams()) {
		t.Errorf("edge keeps %v, the origin reads %v", timeShiftParams, originpkg.TimeShiftParams())
	}
}
