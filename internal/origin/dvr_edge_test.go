package origin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/edge"
	"github.com/ospreyvideo/osprey/internal/edge/cache"
)

// Through a real edge with the default cache key: the window JSON, a
// time-shifted multivariant playlist and the media playlist it lists all
// come through, each span its own cache entry, distinct from the live
// playlist's.
func TestDVRThroughTheEdge(t *testing.T) {
	t.Parallel()
	e, _ := dvrEnv(t)
	originSrv := httptest.NewServer(e.o)
	t.Cleanup(originSrv.Close)
	ed, err := edge.New(edge.Config{
		Origins:  []string{originSrv.URL},
		Cache:    cache.Config{MemoryBytes: 16 << 20},
		KeyQuery: config.DefaultEdge().CacheKeyQuery,
	})
	if err != nil {
		t.Fatal(err)
	}
	edgeSrv := httptest.NewServer(ed)
	t.Cleanup(func() { edgeSrv.Close(); ed.Close() })
	get := func(u string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b), resp.Header.Get("Cache-Status")
	}

	status, body, _ := get(edgeSrv.URL + "/live/ch/" + dvrWindowName)
	if status != http.StatusOK || !strings.Contains(body, `"from":"2026-12-07T20:00:00.000Z"`) {
		t.Fatalf("window: %d %s", status, body)
	}
	live := edgeSrv.URL + "/live/ch/index.m3u8"
	if status, body, _ = get(live); status != http.StatusOK || !strings.Contains(body, "the live multivariant") {
		t.Fatalf("live: %d %s", status, body)
	}
	for _, span := range []struct {
		start, end time.Time
		segs       int
	}{{dvrAt(3), dvrAt(9), 4}, {dvrAt(11), dvrAt(15), 3}} {
		status, body, _ = get(live + "?token=x&" + spanQuery(span.start, span.end))
		if status != http.StatusOK || strings.Contains(body, "the live multivariant") {
			t.Fatalf("span %v: %d %s", span, status, body)
		}
		var media string
		for l := range strings.SplitSeq(body, "\n") {
			if strings.HasPrefix(l, "s1/720p/") {
				media = l
			}
		}
		if media == "" {
			t.Fatalf("no 720p playlist in\n%s", body)
		}
		for i, wantHit := range []bool{false, true} {
			status, pl, cs := get(edgeSrv.URL + "/live/ch/" + media)
			if status != http.StatusOK || !strings.Contains(pl, "#EXT-X-ENDLIST") || strings.Count(pl, ".m4s\n") != span.segs {
				t.Fatalf("%s: %d\n%s", media, status, pl)
			}
			if hit := strings.Contains(cs, "; hit"); hit != wantHit {
				t.Errorf("%s, request %d: Cache-Status %q", media, i, cs)
			}
		}
	}
	// A malformed span is the origin's 400, not cached.
	for range 2 {
		if status, body, _ := get(live + "?start=nope"); status != http.StatusBadRequest || !strings.Contains(body, "start:") {
			t.Errorf("malformed: %d %s", status, body)
		}
	}
}
