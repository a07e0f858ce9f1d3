package dvr

import (
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// Object is an object of the index to store: a key under the channel
// prefix and its bytes.
type Object struct {
	Key  string
	Data []byte
}

// Index is the writer's side of the index: the catalog and the open chunk
// of the session being packaged. It does no I/O and keeps no lock: the
// packager adds every published segment (Add), stores the objects it
// returns (a sealed chunk: durably; Pending: with the manifests) and
// stores Pending's catalog after the chunk it names.
//
// It keeps only the open chunk's segments (at most the chunk size), never
// the whole window: older chunks are read back from storage when needed.
type Index struct {
	cat  *Catalog
	size int

	dir    string              // the session being packaged ("" before Add or Resume)
	open   []*manifest.Segment // the open chunk's segments, consecutive
	rends  map[string]*manifest.Rendition
	tracks []manifest.Stream
	segDur time.Duration
	maxDur time.Duration
	pub    time.Time // when the open chunk last changed

	chunkDirty bool // the open chunk changed since Pending
	catDirty   bool // the catalog changed since Pending
}

// NewIndex returns an index over cat (nil: an empty catalog) whose chunks
// are sealed at size segments (ChunkSize when size is not positive).
func NewIndex(cat *Catalog, size int) *Index {
	if cat == nil {
		cat = &Catalog{}
	}
	if size <= 0 || size > ChunkSize {
		size = ChunkSize
	}
	return &Index{cat: cat, size: size, rends: map[string]*manifest.Rendition{}}
}

// Catalog is the catalog as it is now in memory.
func (x *Index) Catalog() *Catalog { return x.cat }

// Has reports whether the catalog keeps the session in dir.
func (x *Index) Has(dir string) bool { return x.cat.find(dir) >= 0 }

// Dir is the session being packaged.
func (x *Index) Dir() string { return x.dir }

// OpenSegments is the number of segments in the open chunk.
func (x *Index) OpenSegments() int { return len(x.open) }

// OpenFirstInit is the init version of the open chunk's first segment of
// session dir, if it has one.
func (x *Index) OpenFirstInit(dir string) (uint64, bool) {
	if dir != x.dir || len(x.open) == 0 {
		return 0, false
	}
	return x.open[0].InitV, true
}

// find returns the index of session dir in the catalog, -1 if none.
func (c *Catalog) find(dir string) int {
	return slices.IndexFunc(c.Sessions, func(s Session) bool { return s.Dir == dir })
}

// session returns session dir, adding it (last) if the catalog has none.
func (x *Index) session(dir string) *Session {
	i := x.cat.find(dir)
	if i < 0 {
		x.cat.Sessions = append(x.cat.Sessions, Session{Dir: dir})
		x.catDirty = true
		i = len(x.cat.Sessions) - 1
	}
	return &x.cat.Sessions[i]
}

// Describe records what the chunks say of the renditions and the session
// (taken at every publish): descriptions of renditions, the ladder, the
// configured and longest segment durations.
func (x *Index) Describe(tracks []manifest.Stream, rends map[string]*manifest.Rendition, segDur, maxDur time.Duration) {
	x.tracks = tracks
	for name, r := range rends {
		if r != nil {
			x.rends[name] = r
		}
	}
	x.segDur, x.maxDur = segDur, max(x.maxDur, maxDur)
}

// Add appends the published segment seg of session dir. When the open
// chunk is full, or seg does not follow its last segment, the open chunk
// is sealed first: Add returns it (to be stored durably, before the
// catalog that says it is sealed) and seg opens a new chunk.
func (x *Index) Add(dir string, seg *manifest.Segment, published time.Time) (sealed *Object, err error) {
	if x.dir != dir {
		if len(x.open) > 0 {
			if sealed, err = x.seal(); err != nil {
				return nil, err
			}
		}
		x.dir = dir
	}
	if n := len(x.open); n > 0 && (n >= x.size || x.open[n-1].N+1 != seg.N) {
		if sealed, err = x.seal(); err != nil {
			return nil, err
		}
	}
	s := x.session(dir)
	if len(x.open) == 0 {
		s.Chunks = append(s.Chunks, ChunkRef{First: seg.N, Start: mediaTime(seg.Start())})
		x.catDirty = true
	}
	x.open = append(x.open, seg)
	x.pub = published
	x.chunkDirty = true
	return sealed, nil
}

// seal completes the open chunk: its reference gets its last segment and
// media end, and its final bytes are returned.
func (x *Index) seal() (*Object, error) {
	obj, err := x.encodeOpen()
	if err != nil {
		return nil, err
	}
	if i := x.cat.find(x.dir); i >= 0 {
		s := &x.cat.Sessions[i]
		if n := len(s.Chunks); n > 0 && s.Chunks[n-1].First == x.open[0].N {
			last := x.open[len(x.open)-1]
			s.Chunks[n-1].Last, s.Chunks[n-1].End = last.N, SegmentEnd(last)
		}
	}
	x.open = nil
	x.chunkDirty = false
	x.catDirty = true
	return obj, nil
}

// encodeOpen encodes the open chunk.
func (x *Index) encodeOpen() (*Object, error) {
	v := &manifest.View{
		SegDur: x.segDur, MaxSegDur: x.maxDur, Tracks: x.tracks, Dir: x.dir, Published: x.pub,
		Window: x.open, Rends: map[string]*manifest.Rendition{},
	}
	for _, t := range x.tracks {
		if r := x.rends[t.Name]; r != nil {
			v.Rends[t.Name] = r
		}
	}
	for _, s := range x.open {
		for i := range s.Entries {
			name := s.Entries[i].Name
			if r := x.rends[name]; r != nil {
				v.Rends[name] = r
			} else if v.Rends[name] == nil {
				v.Rends[name] = &manifest.Rendition{Name: name}
			}
		}
	}
	data, err := EncodeChunk(v)
	if err != nil {
		return nil, err
	}
	return &Object{Key: ChunkKey(x.dir, x.open[0].N), Data: data}, nil
}

// Pending returns what changed since the last call, in the order to store
// it: the open chunk, then the catalog.
func (x *Index) Pending() ([]Object, error) {
	var out []Object
	if x.chunkDirty && len(x.open) > 0 {
		obj, err := x.encodeOpen()
		if err != nil {
			return nil, err
		}
		out = append(out, *obj)
	}
	x.chunkDirty = false
	if x.catDirty {
		data, err := x.cat.Encode()
		if err != nil {
			return nil, err
		}
		out = append(out, Object{Key: CatalogKey, Data: data})
		x.catDirty = false
	}
	return out, nil
}

// Touch marks the catalog changed (retention dropped chunks).
func (x *Index) Touch() { x.catDirty = true }

// EndSession records that the session being packaged ended: its last
// chunk gets its span (it grows no more) and the session is marked
// ended. The next Pending returns the last chunk and the catalog.
func (x *Index) EndSession() {
	if x.dir == "" {
		return
	}
	i := x.cat.find(x.dir)
	if i < 0 {
		return
	}
	s := &x.cat.Sessions[i]
	if n := len(s.Chunks); n > 0 && len(x.open) > 0 && s.Chunks[n-1].First == x.open[0].N {
		last := x.open[len(x.open)-1]
		s.Chunks[n-1].Last, s.Chunks[n-1].End = last.N, SegmentEnd(last)
		x.chunkDirty = true
	}
	s.Ended = true
	x.catDirty = true
}

// Resume takes over session dir, interrupted by a crash, so that Add goes
// on appending to its last chunk: last is that chunk as stored (nil if
// unreadable or none), window the segments the session's manifests last
// listed (state.json). The chunk keeps its segments up to the window's
// last (numbers above it were never listed in a stored manifest); the
// window's segments after the chunk, holes a continuation lists included,
// are added. An open chunk that cannot be read
// is dropped from the catalog (its segments are no longer indexed; the
// objects go with the session's directory); a sealed one stays. It returns the chunks sealed
// on the way, to be stored durably like those Add returns.
func (x *Index) Resume(dir string, last *manifest.View, window []*manifest.Segment) ([]Object, error) {
	s := x.session(dir)
	s.Ended = false
	x.dir, x.open, x.chunkDirty = dir, nil, false
	lastN := uint64(0)
	if len(window) > 0 {
		lastN = window[len(window)-1].N
	}
	if n := len(s.Chunks); n > 0 {
		ref := s.Chunks[n-1]
		var keep []*manifest.Segment
		if last != nil && len(last.Window) > 0 && last.Window[0].N == ref.First {
			for _, seg := range last.Window {
				if seg.N <= lastN || len(window) == 0 {
					keep = append(keep, seg)
				}
			}
			for name, r := range last.Rends {
				if x.rends[name] == nil {
					x.rends[name] = r
				}
			}
			if x.tracks == nil {
				x.tracks = last.Tracks
			}
			x.segDur, x.maxDur = last.SegDur, max(x.maxDur, last.MaxSegDur)
			x.pub = last.Published
		}
		switch {
		case last == nil && !ref.Open() && ref.Last <= lastN:
			// Sealed, not readable now: kept as the catalog has it.
		case len(keep) == 0:
			s.Chunks = s.Chunks[:n-1] // unreadable, or all its segments were never listed
			x.catDirty = true
		case !ref.Open() && keep[len(keep)-1].N == ref.Last:
			// Sealed and whole: the window's newer segments open the next.
		default:
			s.Chunks[n-1].Last, s.Chunks[n-1].End = 0, time.Time{}
			x.open = keep
			x.chunkDirty = true
			x.catDirty = x.catDirty || !ref.Open()
		}
	}
	after := uint64(0)
	if n := len(s.Chunks); n > 0 {
		after = s.Chunks[n-1].First
		if !s.Chunks[n-1].Open() {
			after = s.Chunks[n-1].Last + 1
		} else if k := len(x.open); k > 0 {
			after = x.open[k-1].N + 1
		}
	}
	var sealed []Object
	for _, seg := range window {
		if seg.N < after {
			continue
		}
		obj, err := x.Add(dir, seg, x.pub)
		if err != nil {
			return sealed, err
		}
		if obj != nil {
			sealed = append(sealed, *obj)
		}
	}
	return sealed, nil
}

// SegmentEnd is the media end of a segment: the latest end of its entries.
func SegmentEnd(s *manifest.Segment) time.Time {
	v := manifest.View{Window: []*manifest.Segment{s}}
	return mediaTime(v.End())
}

// mediaTime turns a duration since the Unix epoch into a time.
func mediaTime(d time.Duration) time.Time { return time.Unix(0, int64(d)).UTC() }
