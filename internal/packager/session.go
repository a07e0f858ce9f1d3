package packager

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// sessionState is what state.json keeps of the manifests a session wrote
// last: the view they were rendered from (see view.go) and whether they are
// still live ones. After a crash, Recover renders the ended manifests from
// it with the code End uses.
//
// Records name their renditions by index in Streams and their period by id
// in Periods, so a window takes about 60 bytes per segment plus 30 per
// rendition entry (about 1 KB for 6 segments of a 4-rendition ladder).
type sessionState struct {
	// Live is set from the session's first publish until End (or Recover)
	// has written its ended manifests.
	Live bool `json:"live"`
	// Published is when the session last published: a session left live
	// within Config.ContinueGrace of it may be continued (continue.go).
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
	Renditions      []*rendView   `json:"renditions"`
	Periods         []periodState `json:"periods"`
	Window          []recordState `json:"window"`
	// Frozen are the playlists of renditions that left the ladder.
	Frozen []frozenPlaylist `json:"frozen,omitempty"`
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
	// E has one entry per rendition: [stream, t, d] or [stream, t, d, 1] for a gap.
	E [][]uint64 `json:"e"`
}

// encodeSession returns the persisted form of v.
func encodeSession(v *view, live bool) *sessionState {
	s := &sessionState{Live: live, Published: v.published, Dir: v.dir, SegmentDuration: v.segDur, MaxSegment: v.maxSegDur, Frozen: v.frozen}
	index := map[trackRef]int{}
	stream := func(r trackRef) uint64 {
		i, ok := index[r]
		if !ok {
			i = len(s.Streams)
			index[r] = i
			s.Streams = append(s.Streams, streamState{Name: r.name, Kind: r.kind, Timescale: r.ts})
		}
		return uint64(i)
	}
	s.Tracks = make([]int, len(v.tracks))
	for i, t := range v.tracks {
		s.Tracks[i] = int(stream(t))
	}
	s.Window = make([]recordState, len(v.window))
	for i, r := range v.window {
		if p := (periodState{ID: r.period.id, Start: r.period.start}); len(s.Periods) == 0 || s.Periods[len(s.Periods)-1] != p {
			s.Periods = append(s.Periods, p)
		}
		rs := recordState{N: r.n, Disc: r.disc, DSeq: r.dseq, Init: r.initV, Period: r.period.id, Lead: -1,
			E: make([][]uint64, len(r.entries))}
		for j, e := range r.entries {
			if rs.Lead < 0 && e.name == r.lead {
				rs.Lead = j
			}
			x := []uint64{stream(trackRef{name: e.name, kind: e.kind, ts: e.ts}), e.t, e.d}
			if e.gap {
				x = append(x, 1)
			}
			rs.E[j] = x
		}
		s.Window[i] = rs
	}
	for _, name := range slices.Sorted(maps.Keys(v.rends)) {
		s.Renditions = append(s.Renditions, v.rends[name])
	}
	return s
}

// view rebuilds the view s was encoded from, checking that it is whole.
func (s *sessionState) view() (*view, error) {
	if len(s.Window) == 0 {
		return nil, errors.New("no segments")
	}
	for i, st := range s.Streams {
		if st.Timescale == 0 || !validName(st.Name) {
			return nil, fmt.Errorf("stream %d: invalid name %q or timescale %d", i, st.Name, st.Timescale)
		}
	}
	if s.Dir != "" && !validDir(s.Dir) {
		return nil, fmt.Errorf("invalid session directory %q", s.Dir)
	}
	for _, f := range s.Frozen {
		if !validName(f.Name) || f.Playlist == nil {
			return nil, fmt.Errorf("invalid frozen playlist %q", f.Name)
		}
	}
	v := &view{segDur: s.SegmentDuration, maxSegDur: s.MaxSegment, dir: s.Dir, frozen: s.Frozen, published: s.Published,
		rends: make(map[string]*rendView, len(s.Renditions))}
	for _, i := range s.Tracks {
		if i < 0 || i >= len(s.Streams) {
			return nil, fmt.Errorf("track: no stream %d", i)
		}
		st := s.Streams[i]
		v.tracks = append(v.tracks, trackRef{name: st.Name, kind: st.Kind, ts: st.Timescale})
	}
	for _, r := range s.Renditions {
		if r == nil {
			return nil, errors.New("null rendition")
		}
		v.rends[r.Name] = r
	}
	periods := make(map[uint64]time.Duration, len(s.Periods))
	for _, p := range s.Periods {
		periods[p.ID] = p.Start
	}
	v.window = make([]*segRecord, len(s.Window))
	for i, rs := range s.Window {
		start, ok := periods[rs.Period]
		if !ok {
			return nil, fmt.Errorf("segment %d: no period %d", rs.N, rs.Period)
		}
		if rs.Lead < 0 || rs.Lead >= len(rs.E) {
			return nil, fmt.Errorf("segment %d: no entry %d for the lead", rs.N, rs.Lead)
		}
		r := &segRecord{n: rs.N, disc: rs.Disc, dseq: rs.DSeq, initV: rs.Init, period: periodRef{id: rs.Period, start: start},
			entries: make([]entry, len(rs.E))}
		for j, x := range rs.E {
			if len(x) < 3 || len(x) > 4 || x[0] >= uint64(len(s.Streams)) {
				return nil, fmt.Errorf("segment %d: invalid entry %v", rs.N, x)
			}
			st := s.Streams[x[0]]
			if v.rends[st.Name] == nil {
				return nil, fmt.Errorf("segment %d: rendition %s not described", rs.N, st.Name)
			}
			r.entries[j] = entry{name: st.Name, kind: st.Kind, ts: st.Timescale, t: x[1], d: x[2], gap: len(x) == 4 && x[3] != 0}
		}
		r.lead = r.entries[rs.Lead].name
		v.window[i] = r
	}
	return v, nil
}
