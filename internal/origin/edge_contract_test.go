package origin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge"
	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

const contractMPD = `<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S">
  <Period id="0"><AdaptationSet mimeType="video/mp4" contentType="video"/></Period>
  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/time"/>
</MPD>
`

var utcTimingValue = regexp.MustCompile(`<UTCTiming [^>]*value="([^"]*)"`)

// The origin–edge contract for DASH (issue 9, defect 3): a live MPD is
// cacheable at the edge (no Vary but Accept-Encoding), and its UTCTiming
// URL, resolved against the MPD's URL as players do, is the edge's /time,
// which the edge passes to the origin's clock uncached. Both with the edge
// as its own process in front of an origin server (osprey edge) and with
// the edge calling its origin in-process (the edge inside osprey serve).
func TestLiveMPDThroughTheEdge(t *testing.T) {
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
			if err := st.Put(context.Background(), "live/ch/manifest.mpd", []byte(contractMPD)); err != nil {
				t.Fatal(err)
			}
			cfg := origin.DefaultConfig()
			cfg.SegmentDuration = 6 * time.Second // MPD lifetime 3 s: the second request is surely a hit
			o := origin.New(st, cfg, nil)
			var clockReads atomic.Int64
			mux := http.NewServeMux()
			mux.Handle("/live/", o)
			mux.Handle("/time", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				clockReads.Add(1)
				o.TimeHandler().ServeHTTP(w, r)
			}))
			ecfg := edge.Config{Cache: cache.Config{MemoryBytes: 16 << 20}}
			if inProcess {
				ecfg.Origins = []string{"http://origin.local"}
				ecfg.Transport = edge.HandlerTransport{Handler: mux}
			} else {
				srv := httptest.NewServer(mux)
				t.Cleanup(srv.Close)
				ecfg.Origins = []string{srv.URL}
			}
			e, err := edge.New(ecfg)
			if err != nil {
				t.Fatal(err)
			}
			edgeSrv := httptest.NewServer(e)
			t.Cleanup(func() { edgeSrv.Close(); e.Close() })

			mpdURL := edgeSrv.URL + "/live/ch/manifest.mpd"
			var body string
			for i, want := range []string{"; stored", "; hit"} {
				resp, b := fetch(t, mpdURL)
				if resp.StatusCode != 200 {
					t.Fatalf("MPD request %d: %d", i+1, resp.StatusCode)
				}
				if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, want) {
					t.Fatalf("MPD request %d: Cache-Status %q, want %q (Vary %q)", i+1, cs, want, resp.Header.Values("Vary"))
				}
				body = b
			}
			m := utcTimingValue.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no UTCTiming in the MPD:\n%s", body)
			}
			base, _ := url.Parse(mpdURL)
			clock, err := base.Parse(m[1])
			if err != nil {
				t.Fatal(err)
			}
			if clock.Host != base.Host {
				t.Fatalf("UTCTiming %q resolves to %s, not to the edge %s", m[1], clock, base.Host)
			}
			for i := 1; i <= 2; i++ {
				resp, b := fetch(t, clock.String())
				if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("clock through the edge: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
				}
				if _, err := time.Parse("2006-01-02T15:04:05.000Z", b); err != nil {
					t.Fatalf("clock through the edge: %q: %v", b, err)
				}
				if n := clockReads.Load(); n != int64(i) {
					t.Fatalf("after %d clock requests the origin's clock was read %d times: the edge cached it", i, n)
				}
			}
		})
	}
}

func fetch(t *testing.T, u string) (*http.Response, string) {
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
	return resp, string(b)
}
