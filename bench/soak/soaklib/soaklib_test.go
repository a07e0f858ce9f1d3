package soaklib

import (
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSlope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		xs, ys []float64
		want   float64
	}{
		{[]float64{0, 1, 2, 3}, []float64{1, 3, 5, 7}, 2},
		{[]float64{0, 1, 2, 3}, []float64{5, 5, 5, 5}, 0},
		{[]float64{0, 1, 2, 3}, []float64{4, 3, 2, 1}, -1},
		{[]float64{0, 1, 2, 3}, []float64{0, 1, 0, 1}, 0.2},
		{[]float64{1}, []float64{1}, 0},
		{[]float64{2, 2}, []float64{1, 5}, 0},
	}
	for _, tc := range tests {
		if got := Slope(tc.xs, tc.ys); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Slope(%v, %v) = %v, want %v", tc.xs, tc.ys, got, tc.want)
		}
	}
}

// TestSlopesSecondHalf: a leak that starts after warm-up shows; growth
// during warm-up does not.
func TestSlopesSecondHalf(t *testing.T) {
	t.Parallel()
	var s []Sample
	for i := range 120 {
		at := time.Duration(i) * time.Second
		rss := int64(100 << 20)
		if i < 60 {
			rss = int64(i) << 20 // warm-up: 1 MiB/s, then flat
		}
		s = append(s, Sample{At: at, RSS: rss, Goroutines: 10 + i, FDs: 20})
	}
	rss, gor, fds := slopes(s)
	if math.Abs(rss) > 1e-6 || math.Abs(gor-3600) > 1e-6 || fds != 0 {
		t.Fatalf("slopes = %v MiB/h, %v goroutines/h, %v fds/h; want 0, 3600, 0", rss, gor, fds)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	ok := Result{Segments: 10, GoroutinesExposed: true, RSSSlope: 5, GoroutineSlope: 5, FDSlope: 1}
	if f := ok.Failures(LongThresholds); len(f) != 0 {
		t.Fatalf("a flat run fails: %v", f)
	}
	bad := Result{Stalls: 1, Errors: 2, RSSSlope: 50, GoroutinesExposed: true, GoroutineSlope: 100, FDSlope: 11}
	f := bad.Failures(LongThresholds)
	want := []string{"1 stalls", "2 errors", "RSS grows", "goroutines grow", "open files grow", "no segment"}
	if len(f) != len(want) {
		t.Fatalf("Failures = %v, want %d", f, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(f[i], w) {
			t.Errorf("failure %d = %q, want %q...", i, f[i], w)
		}
	}
	bad.GoroutinesExposed = false
	if slices.ContainsFunc(bad.Failures(LongThresholds), func(s string) bool { return strings.HasPrefix(s, "goroutines") }) {
		t.Error("goroutines judged while not exposed")
	}
}

func TestParseMediaPlaylist(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://127.0.0.1:8080/live/ch_1/360p/index.m3u8")
	p, err := parseMediaPlaylist(base, `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000,
41.m4s
#EXTINF:2.000,
/abs/42.m4s
`)
	if err != nil {
		t.Fatal(err)
	}
	if p.targetDuration != 2*time.Second || p.sequence != 41 || p.lastSequence() != 42 || p.ended ||
		p.initURI != "http://127.0.0.1:8080/live/ch_1/360p/init.mp4" ||
		!slices.Equal(p.segments, []string{"http://127.0.0.1:8080/live/ch_1/360p/41.m4s", "http://127.0.0.1:8080/abs/42.m4s"}) {
		t.Fatalf("parsed %+v", p)
	}
	for _, bad := range []string{"", "#EXTM3U\n", "HTTP/1.1\n#EXTM3U", "#EXTM3U\n#EXT-X-TARGETDURATION:x\n"} {
		if _, err := parseMediaPlaylist(base, bad); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	master := "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"a\"\n360p/index.m3u8\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",URI=\"audio/index.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=2\n\n720p/index.m3u8\n"
	mb, _ := url.Parse("http://h/live/ch_1/index.m3u8")
	if got := variantURIs(mb, master); !slices.Equal(got, []string{"http://h/live/ch_1/360p/index.m3u8", "http://h/live/ch_1/720p/index.m3u8"}) {
		t.Fatalf("variants %v", got)
	}
	if got := renditionURIs(mb, master); !slices.Equal(got, []string{"http://h/live/ch_1/audio/index.m3u8"}) {
		t.Fatalf("renditions %v", got)
	}
}
