package manifest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Record is the persisted form of a View: what state.json keeps of the
// manifests a live session wrote last (and whether they are still live
// ones), and what vod.json keeps of a VOD. After a crash, recovery renders
// the ended manifests from it with the code the end of a session uses.
//
// Records name their renditions by index in Streams and their period by id
// in Periods, so a window takes about 60 bytes per segment plus 30 per
// rendition entry (about 1 KB for 6 segments of a 4-rendition ladder).
type Record struct {
	// Live is set from the session's first publish until End (or Recover)
	// has written its ended manifests.
	Live bool `json:"live"`
	// Published is when the session last published: a session left live
	// within the continuation grace of it may be continued.
	// Zero in state written before it existed: never continued.
	Published time.Time `json:"published,omitzero"`
	// Ending is set once End has started writing the ended manifests: some
	// playlists may carry EXT-X-ENDLIST already, so the session is never
	// continued, only ended again.
	Ending bool `json:"ending,omitempty"`
	// Dir is the session's directory under the prefix ("s{k}"); absent for
	// a session of the earlier layout (renditions straight under the prefix).
	Dir             string        `json:"dir,omitempty"`
	SegmentDuration time.Duration `json:"segment_duration"`
	MaxSegment      time.Duration `json:"max_segment"`
	Streams         []streamState `json:"streams"`
	Tracks          []int         `json:"tracks"` // the ladder the manifests list, indexes in Streams
	Renditions      []*Rendition  `json:"renditions"`
	Periods         []periodState `json:"periods"`
	Window          []recordState `json:"window"`
	// Frozen are the playlists of renditions that left the ladder.
	Frozen []Frozen `json:"frozen,omitempty"`
}

// streamState is a rendition as an epoch had it (a name may come back with
// another kind or timescale in a later epoch).
type streamState struct {
	Name      string     `json:"name"`
	Kind      media.Kind `json:"kind"`
	Timescale uint32     `json:"ts"`
}

type periodState struct {
	ID    uint64        `json:"id"`
	Start time.Duration `json:"start"`
}

// recordState is a segRecord.
type recordState struct {
	N      uint64 `json:"n"`
	Disc   bool   `json:"disc,omitempty"`
	DSeq   uint64 `json:"dseq,omitempty"`
	Init   uint64 `json:"init,omitempty"`
	Period uint64 `json:"p"`
	Lead   int    `json:"lead"` // index in E
	Hole   bool   `json:"hole,omitempty"`
	// E has one entry per rendition: [stream, t, d] or [stream, t, d, 1] for a gap.
	E [][]uint64 `json:"e"`
}

// Encode returns the persisted form of v.
func Encode(v *View, live bool) *Record {
	s := &Record{Live: live, Published: v.Published, Dir: v.Dir, SegmentDuration: v.SegDur, MaxSegment: v.MaxSegDur, Frozen: v.Frozen}
	index := map[Stream]int{}
	stream := func(r Stream) uint64 {
		i, ok := index[r]
		if !ok {
			i = len(s.Streams)
			index[r] = i
			s.Streams = append(s.Streams, streamState{Name: r.Name, Kind: r.Kind, Timescale: r.TS})
		}
		return uint64(i)
	}
	s.Tracks = make([]int, len(v.Tracks))
	for i, t := range v.Tracks {
		s.Tracks[i] = int(stream(t))
	}
	s.Window = make([]recordState, len(v.Window))
	for i, r := range v.Window {
		if p := (periodState{ID: r.Period.ID, Start: r.Period.Start}); len(s.Periods) == 0 || s.Periods[len(s.Periods)-1] != p {
			s.Periods = append(s.Periods, p)
		}
		rs := recordState{N: r.N, Disc: r.Disc, DSeq: r.DSeq, Init: r.InitV, Period: r.Period.ID, Lead: -1, Hole: r.Hole,
			E: make([][]uint64, len(r.Entries))}
		for j, e := range r.Entries {
			if rs.Lead < 0 && e.Name == r.Lead {
				rs.Lead = j
			}
			x := []uint64{stream(Stream{Name: e.Name, Kind: e.Kind, TS: e.TS}), e.T, e.D}
			if e.Gap {
				x = append(x, 1)
			}
			rs.E[j] = x
		}
		s.Window[i] = rs
	}
	for _, name := range slices.Sorted(maps.Keys(v.Rends)) {
		s.Renditions = append(s.Renditions, v.Rends[name])
	}
	return s
}

// View rebuilds the View s was encoded from, checking that it is whole.
func (s *Record) View() (*View, error) {
	if len(s.Window) == 0 {
		return nil, errors.New("no segments")
	}
	for i, st := range s.Streams {
		if st.Timescale == 0 || !ValidName(st.Name) {
			return nil, fmt.Errorf("stream %d: invalid name %q or timescale %d", i, st.Name, st.Timescale)
		}
	}
	if s.Dir != "" && !ValidDir(s.Dir) {
		return nil, fmt.Errorf("invalid session directory %q", s.Dir)
	}
	for _, f := range s.Frozen {
		if !ValidName(f.Name) || f.Playlist == nil {
			return nil, fmt.Errorf("invalid frozen playlist %q", f.Name)
		}
	}
	v := &View{SegDur: s.SegmentDuration, MaxSegDur: s.MaxSegment, Dir: s.Dir, Frozen: s.Frozen, Published: s.Published,
		Rends: make(map[string]*Rendition, len(s.Renditions))}
	for _, i := range s.Tracks {
		if i < 0 || i >= len(s.Streams) {
			return nil, fmt.Errorf("track: no stream %d", i)
		}
		st := s.Streams[i]
		v.Tracks = append(v.Tracks, Stream{Name: st.Name, Kind: st.Kind, TS: st.Timescale})
	}
	for _, r := range s.Renditions {
		if r == nil {
			return nil, errors.New("null rendition")
		}
		v.Rends[r.Name] = r
	}
	periods := make(map[uint64]time.Duration, len(s.Periods))
	for _, p := range s.Periods {
		periods[p.ID] = p.Start
	}
	v.Window = make([]*Segment, len(s.Window))
	for i, rs := range s.Window {
		start, ok := periods[rs.Period]
		if !ok {
			return nil, fmt.Errorf("segment %d: no period %d", rs.N, rs.Period)
		}
		if rs.Lead < 0 || rs.Lead >= len(rs.E) {
			return nil, fmt.Errorf("segment %d: no entry %d for the lead", rs.N, rs.Lead)
		}
		r := &Segment{N: rs.N, Disc: rs.Disc, DSeq: rs.DSeq, InitV: rs.Init, Period: Period{ID: rs.Period, Start: start}, Hole: rs.Hole,
			Entries: make([]Entry, len(rs.E))}
		for j, x := range rs.E {
			if len(x) < 3 || len(x) > 4 || x[0] >= uint64(len(s.Streams)) {
				return nil, fmt.Errorf("segment %d: invalid entry %v", rs.N, x)
			}
			st := s.Streams[x[0]]
			if v.Rends[st.Name] == nil {
				return nil, fmt.Errorf("segment %d: rendition %s not described", rs.N, st.Name)
			}
			r.Entries[j] = Entry{Name: st.Name, Kind: st.Kind, TS: st.Timescale, T: x[1], D: x[2], Gap: len(x) == 4 && x[3] != 0}
		}
		r.Lead = r.Entries[rs.Lead].Name
		v.Window[i] = r
	}
	return v, nil
}
