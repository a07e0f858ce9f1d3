package dvr

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

var epoch0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// seg is segment n of a 1 s grid from epoch0 with init version v, in
// renditions "v" (video, 90 kHz) and "a" (audio, 48 kHz).
func seg(n, v uint64) *manifest.Segment {
	t0 := uint64(epoch0.Unix()) + n
	return &manifest.Segment{N: n, InitV: v, Lead: "v", Period: manifest.Period{ID: 0, Start: time.Duration(epoch0.UnixNano())},
		Entries: []manifest.Entry{
			{Name: "v", Kind: media.Video, TS: 90000, T: t0 * 90000, D: 90000},
			{Name: "a", Kind: media.Audio, TS: 48000, T: t0 * 48000, D: 48000},
		}}
}

func newTestIndex(size int) *Index {
	x := NewIndex(nil, size)
	x.Describe([]manifest.Stream{{Name: "v", Kind: media.Video, TS: 90000}, {Name: "a", Kind: media.Audio, TS: 48000}},
		map[string]*manifest.Rendition{"v": {Name: "v", Codecs: "avc1.64001f"}, "a": {Name: "a", Codecs: "mp4a.40.2"}},
		time.Second, time.Second)
	return x
}

// numbers lists the segment numbers of a chunk object.
func chunkNumbers(t *testing.T, o Object) []uint64 {
	t.Helper()
	v, err := DecodeChunk(o.Data)
	if err != nil {
		t.Fatal(err)
	}
	return numbers(v)
}

func TestIndexSealsAtSizeAndOnHoles(t *testing.T) {
	x := newTestIndex(3)
	var sealed []Object
	for _, n := range []uint64{0, 1, 2, 3, 4, 7, 8} { // 5, 6 never published
		o, err := x.Add("s1", seg(n, 0), epoch0)
		if err != nil {
			t.Fatal(err)
		}
		if o != nil {
			sealed = append(sealed, *o)
		}
	}
	if len(sealed) != 2 || sealed[0].Key != "s1/dvr/0.json" || sealed[1].Key != "s1/dvr/3.json" {
		t.Fatalf("sealed %v", sealed)
	}
	if got := fmt.Sprint(chunkNumbers(t, sealed[0]), chunkNumbers(t, sealed[1])); got != "[0 1 2] [3 4]" {
		t.Errorf("sealed chunks hold %s", got)
	}
	objs, err := x.Pending()
	if err != nil || len(objs) != 2 || objs[0].Key != "s1/dvr/7.json" || objs[1].Key != CatalogKey {
		t.Fatalf("Pending = %v, %v", objs, err)
	}
	c, err := DecodeCatalog(objs[1].Data)
	if err != nil {
		t.Fatal(err)
	}
	refs := c.Sessions[0].Chunks
	if len(refs) != 3 || refs[0].Last != 2 || !refs[0].End.Equal(epoch0.Add(3*time.Second)) || refs[1].Last != 4 || !refs[2].Open() {
		t.Errorf("chunk refs %+v", refs)
	}
	// Nothing changed: nothing pending.
	if objs, _ := x.Pending(); len(objs) != 0 {
		t.Errorf("Pending again = %v", objs)
	}
	x.EndSession()
	objs, _ = x.Pending()
	c, _ = DecodeCatalog(objs[len(objs)-1].Data)
	if s := c.Sessions[0]; !s.Ended || s.Chunks[2].Last != 8 || !s.Chunks[2].End.Equal(epoch0.Add(9*time.Second)) {
		t.Errorf("ended session %+v", s)
	}
}

// Resume keeps the stored chunk's segments up to the window's last, adds
// the window's newer ones, and reopens a chunk sealed past the window.
func TestIndexResume(t *testing.T) {
	stored := func(ns ...uint64) *manifest.View {
		var ss []*manifest.Segment
		for _, n := range ns {
			ss = append(ss, seg(n, 0))
		}
		y := newTestIndex(64)
		for _, s := range ss {
			if _, err := y.Add("s1", s, epoch0); err != nil {
				t.Fatal(err)
			}
		}
		o, err := y.encodeOpen()
		if err != nil {
			t.Fatal(err)
		}
		v, err := DecodeChunk(o.Data)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	window := []*manifest.Segment{seg(3, 0), seg(4, 0), seg(5, 0)}
	tests := []struct {
		name   string
		ref    ChunkRef
		chunk  []uint64 // nil: unreadable
		want   []uint64 // the open chunk after Resume
		chunks int
	}{
		{"chunk behind the window", ChunkRef{First: 0}, []uint64{0, 1, 2, 3}, []uint64{0, 1, 2, 3, 4, 5}, 1},
		{"chunk ahead of the window", ChunkRef{First: 0}, []uint64{0, 1, 2, 3, 4, 5, 6, 7}, []uint64{0, 1, 2, 3, 4, 5}, 1},
		{"sealed beyond the window", ChunkRef{First: 0, Last: 6, End: epoch0.Add(7 * time.Second)}, []uint64{0, 1, 2, 3, 4, 5, 6}, []uint64{0, 1, 2, 3, 4, 5}, 1},
		{"unreadable", ChunkRef{First: 0}, nil, []uint64{3, 4, 5}, 1},
		{"sealed, unreadable", ChunkRef{First: 0, Last: 3, End: epoch0.Add(4 * time.Second)}, nil, []uint64{4, 5}, 2},
		{"hole before the window", ChunkRef{First: 0}, []uint64{0, 1}, []uint64{3, 4, 5}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newTestIndex(64)
			x.cat.Sessions = []Session{{Dir: "s1", Chunks: []ChunkRef{tt.ref}}}
			var last *manifest.View
			if tt.chunk != nil {
				last = stored(tt.chunk...)
			}
			if _, err := x.Resume("s1", last, window); err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, s := range x.open {
				got = append(got, s.N)
			}
			refs := x.cat.Sessions[0].Chunks
			if !slices.Equal(got, tt.want) || len(refs) != tt.chunks || !refs[len(refs)-1].Open() {
				t.Errorf("open chunk %v, refs %+v; want %v in %d chunks", got, refs, tt.want, tt.chunks)
			}
		})
	}
}

func TestAgedAndDeletions(t *testing.T) {
	at := func(s int) time.Time { return epoch0.Add(time.Duration(s) * time.Second) }
	c := &Catalog{Sessions: []Session{
		{Dir: "s1", Ended: true, Chunks: []ChunkRef{{First: 0, Start: at(0), Last: 3, End: at(4)}, {First: 4, Start: at(4), Last: 5, End: at(6)}}},
		{Dir: "s2", Chunks: []ChunkRef{{First: 16, Start: at(10), Last: 19, End: at(14)}, {First: 20, Start: at(14)}}},
	}}
	if a := c.Aged(at(11), 8*time.Second, "s2"); len(a) != 0 {
		t.Errorf("aged at 11 s: %+v", a)
	}
	a := c.Aged(at(13), 8*time.Second, "s2")
	if len(a) != 1 || a[0].Dir != "s1" || a[0].Whole || len(a[0].Chunks) != 1 || a[0].Next.First != 4 {
		t.Fatalf("aged at 13 s: %+v", a)
	}
	a = c.Aged(at(30), 8*time.Second, "s2")
	if len(a) != 2 || !a[0].Whole || a[1].Whole || len(a[1].Chunks) != 1 || !a[1].Next.Open() {
		t.Fatalf("aged at 30 s: %+v", a)
	}
	for _, x := range a {
		c.Drop(x)
	}
	if len(c.Sessions) != 1 || c.Sessions[0].Dir != "s2" || len(c.Sessions[0].Chunks) != 1 || c.Sessions[0].Chunks[0].First != 20 {
		t.Errorf("after Drop: %+v", c.Sessions)
	}
	// The live session never goes whole.
	if a := (&Catalog{Sessions: []Session{{Dir: "s3"}}}).Aged(at(30), time.Second, "s3"); len(a) != 0 {
		t.Errorf("live session aged: %+v", a)
	}

	v := &manifest.View{Window: []*manifest.Segment{seg(0, 1), seg(1, 2), seg(2, 3)}}
	for _, tt := range []struct {
		keep  uint64
		known bool
		want  []string
	}{
		{0, false, []string{"s1/v/init-1.mp4", "s1/a/init-1.mp4", "s1/v/init-2.mp4", "s1/a/init-2.mp4"}},
		{3, true, []string{"s1/v/init-1.mp4", "s1/a/init-1.mp4", "s1/v/init-2.mp4", "s1/a/init-2.mp4"}},
		{4, true, []string{"s1/v/init-1.mp4", "s1/a/init-1.mp4", "s1/v/init-2.mp4", "s1/a/init-2.mp4", "s1/v/init-3.mp4", "s1/a/init-3.mp4"}},
	} {
		got := Deletions("s1", 0, v, tt.keep, tt.known)
		want := append([]string{"s1/v/0.m4s", "s1/a/0.m4s", "s1/v/1.m4s", "s1/a/1.m4s", "s1/v/2.m4s", "s1/a/2.m4s"}, tt.want...)
		want = append(want, "s1/dvr/0.json")
		if !slices.Equal(got, want) {
			t.Errorf("Deletions(keep %d, %v) =\n%v\nwant\n%v", tt.keep, tt.known, got, want)
		}
	}
	if got := Deletions("s1", 8, nil, 0, false); !slices.Equal(got, []string{"s1/dvr/8.json"}) {
		t.Errorf("Deletions of an unreadable chunk = %v", got)
	}
}
