package dvr

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// t0 is the media start of the test channel's first segment.
var t0 = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

const prefix = "live/ch"

// countingStore counts the objects opened, by key.
type countingStore struct {
	storage.Store
	mu     sync.Mutex
	opened []string
}

func (s *countingStore) Open(ctx context.Context, key string) (storage.Object, error) {
	s.mu.Lock()
	s.opened = append(s.opened, key)
	s.mu.Unlock()
	return s.Store.Open(ctx, key)
}

func (s *countingStore) reset() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.opened
	s.opened = nil
	return o
}

// TestSegments builds n consecutive 2 s segments of a two-rendition ladder
// (video "v" at 90 kHz, the lead, and audio "a" at 48 kHz) numbered from first and
// starting at start, in one period.
func testSegments(first uint64, n int, start time.Time) []*manifest.Segment {
	var segs []*manifest.Segment
	p := manifest.Period{ID: first, Start: time.Duration(start.UnixNano())}
	for i := range n {
		at := start.Add(time.Duration(i) * 2 * time.Second).UnixNano()
		segs = append(segs, &manifest.Segment{
			N: first + uint64(i), DSeq: 0, InitV: 1, Period: p, Lead: "v",
			Entries: []manifest.Entry{
				{Name: "v", Kind: media.Video, TS: 90000, T: timeline.TicksAt(at, 90000), D: 2 * 90000},
				// Audio 10 ms behind the video, as real ladders have it.
				{Name: "a", Kind: media.Audio, TS: 48000, T: timeline.TicksAt(at+int64(10*time.Millisecond), 48000), D: 2 * 48000},
			},
		})
	}
	return segs
}

func ladder() ([]manifest.Stream, map[string]*manifest.Rendition) {
	return []manifest.Stream{{Name: "v", Kind: media.Video, TS: 90000}, {Name: "a", Kind: media.Audio, TS: 48000}},
		map[string]*manifest.Rendition{
			"v": {Name: "v", Codecs: "avc1.64001f", Width: 1280, Height: 720, Bandwidth: 3_000_000, FrameRate: 30},
			"a": {Name: "a", Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 2, Bandwidth: 128_000},
		}
}

// writeSession stores segs as chunks of size segments (the last one open
// unless ended) and returns the session's catalog entry.
func writeSession(t *testing.T, st storage.Store, dir string, segs []*manifest.Segment, size int, ended bool) Session {
	t.Helper()
	tracks, rends := ladder()
	s := Session{Dir: dir, Ended: ended}
	for i := 0; i < len(segs); i += size {
		part := segs[i:min(i+size, len(segs))]
		v := &manifest.View{SegDur: 2 * time.Second, MaxSegDur: 2 * time.Second, Tracks: tracks, Rends: rends, Window: part, Dir: dir}
		data, err := EncodeChunk(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(context.Background(), prefix+"/"+ChunkKey(dir, part[0].N), data); err != nil {
			t.Fatal(err)
		}
		ref := ChunkRef{First: part[0].N, Start: epochTime(part[0].Start())}
		if len(part) == size || ended {
			last := part[len(part)-1]
			ref.Last, ref.End = last.N, epochTime(segEnd(last))
		}
		s.Chunks = append(s.Chunks, ref)
	}
	return s
}

func putCatalog(t *testing.T, st storage.Store, c *Catalog) {
	t.Helper()
	data, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), prefix+"/"+CatalogKey, data); err != nil {
		t.Fatal(err)
	}
}

// testChannel stores two sessions: s1 with segments 1–10 (t0 to t0+20 s,
// ended, chunks 1, 5, 9) and s2 with segments 11–20 (t0+30 s to t0+50 s,
// live, chunks 11, 15 and the open 19).
func testChannel(t *testing.T) *countingStore {
	t.Helper()
	root, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &countingStore{Store: root}
	s1 := writeSession(t, st, "s1", testSegments(1, 10, t0), 4, true)
	s2 := writeSession(t, st, "s2", testSegments(11, 10, t0.Add(30*time.Second)), 4, false)
	putCatalog(t, st, &Catalog{Sessions: []Session{s1, s2}})
	st.reset()
	return st
}

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func numbers(v *manifest.View) []uint64 {
	var ns []uint64
	for _, s := range v.Window {
		ns = append(ns, s.N)
	}
	return ns
}

func span(first, last uint64) []uint64 {
	var ns []uint64
	for n := first; n <= last; n++ {
		ns = append(ns, n)
	}
	return ns
}

func TestFind(t *testing.T) {
	t.Parallel()
	st := testChannel(t)
	chunk := func(dir string, first uint64) string { return prefix + "/" + ChunkKey(dir, first) }
	cat := prefix + "/" + CatalogKey
	tests := []struct {
		name       string
		start, end time.Time
		dir        string
		want       []uint64
		final      bool
		opened     []string // nil: not checked
	}{
		{"closed inside one session", at(3), at(9), "s1", span(2, 5), true,
			[]string{cat, chunk("s2", 19), chunk("s1", 1), chunk("s1", 5)}},
		{"open span of an ended session is clipped to it", at(3), time.Time{}, "s1", span(2, 10), true, nil},
		{"end past the session: clipped, final", at(17), at(45), "s1", span(9, 10), true, nil},
		{"start between sessions: the next one", at(25), at(35), "s2", span(11, 13), true, nil},
		{"open span of the live session grows", at(41), time.Time{}, "s2", span(16, 20), false,
			[]string{cat, chunk("s2", 19), chunk("s2", 15)}},
		{"end ahead of the newest segment", at(41), at(100), "s2", span(16, 20), false, nil},
		{"end exactly at a segment boundary", at(30), at(34), "s2", span(11, 12), true, nil},
		{"start exactly at a segment boundary", at(4), at(8), "s1", span(3, 4), true, nil},
		{"window start", at(0), at(0.5), "s1", span(1, 1), true, nil},
	}
	for _, tt := range tests {
		f, err := Find(context.Background(), st, prefix, tt.start, tt.end)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		opened := st.reset()
		if got := numbers(f.View); !slices.Equal(got, tt.want) {
			t.Errorf("%s: segments %v, want %v", tt.name, got, tt.want)
		}
		if f.View.Dir != tt.dir || f.Final != tt.final {
			t.Errorf("%s: dir %q final %v, want %q %v", tt.name, f.View.Dir, f.Final, tt.dir, tt.final)
		}
		if !f.From.Equal(t0) || !f.To.Equal(at(50)) {
			t.Errorf("%s: window %v – %v, want %v – %v", tt.name, f.From, f.To, t0, at(50))
		}
		if len(f.View.Tracks) != 2 || f.View.Rends["v"] == nil || f.View.SegDur != 2*time.Second {
			t.Errorf("%s: ladder %+v %v", tt.name, f.View.Tracks, f.View.Rends)
		}
		if tt.opened != nil && !slices.Equal(opened, tt.opened) {
			t.Errorf("%s: read %v, want %v", tt.name, opened, tt.opened)
		}
		// The span renders: a media playlist of exactly its segments.
		pl := f.View.MediaPlaylist("v", true)
		if pl == nil || len(pl.Segments) != len(tt.want) || pl.MediaSequence != tt.want[0] {
			t.Errorf("%s: playlist %+v", tt.name, pl)
		}
	}
}

func TestFindErrors(t *testing.T) {
	t.Parallel()
	st := testChannel(t)
	var we *WindowError
	for _, tt := range []struct {
		name       string
		start, end time.Time
		window     bool
		is         error
	}{
		{"before the window", at(-1), at(5), true, nil},
		{"at the window's end", at(50), time.Time{}, true, nil},
		{"in the future", at(3600), time.Time{}, true, nil},
		{"in a gap between sessions", at(24), at(28), false, ErrNoMedia},
	} {
		_, err := Find(context.Background(), st, prefix, tt.start, tt.end)
		switch {
		case tt.window:
			if !errors.As(err, &we) || !we.From.Equal(t0) || !we.To.Equal(at(50)) {
				t.Errorf("%s: %v, want a WindowError naming %v – %v", tt.name, err, t0, at(50))
			} else if !strings.Contains(err.Error(), "2026-12-07T20:00:00.000Z – 2026-12-07T20:00:50.000Z") {
				t.Errorf("%s: message %q does not name the window", tt.name, err)
			}
		case !errors.Is(err, tt.is):
			t.Errorf("%s: %v, want %v", tt.name, err, tt.is)
		}
	}
	if _, err := Find(context.Background(), st, prefix, at(5), at(5)); err == nil || errors.As(err, &we) {
		t.Errorf("end = start: %v, want an error", err)
	}
	if _, err := Span(context.Background(), st, "live/other", at(5), time.Time{}); !errors.Is(err, ErrNoIndex) {
		t.Errorf("no dvr.json: %v, want ErrNoIndex", err)
	}
	// A catalog whose sessions have no chunks yet is no index either.
	putCatalog(t, st, &Catalog{Sessions: []Session{{Dir: "s3"}}})
	if _, _, err := Bounds(context.Background(), st, prefix); !errors.Is(err, ErrNoIndex) {
		t.Errorf("no chunks: %v, want ErrNoIndex", err)
	}
	// A chunk the catalog names but storage lost is an error, not a short span.
	s1 := writeSession(t, st, "s1", testSegments(1, 10, t0), 4, true)
	if err := st.Delete(context.Background(), prefix+"/"+ChunkKey("s1", 5)); err != nil {
		t.Fatal(err)
	}
	putCatalog(t, st, &Catalog{Sessions: []Session{s1}})
	if _, err := Span(context.Background(), st, prefix, at(3), at(12)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("missing chunk: %v, want ErrNotFound", err)
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	st := testChannel(t)
	from, to, err := Bounds(context.Background(), st, prefix)
	if err != nil || !from.Equal(t0) || !to.Equal(at(50)) {
		t.Fatalf("Bounds = %v, %v, %v; want %v, %v", from, to, err, t0, at(50))
	}
	// Only the catalog and the open newest chunk are read.
	if got := st.reset(); len(got) != 2 {
		t.Errorf("read %v", got)
	}
}

// A caching Reader reads a sealed chunk once; open chunks and the catalog
// are read every time (they change).
func TestReaderCachesSealedChunks(t *testing.T) {
	t.Parallel()
	st := testChannel(t)
	rd := NewReader(st, ReaderOptions{CachedChunks: 2})
	cat, open := prefix+"/"+CatalogKey, prefix+"/"+ChunkKey("s2", 19)
	for i, want := range [][]string{
		{cat, open, prefix + "/" + ChunkKey("s2", 11), prefix + "/" + ChunkKey("s2", 15)},
		{cat, open},
	} {
		f, err := rd.Find(context.Background(), prefix, at(31), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got := numbers(f.View); !slices.Equal(got, span(11, 20)) {
			t.Fatalf("round %d: segments %v", i, got)
		}
		if got := st.reset(); !slices.Equal(got, want) {
			t.Errorf("round %d: read %v, want %v", i, got, want)
		}
	}
	// Bounded: reading s1's three sealed chunks evicts s2's.
	if _, err := rd.Find(context.Background(), prefix, at(1), at(19)); err != nil {
		t.Fatal(err)
	}
	st.reset()
	if _, err := rd.Find(context.Background(), prefix, at(31), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := st.reset(); len(got) != 4 {
		t.Errorf("after eviction read %v, want the catalog and three chunks", got)
	}
}
