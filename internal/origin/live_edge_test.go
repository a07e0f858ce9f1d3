package origin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge"
	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// edgeSource is a LiveSource for the edge contract: one part fed by the
// test, a blocking playlist, and answers counted per key.
type edgeSource struct {
	partKey string
	pr      *io.PipeReader
	pw      *io.PipeWriter

	mu    sync.Mutex
	asked map[string]int // by key and query
	fail  map[string]error
}

func (s *edgeSource) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[key]
}

func (s *edgeSource) ask(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked[key]++
	return s.fail[key]
}

func (s *edgeSource) MediaPlaylist(_ context.Context, key string, q url.Values) ([]byte, error) {
	if err := s.ask(key + "?" + q.Encode()); err != nil {
		return nil, err
	}
	return []byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:41\n#EXT-X-PART:DURATION=0.2,URI=\"41.0.m4s\"\n"), nil
}

func (s *edgeSource) Open(_ context.Context, key string) (io.ReadCloser, error) {
	if err := s.ask(key); err != nil {
		return nil, err
	}
	if key != s.partKey {
		return nil, origin.ErrNotLive
	}
	return s.pr, nil
}

// The origin–edge contract for LL-HLS: a part being produced streams
// through the edge chunk by chunk and is stored whole; a blocking reload's
// answer is cached for the next identical request; a part asked for too
// early, a hold that ran out and a malformed directive are never stored.
func TestLowLatencyThroughTheEdge(t *testing.T) {
	for _, inProcess := range []bool{false, true} {
		name := "separate origin"
		if inProcess {
			name = "in-process origin"
		}
		t.Run(name, func(t *testing.T) {
			st, err := fs.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			src := &edgeSource{partKey: "live/ch/s1/720p/41.1.m4s", asked: map[string]int{}, fail: map[string]error{
				"live/ch/s1/720p/41.5.m4s":               origin.ErrNotFound,
				"live/ch/s1/720p/index.m3u8?_HLS_msn=50": origin.ErrHoldTimeout,
				"live/ch/s1/720p/index.m3u8?_HLS_msn=x":  origin.ErrBadDirective,
			}}
			src.pr, src.pw = io.Pipe()
			cfg := origin.DefaultConfig()
			cfg.Live = src
			// Plain live playlists are then "no-cache": a hit on a
			// blocking reload is its own lifetime's doing.
			cfg.SegmentDuration = time.Second
			o := origin.New(st, cfg, nil)
			// NegativeTTL as `osprey edge` sets it by default: 404s without
			// a lifetime of their own are kept that long.
			ecfg := edge.Config{Cache: cache.Config{MemoryBytes: 16 << 20}, NegativeTTL: time.Second}
			if inProcess {
				ecfg.Origins = []string{"http://origin.local"}
				ecfg.Transport = edge.HandlerTransport{Handler: o}
			} else {
				srv := httptest.NewServer(o)
				t.Cleanup(srv.Close)
				ecfg.Origins = []string{srv.URL}
			}
			e, err := edge.New(ecfg)
			if err != nil {
				t.Fatal(err)
			}
			edgeSrv := httptest.NewServer(e)
			t.Cleanup(func() { edgeSrv.Close(); e.Close() })
			base := edgeSrv.URL + "/live/ch/s1/720p/"

			// The preload-hinted part: headers before any byte, each chunk
			// before the part is complete.
			res, err := http.Get(base + "41.1.m4s")
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 {
				t.Fatalf("part through the edge: %d", res.StatusCode)
			}
			for _, chunk := range []string{"chunk-1|", "chunk-2|"} {
				if _, err := src.pw.Write([]byte(chunk)); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, len(chunk))
				done := make(chan error, 1)
				go func() { _, err := io.ReadFull(res.Body, b); done <- err }()
				select {
				case err := <-done:
					if err != nil || string(b) != chunk {
						t.Fatalf("read %q, %v; want %q", b, err, chunk)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("chunk %q did not pass the edge before the part ended", chunk)
				}
			}
			src.pw.Close()
			if rest, err := io.ReadAll(res.Body); err != nil || len(rest) != 0 {
				t.Fatalf("end of the part: %q, %v", rest, err)
			}
			res.Body.Close()
			resp, body := fetch(t, base+"41.1.m4s")
			if resp.StatusCode != 200 || body != "chunk-1|chunk-2|" || !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
				t.Fatalf("part again: %d %q, Cache-Status %q: want the whole part from the cache", resp.StatusCode, body, resp.Header.Get("Cache-Status"))
			}
			if n := src.count(src.partKey); n != 1 {
				t.Fatalf("the part was asked of the origin %d times, want 1", n)
			}

			// A blocking reload: the second identical request (other
			// parameter order) is a hit.
			for i, q := range []string{"_HLS_msn=41&_HLS_part=0", "_HLS_part=0&_HLS_msn=41"} {
				resp, _ := fetch(t, base+"index.m3u8?"+q)
				if resp.StatusCode != 200 {
					t.Fatalf("blocking reload %d: %d", i+1, resp.StatusCode)
				}
				if i == 1 && !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
					t.Fatalf("second blocking reload: Cache-Status %q, want a hit", resp.Header.Get("Cache-Status"))
				}
			}
			if n := src.count("live/ch/s1/720p/index.m3u8?_HLS_msn=41&_HLS_part=0"); n != 1 {
				t.Fatalf("blocking reload asked of the source %d times, want 1", n)
			}

			// Never stored: each request reaches the source again.
			for _, tc := range []struct {
				path, srcKey string
				status       int
			}{
				{"41.5.m4s", "live/ch/s1/720p/41.5.m4s", 404},
				{"index.m3u8?_HLS_msn=50", "live/ch/s1/720p/index.m3u8?_HLS_msn=50", 503},
				{"index.m3u8?_HLS_msn=x", "live/ch/s1/720p/index.m3u8?_HLS_msn=x", 400},
			} {
				for i := 1; i <= 2; i++ {
					resp, _ := fetch(t, base+tc.path)
					if resp.StatusCode != tc.status {
						t.Fatalf("%s: %d, want %d", tc.path, resp.StatusCode, tc.status)
					}
					if n := src.count(tc.srcKey); n != i {
						t.Fatalf("%s: after %d requests the source was asked %d times: the edge kept the answer", tc.path, i, n)
					}
				}
			}
		})
	}
}
