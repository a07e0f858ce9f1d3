package packager

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// dvrCfg is a DVR configuration with 1 s segments, an 8 s DVR window and
// chunks of 4 segments.
func dvrCfg() Config {
	return Config{SegmentDuration: time.Second, Window: 3, DeleteGrace: 2 * time.Second, DVRWindow: 8 * time.Second, chunkSize: 4}
}

// readCatalog reads dvr.json, failing the test if it is missing or invalid.
func readDVR(t testing.TB, st *memStore) *dvr.Catalog {
	t.Helper()
	c, err := dvr.DecodeCatalog(st.get(t, "live/ch/dvr.json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readDVRChunk reads and decodes a chunk.
func readDVRChunk(t testing.TB, st *memStore, dir string, first uint64) *manifest.View {
	t.Helper()
	v, err := dvr.DecodeChunk(st.get(t, "live/ch/"+dvr.ChunkKey(dir, first)))
	if err != nil {
		t.Fatalf("chunk %s/%d: %v", dir, first, err)
	}
	return v
}

// dvrSession returns the catalog's session dir, failing if it has none.
func dvrSession(t testing.TB, c *dvr.Catalog, dir string) dvr.Session {
	t.Helper()
	for _, s := range c.Sessions {
		if s.Dir == dir {
			return s
		}
	}
	t.Fatalf("dvr.json has no session %s: %+v", dir, c)
	return dvr.Session{}
}

// published collects every segment l publishes, from its windows.
type published map[uint64]*manifest.Segment

func (p published) take(l *Live) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if v := l.st.LastView(); v != nil {
		for _, s := range v.Window {
			p[s.N] = s
		}
	}
}

// sameSegment reports how a segment read back from a chunk differs from
// the one published ("" if it does not).
func sameSegment(got, want *manifest.Segment) string {
	if got.N != want.N || got.InitV != want.InitV || got.Period != want.Period || got.Disc != want.Disc || got.Hole != want.Hole ||
		got.DSeq != want.DSeq || got.Lead != want.Lead || len(got.Entries) != len(want.Entries) {
		return fmt.Sprintf("segment %+v, published %+v", *got, *want)
	}
	for i, e := range got.Entries {
		w := want.Entries[i]
		if e.Name != w.Name || e.Kind != w.Kind || e.TS != w.TS || e.T != w.T || e.D != w.D || e.Gap != w.Gap {
			return fmt.Sprintf("segment %d entry %d: %+v, published %+v", got.N, i, e, w)
		}
	}
	return ""
}

// checkIndex checks that dvr.json and its chunks index exactly the
// segments of session dir numbered from..to (inclusive) as published, in
// chunks of size (the last one open while live), and returns the chunks.
func checkIndex(t *testing.T, st *memStore, dir string, pub published, from, to uint64, size int, live bool) []dvr.ChunkRef {
	t.Helper()
	s := dvrSession(t, readDVR(t, st), dir)
	if s.Ended == live {
		t.Errorf("session %s ended=%v", dir, s.Ended)
	}
	next := from
	for i, ref := range s.Chunks {
		v := readDVRChunk(t, st, dir, ref.First)
		if ref.First != next || len(v.Window) == 0 || v.Window[0].N != ref.First {
			t.Fatalf("chunk %d starts at %d (segments from %d), want %d", i, ref.First, v.Window[0].N, next)
		}
		if !ref.Start.Equal(time.Unix(0, int64(pub[ref.First].Start())).UTC()) {
			t.Errorf("chunk %d start %v", ref.First, ref.Start)
		}
		for _, seg := range v.Window {
			want := pub[seg.N]
			if want == nil || seg.N != next {
				t.Fatalf("chunk %d has segment %d, want %d", ref.First, seg.N, next)
			}
			if d := sameSegment(seg, want); d != "" {
				t.Error(d)
			}
			next++
		}
		lastOpen := live && i == len(s.Chunks)-1
		switch {
		case lastOpen && !ref.Open():
			t.Errorf("the live session's last chunk %d is sealed", ref.First)
		case !lastOpen && ref.Open():
			t.Errorf("chunk %d is open", ref.First)
		case !ref.Open():
			last := v.Window[len(v.Window)-1]
			if ref.Last != last.N || !ref.End.Equal(dvr.SegmentEnd(last)) {
				t.Errorf("chunk %d: last %d end %v; holds up to %d ending %v", ref.First, ref.Last, ref.End, last.N, dvr.SegmentEnd(last))
			}
		}
		if n := len(v.Window); n > size || !ref.Open() && live && n != size {
			t.Errorf("chunk %d holds %d segments (size %d)", ref.First, n, size)
		}
	}
	if next != to+1 {
		t.Errorf("session %s indexed up to %d, published up to %d", dir, next-1, to)
	}
	return s.Chunks
}

// segmentObjects lists the segment objects of published segment n in dir.
func segmentObjects(dir string, s *manifest.Segment) []string {
	var keys []string
	for _, e := range s.Entries {
		if !e.Gap {
			keys = append(keys, "live/ch/"+dir+"/"+manifest.SegmentKey(e.Name, s.N))
		}
	}
	return keys
}

// feedSeconds feeds l from media second from to to, one second at a
// time, the clock at the arrival of each second's last frame.
func feedSeconds(t *testing.T, l *Live, clk *fakeClock, start time.Time, s synth, from, to int, pub published) {
	t.Helper()
	for sec := from; sec < to; sec++ {
		clk.Advance(start.Add(time.Duration(sec+1) * time.Second).Sub(clk.Now()))
		feed(t, l, s.units(time.Duration(sec)*time.Second, time.Duration(sec+1)*time.Second))
		pub.take(l)
	}
}

// With DVR on, every published segment is indexed in chunks of the chunk
// size (dvr.json and the chunks decode to exactly the published segments);
// segments leaving the live window stay until their chunk's media end is
// older than the DVR window, then go with the chunk, and state.json never
// lists them for deletion.
func TestDVRIndexAndRetention(t *testing.T) {
	cfg := dvrCfg()
	st, clk, l, s := beginLive(t, cfg)
	s.gop = 30 // keyframes every second: 1 s segments
	pub := published{}
	feedSeconds(t, l, clk, sessionStart, s, 0, 10, pub)
	// 0..8 published (9 open); nothing aged yet: the first chunk ends at 4 s.
	checkIndex(t, st, "s1", pub, 0, 8, 4, true)
	for n := uint64(0); n <= 8; n++ {
		for _, k := range segmentObjects("s1", pub[n]) {
			if !st.has(k) {
				t.Errorf("%s deleted within the DVR window", k)
			}
		}
	}

	feedSeconds(t, l, clk, sessionStart, s, 10, 30, pub)
	now := clk.Now()
	last := uint64(28)
	if _, ok := pub[last+1]; ok || pub[last] == nil {
		t.Fatalf("published up to %d, expected %d", len(pub)-1, last)
	}
	// Chunks ending at 4, 8, ..., 20 s have aged out (end + 8 s <= 30 s).
	chunks := checkIndex(t, st, "s1", pub, 20, last, 4, true)
	if len(chunks) != 3 {
		t.Errorf("%d chunks kept, want 3 (20-23, 24-27, 28)", len(chunks))
	}
	for n := uint64(0); n <= last; n++ {
		end := dvr.SegmentEnd(pub[n])
		for _, k := range segmentObjects("s1", pub[n]) {
			switch {
			case end.Add(cfg.DVRWindow+4*time.Second).Before(now) && st.has(k):
				t.Errorf("%s (ended %v) kept beyond the DVR window and a chunk", k, now.Sub(end))
			case end.Add(cfg.DVRWindow).After(now) && !st.has(k):
				t.Errorf("%s (ended %v ago) deleted within the DVR window", k, now.Sub(end))
			}
		}
	}
	for c := uint64(0); c < 20; c += 4 {
		if st.has("live/ch/" + dvr.ChunkKey("s1", c)) {
			t.Errorf("aged chunk %d still stored", c)
		}
	}
	// The init segments the kept segments name stay.
	for _, e := range pub[20].Entries {
		if k := "live/ch/s1/" + manifest.InitKey(e.Name, pub[20].InitV); !st.has(k) {
			t.Errorf("%s deleted while kept segments name it", k)
		}
	}
	// state.json stays bounded: no segment deletions queued.
	for _, d := range readState(t, st).Deletes {
		for _, k := range d.Keys {
			if strings.HasSuffix(k, ".m4s") {
				t.Errorf("state.json queues the deletion of %s", k)
			}
		}
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub.take(l)
	checkIndex(t, st, "s1", pub, 20, last+1, 4, false)
	checkListedExist(t, st)
}

// Chunks are sealed at dvr.ChunkSize segments.
func TestDVRSealsAtChunkSize(t *testing.T) {
	cfg := Config{SegmentDuration: time.Second, Window: 3, DVRWindow: time.Hour}
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	l := newTestLive(t, st, clk, cfg, sessionStart)
	rends := []Rendition{ladder()[2], ladder()[3]}
	s := synth{gop: 30, rends: rends}
	if err := l.Begin(rends); err != nil {
		t.Fatal(err)
	}
	pub := published{}
	feedSeconds(t, l, clk, sessionStart, s, 0, dvr.ChunkSize+3, pub)
	// 0..ChunkSize+1 published: one sealed chunk and one of two segments.
	chunks := checkIndex(t, st, "s1", pub, 0, dvr.ChunkSize+1, dvr.ChunkSize, true)
	if len(chunks) != 2 || chunks[0].Last != dvr.ChunkSize-1 || chunks[1].First != dvr.ChunkSize {
		t.Errorf("chunks %+v", chunks)
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// An ended session's folder survives the next session's first publish
// (and DeleteGrace after it) while it is within the DVR window, and goes,
// directory and all, once its last chunk has aged out.
func TestDVRKeepsEndedSessionUntilAged(t *testing.T) {
	cfg := dvrCfg()
	cfg.DVRWindow = 12 * time.Second
	st, clk, l, s := beginLive(t, cfg)
	s.gop = 30 // keyframes every second: 1 s segments
	pub1 := published{}
	feedSeconds(t, l, clk, sessionStart, s, 0, 6, pub1)
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub1.take(l)
	checkIndex(t, st, "s1", pub1, 0, 5, 4, false)
	s1 := st.keys("live/ch/s1/")
	s1End := sessionStart.Add(6 * time.Second) // the end of its last segment

	start2 := sessionStart.Add(10 * time.Second)
	clk.Advance(start2.Sub(clk.Now()))
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	pub2 := published{}
	feedSeconds(t, l2, clk, start2, s, 0, 6, pub2) // first publish at 11 s; DeleteGrace 2 s
	if !clk.Now().Before(s1End.Add(cfg.DVRWindow)) {
		t.Fatal("test timing: session 1 aged already")
	}
	if got := st.keys("live/ch/s1/"); !slices.Equal(got, s1) {
		t.Errorf("session 1 changed within the DVR window:\n%v\nwas\n%v", got, s1)
	}
	dvrSession(t, readDVR(t, st), "s1")
	feedSeconds(t, l2, clk, start2, s, 6, 10, pub2) // now 20 s: s1 aged at 18 s
	if got := st.keys("live/ch/s1/"); len(got) > 0 {
		t.Errorf("session 1 kept after its last chunk aged out: %v", got)
	}
	for _, ss := range readDVR(t, st).Sessions {
		if ss.Dir == "s1" {
			t.Error("dvr.json still names session 1")
		}
	}
	if len(st.keys("live/ch/s2/")) == 0 {
		t.Error("session 2 deleted")
	}
	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Sweep, with nobody packaging the channel, deletes what aged out of the
// DVR window, chunk by chunk, then the whole session and the channel's
// manifests; it changes nothing within the window and is idempotent.
func TestDVRSweep(t *testing.T) {
	cfg := dvrCfg()
	st, clk, l, s := beginLive(t, cfg)
	s.gop = 30 // keyframes every second: 1 s segments
	pub := published{}
	feedSeconds(t, l, clk, sessionStart, s, 0, 10, pub)
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub.take(l) // 0..9 in chunks 0-3, 4-7, 8-9
	ctx := context.Background()
	all := st.keys("live/ch/")
	if err := Sweep(ctx, st, "live/ch", cfg.DVRWindow, sessionStart.Add(11*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := st.keys("live/ch/"); !slices.Equal(got, all) {
		t.Errorf("Sweep within the window changed storage:\n%v\nwas\n%v", got, all)
	}
	// At 13 s the first chunk (ended at 4 s) has aged out.
	if err := Sweep(ctx, st, "live/ch", cfg.DVRWindow, sessionStart.Add(13*time.Second)); err != nil {
		t.Fatal(err)
	}
	for n := uint64(0); n <= 9; n++ {
		for _, k := range segmentObjects("s1", pub[n]) {
			if st.has(k) != (n >= 4) {
				t.Errorf("after the first chunk aged: %s stored=%v", k, st.has(k))
			}
		}
	}
	checkIndex(t, st, "s1", pub, 4, 9, 4, false)
	if !st.has("live/ch/s1/720p/index.m3u8") || !st.has("live/ch/index.m3u8") {
		t.Error("playlists deleted with the first chunk")
	}
	// At 19 s everything has: the session directory and the manifests go.
	now := sessionStart.Add(19 * time.Second)
	if err := Sweep(ctx, st, "live/ch", cfg.DVRWindow, now); err != nil {
		t.Fatal(err)
	}
	if got := st.keys("live/ch/s1/"); len(got) > 0 {
		t.Errorf("session 1 left after it aged out: %v", got)
	}
	for _, k := range []string{"live/ch/index.m3u8", "live/ch/manifest.mpd"} {
		if st.has(k) {
			t.Errorf("%s left with nothing to play", k)
		}
	}
	if c := readDVR(t, st); len(c.Sessions) != 0 {
		t.Errorf("dvr.json still names %+v", c.Sessions)
	}
	puts := len(st.puts)
	keys := st.keys("live/ch/")
	if err := Sweep(ctx, st, "live/ch", cfg.DVRWindow, now); err != nil {
		t.Fatal(err)
	}
	if len(st.puts) != puts || !slices.Equal(st.keys("live/ch/"), keys) {
		t.Error("a second Sweep changed storage")
	}
	// No index, or no DVR: nothing to do.
	if err := Sweep(ctx, newMemStore(), "live/ch", cfg.DVRWindow, now); err != nil {
		t.Errorf("Sweep without dvr.json: %v", err)
	}
}

// A session a crash left live and that its publisher continues goes on
// appending to the same chunk, including the segments whose chunk write
// the crash lost (state.json had them); once ended, its last chunk is
// sealed at its last segment.
func TestDVRContinuedAfterCrash(t *testing.T) {
	cfg := dvrCfg()
	cfg.chunkSize = 0 // 64
	cfg.DVRWindow = time.Hour
	st, clk, l, s := beginLive(t, cfg)
	s.gop = 30 // keyframes every second: 1 s segments
	pub := published{}
	feedSeconds(t, l, clk, sessionStart, s, 0, 5, pub) // 0..3
	// The chunk's next writes fail: the crash loses them, not state.json's.
	st.mu.Lock()
	st.failPut = func(key string) bool { return strings.Contains(key, "/dvr/") }
	st.mu.Unlock()
	clk.Advance(time.Second)
	write(t, l, s.units(5*time.Second, 7*time.Second)) // 4, 5
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Refused chunk writes hold up neither state.json nor the playlists.
	if err := waitFor(ctx, func() bool {
		ps := readState(t, st).Session
		pl, _ := st.getOK("live/ch/s1/720p/index.m3u8")
		return ps != nil && len(ps.Window) > 0 && ps.Window[len(ps.Window)-1].N == 5 &&
			strings.Contains(string(pl), "\n5.m4s\n")
	}); err != nil {
		t.Fatal("state.json and the playlists never listed segment 5")
	}
	pub.take(l)
	crash(l)
	st.mu.Lock()
	st.failPut = nil
	st.mu.Unlock()
	if v := readDVRChunk(t, st, "s1", 0); v.Window[len(v.Window)-1].N >= 5 {
		t.Fatalf("test setup: the chunk has segment %d", v.Window[len(v.Window)-1].N)
	}

	start2 := sessionStart.Add(10 * time.Second)
	clk.Advance(start2.Sub(clk.Now()))
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feedSeconds(t, l2, clk, start2, s, 0, 3, pub) // 6, 7
	if !l2.Stats().Continued {
		t.Fatal("not continued")
	}
	chunks := checkIndex(t, st, "s1", pub, 0, 7, dvr.ChunkSize, true)
	if len(chunks) != 1 {
		t.Errorf("chunks %+v, want the one chunk going on", chunks)
	}
	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub.take(l2)
	checkIndex(t, st, "s1", pub, 0, 8, dvr.ChunkSize, false)
}

// With parts, a continuation skips the numbers the dead node may have
// served from memory (holes): the index keeps them, as the playlists do,
// and the chunk goes on, its numbers consecutive.
func TestDVRContinuedWithParts(t *testing.T) {
	cfg := Config{Window: 6, PartDuration: 200 * time.Millisecond, DVRWindow: time.Hour}
	st, clk, l, s := beginLive(t, cfg)
	pub := published{}
	feed(t, l, s.units(0, 9*time.Second)) // 0..3 published, 4 open
	pub.take(l)
	crash(l)
	reserved := readState(t, st).NextSegment

	clk.Advance(10 * time.Second)
	start2 := sessionStart.Add(15 * time.Second)
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	s2 := synth{gop: 60, rends: ladder()}
	feed(t, l2, s2.units(0, 5*time.Second)) // reserved, reserved+1
	pub.take(l2)
	if !l2.Stats().Continued || pub[4] == nil || !pub[4].Hole || pub[reserved] == nil || pub[reserved].Hole {
		t.Fatalf("not continued after holes 4..%d", reserved-1)
	}
	chunks := checkIndex(t, st, "s1", pub, 0, reserved+1, dvr.ChunkSize, true)
	if len(chunks) != 1 {
		t.Errorf("chunks %+v, want the one chunk going on", chunks)
	}
	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A session a crash left live that nobody continues is completed in the
// index when Recover ends it.
func TestDVRRecoverCompletesIndex(t *testing.T) {
	cfg := dvrCfg()
	st, clk, l, s := beginLive(t, cfg)
	s.gop = 30 // keyframes every second: 1 s segments
	pub := published{}
	feedSeconds(t, l, clk, sessionStart, s, 0, 7, pub) // 0..5
	crash(l)
	clk.Advance(2 * time.Minute)
	if !recoverCh(t, st, clk, cfg) {
		t.Fatal("nothing recovered")
	}
	checkIndex(t, st, "s1", pub, 0, 5, 4, false)
}

// A missing or corrupt dvr.json does not stop publishing: the index is
// rebuilt from this session, and the earlier session it can no longer
// name is deleted the old way.
func TestDVRCorruptCatalog(t *testing.T) {
	cfg := dvrCfg()
	st, clk, l, s := beginLive(t, cfg)
	s.gop = 30 // keyframes every second: 1 s segments
	feedSeconds(t, l, clk, sessionStart, s, 0, 4, published{})
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.objects["live/ch/dvr.json"] = []byte(`{"sessions":[{"dir":"../x"`)
	st.mu.Unlock()

	start2 := sessionStart.Add(10 * time.Second)
	clk.Advance(start2.Sub(clk.Now()))
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	pub := published{}
	feedSeconds(t, l2, clk, start2, s, 0, 6, pub)
	checkListedExist(t, st)
	if pls := mediaPlaylists(t, st); len(pls) != 4 || !strings.HasPrefix(pls[0], "live/ch/s2/") {
		t.Fatalf("playlists %v", pls)
	}
	first := slices.Min(slices.Collect(func(yield func(uint64) bool) {
		for n := range pub {
			if !yield(n) {
				return
			}
		}
	}))
	checkIndex(t, st, "s2", pub, first, first+4, 4, true)
	if c := readDVR(t, st); len(c.Sessions) != 1 {
		t.Errorf("rebuilt dvr.json names %+v", c.Sessions)
	}
	// Session 1 is no longer indexed: deleted DeleteGrace after the first publish.
	if got := st.keys("live/ch/s1/"); len(got) > 0 {
		t.Errorf("unindexed session 1 left: %v", got)
	}
	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
}
