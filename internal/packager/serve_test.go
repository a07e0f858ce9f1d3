package packager

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/hls/llcheck"
)

func newLLLive(t *testing.T) (*memStore, *Live, *synth) {
	t.Helper()
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{PartDuration: 200 * time.Millisecond, Window: 10}, sessionStart)
	if err := l.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	return st, l, &synth{gop: 60, rends: ladder()}
}

func llPlaylistOf(t *testing.T, l *Live, rendition, query string) []byte {
	t.Helper()
	q, _ := url.ParseQuery(query)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := l.Playlist(ctx, "s1", rendition, q)
	if err != nil {
		t.Fatalf("Playlist(%s?%s): %v", rendition, query, err)
	}
	return b
}

// The LL playlists pass the checker (parts within PART-TARGET and 85% of
// it, INDEPENDENT on keyframe parts, hold-back and skip bounds, rendition
// reports agreeing), and a part's bytes are the segment's.
func TestLLPlaylists(t *testing.T) {
	_, l, s := newLLLive(t)
	feed(t, l, s.units(0, 7300*time.Millisecond))
	pls := map[string][]byte{}
	for _, r := range []string{"720p", "480p", "360p", "audio"} {
		pl := llPlaylistOf(t, l, r, "")
		fetch := func(uri string) ([]byte, error) {
			n, k := parsePartURI(t, uri)
			rc, err := l.Part(context.Background(), "s1", r, n, k)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return io.ReadAll(rc)
		}
		if err := llcheck.Media(pl, llcheck.Options{Fetch: fetch}); err != nil {
			t.Errorf("%s:\n%s\n%v", r, pl, err)
		}
		pls["s1/"+r+"/index.m3u8"] = pl
	}
	if err := llcheck.RenditionReports(pls); err != nil {
		t.Error(err)
	}
	pl := string(pls["s1/720p/index.m3u8"])
	// Fed to 7.3 s: segment 3 (6 s to 8 s) has parts 3.0 to 3.5, cut at
	// the first unit past each 200 ms boundary up to 7.2 s.
	for _, want := range []string{"#EXT-X-PART-INF:PART-TARGET=0.222", "CAN-BLOCK-RELOAD=YES", "PART-HOLD-BACK=0.666",
		`#EXT-X-PART:DURATION=0.200,URI="3.0.m4s",INDEPENDENT=YES`, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="3.6.m4s"`,
		`#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=3,LAST-PART=5`} {
		if !strings.Contains(pl, want) {
			t.Errorf("720p playlist lacks %s:\n%s", want, pl)
		}
	}
	// Segment 2 is complete: its parts back to back are the segment.
	var cat []byte
	for k := 0; k < 10; k++ {
		rc, err := l.Part(context.Background(), "s1", "720p", 2, k)
		if err != nil {
			t.Fatalf("part 2.%d: %v", k, err)
		}
		b, _ := io.ReadAll(rc)
		cat = append(cat, b...)
	}
	rc, err := l.Part(context.Background(), "s1", "720p", 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	seg, _ := io.ReadAll(rc)
	if !bytes.Equal(cat, seg) || len(seg) == 0 {
		t.Errorf("segment 2 (%d bytes) is not its parts (%d bytes)", len(seg), len(cat))
	}
	if _, err := l.Part(context.Background(), "s1", "720p", 2, 10); !errors.Is(err, ErrNoPart) {
		t.Errorf("part 2.10 of a complete segment of 10: %v", err)
	}
	if _, err := l.Part(context.Background(), "s2", "720p", 2, 0); !errors.Is(err, ErrNotServed) {
		t.Errorf("another session's directory: %v", err)
	}
}

func parsePartURI(t *testing.T, uri string) (uint64, int) {
	t.Helper()
	var n uint64
	var k int
	f := strings.Split(strings.TrimSuffix(uri, ".m4s"), ".")
	if len(f) != 2 {
		t.Fatalf("part URI %q", uri)
	}
	for _, c := range f[0] {
		n = n*10 + uint64(c-'0')
	}
	for _, c := range f[1] {
		k = k*10 + int(c-'0')
	}
	return n, k
}

// A blocking reload is answered when its part is produced; too far ahead
// is a 400 at once; malformed directives too; a part in the preload hint
// is answered when produced.
func TestLLBlockingReload(t *testing.T) {
	_, l, s := newLLLive(t)
	feed(t, l, s.units(0, 6100*time.Millisecond))
	// Segment 3 is open with part 0 (6.0 s to 6.2 s) in progress: part 0
	// is cut at the first unit at 6.2 s.
	type answer struct {
		pl  []byte
		err error
		at  time.Time
	}
	got := make(chan answer, 2)
	go func() {
		b, err := l.Playlist(context.Background(), "s1", "720p", url.Values{"_HLS_msn": {"3"}, "_HLS_part": {"1"}})
		got <- answer{b, err, time.Now()}
	}()
	go func() {
		rc, err := l.Part(context.Background(), "s1", "720p", 3, 1)
		var b []byte
		if err == nil {
			b, err = io.ReadAll(rc)
		}
		got <- answer{b, err, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case a := <-got:
		t.Fatalf("answered before the part existed: %v\n%s", a.err, a.pl)
	default:
	}
	write(t, l, s.units(6100*time.Millisecond, 6450*time.Millisecond)) // parts 3.0 and 3.1 are cut
	produced := time.Now()
	for range 2 {
		a := <-got
		if a.err != nil || len(a.pl) == 0 {
			t.Fatalf("blocked request: %v", a.err)
		}
		if d := a.at.Sub(produced); d > 50*time.Millisecond {
			t.Errorf("answered %v after the part was produced", d)
		}
		if bytes.HasPrefix(a.pl, []byte("#EXTM3U")) && !bytes.Contains(a.pl, []byte(`URI="3.1.m4s"`)) {
			t.Errorf("playlist lacks part 3.1:\n%s", a.pl)
		}
	}
	for _, q := range []url.Values{
		{"_HLS_msn": {"6"}},                      // more than two segments ahead
		{"_HLS_msn": {"x"}},                      // not a number
		{"_HLS_part": {"1"}},                     // part without msn
		{"_HLS_msn": {"3"}, "_HLS_skip": {"NO"}}, // unknown skip
	} {
		if _, err := l.Playlist(context.Background(), "s1", "720p", q); !errors.Is(err, hls.ErrBadDirective) {
			t.Errorf("%v: %v, want a bad directive", q, err)
		}
	}
}

// A delta update equals the full playlist once applied.
func TestLLDelta(t *testing.T) {
	_, l, s := newLLLive(t)
	feed(t, l, s.units(0, 19100*time.Millisecond)) // 9 complete segments of 2 s: more than 6 target durations
	full := llPlaylistOf(t, l, "720p", "")
	delta := llPlaylistOf(t, l, "720p", "_HLS_skip=YES")
	if !bytes.Contains(delta, []byte("#EXT-X-SKIP:SKIPPED-SEGMENTS=")) {
		t.Fatalf("no skip in the delta update:\n%s", delta)
	}
	if err := llcheck.Delta(full, delta, full); err != nil {
		t.Error(err)
	}
}

// The segment being produced streams part by part (LL-DASH's chunked
// transfer), then ends.
func TestLLSegmentStreams(t *testing.T) {
	_, l, s := newLLLive(t)
	feed(t, l, s.units(0, 4500*time.Millisecond))
	rc, err := l.Part(context.Background(), "s1", "720p", 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	first := make([]byte, 1<<20)
	n, err := rc.Read(first)
	if err != nil || n == 0 {
		t.Fatalf("first read: %d %v", n, err)
	}
	done := make(chan []byte)
	go func() {
		rest, _ := io.ReadAll(rc)
		done <- rest
	}()
	write(t, l, s.units(4500*time.Millisecond, 6100*time.Millisecond))
	rest := <-done
	whole, err := l.Part(context.Background(), "s1", "720p", 2, -1)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(whole)
	if got := append(first[:n:n], rest...); !bytes.Equal(got, want) {
		t.Errorf("streamed %d bytes, segment is %d", len(got), len(want))
	}
}

// With parts, the live MPD is a low-latency one: segments available a
// chunk after they start, a service description, the producer reference,
// the segment being produced listed at its nominal duration, updates at
// least every second; the ended MPD is a plain static one.
func TestLLDashMPD(t *testing.T) {
	st, l, s := newLLLive(t)
	feed(t, l, s.units(0, 7300*time.Millisecond))
	mpd := string(st.get(t, "live/ch/manifest.mpd"))
	for _, want := range []string{`availabilityTimeOffset="1.778"`, `availabilityTimeComplete="false"`,
		`<ServiceDescription`, `target="1500" max="3000"`, `<ProducerReferenceTime`, `inband="true"`,
		`minimumUpdatePeriod="PT1S"`, `dashif.org/guidelines/low-latency-live-v5`} {
		if !strings.Contains(mpd, want) {
			t.Errorf("live MPD lacks %s:\n%s", want, mpd)
		}
	}
	// Segments 0 to 2 are published; 3 (6 s to 8 s) is listed ahead.
	m := readMPD(t, st)
	var n int
	for _, s := range m.Periods[len(m.Periods)-1].AS[0].ST.S {
		n += 1 + s.R
	}
	if n != 4 {
		t.Errorf("video timeline lists %d segments, want 3 published and the one being produced", n)
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	mpd = string(st.get(t, "live/ch/manifest.mpd"))
	if strings.Contains(mpd, "availabilityTimeOffset") || strings.Contains(mpd, "ServiceDescription") || !strings.Contains(mpd, `type="static"`) {
		t.Errorf("ended MPD:\n%s", mpd)
	}
}

// The MPD from memory lists the segments every rendition completed, stored
// or not yet, and the one being produced; after End the stored MPD serves.
func TestLLMPDFromMemory(t *testing.T) {
	_, l, s := newLLLive(t)
	feed(t, l, s.units(0, 4100*time.Millisecond))                      // segments 0 and 1 published
	write(t, l, s.units(4100*time.Millisecond, 7300*time.Millisecond)) // not settled: storage may lag
	b, err := l.MPD(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var m xMPD
	if err := xml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, s := range m.Periods[len(m.Periods)-1].AS[0].ST.S {
		n += 1 + s.R
	}
	if n != 4 || !strings.Contains(string(b), "availabilityTimeOffset") {
		t.Errorf("MPD from memory lists %d segments, want 3 complete and the one being produced:\n%s", n, b)
	}
	settle(t, l)
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.MPD(context.Background()); !errors.Is(err, ErrNotServed) {
		t.Errorf("MPD after End: %v", err)
	}
}

// At 24 fps a 200 ms part is rounded to 5 frames (208 ms): PART-TARGET
// follows the parts actually cut, so every part stays within it and above
// 85% of it.
func TestLLPartTargetFollowsFrameRate(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{PartDuration: 200 * time.Millisecond, Window: 10}, sessionStart)
	if err := l.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	s := &synth{gop: 48, rends: ladder(), fpsDen: 3750} // 24 fps, 2 s GOPs
	feed(t, l, s.units(0, 7300*time.Millisecond))
	for _, r := range []string{"720p", "audio"} {
		pl := llPlaylistOf(t, l, r, "")
		if !bytes.Contains(pl, []byte("PART-TARGET=0.230")) {
			t.Errorf("%s: PART-TARGET is not 208 ms + one AAC frame:\n%s", r, pl)
		}
		if err := llcheck.Media(pl, llcheck.Options{}); err != nil {
			t.Errorf("%s:\n%s\n%v", r, pl, err)
		}
	}
}
