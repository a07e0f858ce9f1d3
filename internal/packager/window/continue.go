package window

import (
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// Previous is the record of the manifests the channel's previous session
// wrote last, as state.json had it (nil if none).
func (s *State) Previous() *manifest.Record { return s.prev }

// PreviousEnded records that the previous session's ended manifests are
// written.
func (s *State) PreviousEnded() {
	if s.prev != nil {
		s.prev.Live = false
	}
}

// ContinueUntil is until when the previous session, as state.json has it,
// may be continued (its ladder aside); zero if it may not: not left live,
// End had started ending it, a session of the earlier layout (no
// directory), or no publish time recorded.
func (s *State) ContinueUntil() time.Time {
	p := s.prev
	if p == nil || !p.Live || p.Ending || p.Dir == "" || p.Published.IsZero() || s.cfg.ContinueGrace < 0 {
		return time.Time{}
	}
	return p.Published.Add(s.cfg.ContinueGrace)
}

// Continuable reports whether the previous session may be continued now.
// A publish time further ahead than the grace (a clock gone wrong) does
// not count.
func (s *State) Continuable() bool {
	until := s.ContinueUntil()
	if until.IsZero() {
		return false
	}
	now := s.cfg.Now()
	return now.Before(until) && now.After(s.prev.Published.Add(-s.cfg.ContinueGrace))
}

// StartSession gives the session the next session directory of the
// channel (counted in the next state.json, stored before any object in it)
// and returns it.
func (s *State) StartSession() string {
	k := max(s.nextSession, 1)
	s.nextSession = k + 1
	s.dir = manifest.SessionDir(k)
	s.listed.Dir = s.dir
	return s.dir
}

// Resume takes over the previous session's directory and published window
// v: the next segment continues its numbering and, having no known init
// bytes, gets a new init version, so it starts a new DASH Period and
// carries EXT-X-DISCONTINUITY (the caller marks the epoch discontinuous).
// start is when the continuation's media starts.
//
// Segment numbers above the last published one were reserved but never
// listed in any stored manifest (state.json records the window before each
// manifest write). Without a memory edge they were never served either, so
// the continuation reuses them: the media sequence has no hole. With one
// (File.MemoryEdge), the dead process may have served any of them from
// memory (parts of the segment it was cutting, cached as immutable by an
// edge), so the continuation skips them all: each is listed as a Hole,
// an EXT-X-GAP sharing the time until start (at most a target duration
// each), and the next segment takes the first number never reserved.
func (s *State) Resume(v *manifest.View, start time.Time) {
	last := v.Window[len(v.Window)-1]
	s.dir = v.Dir
	s.listed = Listing{Dir: v.Dir, FirstSegment: v.Window[0].N}
	for i := range s.oldListed {
		if s.oldListed[i].Dir == v.Dir {
			s.listed = s.oldListed[i]
			s.oldListed = slices.Delete(s.oldListed, i, i+1)
			break
		}
	}
	s.listedStarted = true
	for _, r := range v.Window {
		for i := range r.Entries {
			s.listed.addRendition(r.Entries[i].Name)
		}
		if !slices.Contains(s.listed.Inits, r.InitV) {
			s.listed.Inits = append(s.listed.Inits, r.InitV)
		}
	}
	for _, ver := range s.listed.Inits {
		s.initNames[ver] = slices.Clone(s.listed.Renditions)
	}
	// Earlier sessions are normally scheduled for deletion already (at the
	// interrupted session's first publish); anything left goes the same way.
	for i := range s.oldListed {
		s.scheduleDeleteListing(&s.oldListed[i])
	}
	s.oldListed = nil
	for name, rv := range v.Rends {
		s.rends[name] = meterFromView(rv)
	}
	s.window = slices.Clone(v.Window)
	if s.prevMemory && s.reserved > last.N+1 {
		s.window = append(s.window, holes(last, s.reserved, start, s.cfg.SegmentDuration)...)
		v = &manifest.View{SegDur: v.SegDur, MaxSegDur: v.MaxSegDur, Tracks: v.Tracks, Rends: v.Rends,
			Window: slices.Clone(s.window), Dir: v.Dir, Published: v.Published, Frozen: v.Frozen}
	}
	s.maxSegDur = v.MaxSegDur
	s.pubTracks = v.Tracks
	s.period = last.Period
	s.frozen = slices.Clone(v.Frozen)
	s.last = v
	s.published = true
	s.hadPrevious = true
	s.lastSegment = last.N
	s.nextSeg = last.N + 1
	if s.prevMemory {
		s.nextSeg = max(s.nextSeg, s.reserved)
	}
	s.continued = true
	s.log.Warn("continuing the session interrupted by a crash", "last_segment", last.N,
		"last_publish", v.Published, "window", len(v.Window), "next_segment", s.nextSeg)
}

// holes returns the Holes for the numbers after last up to (not
// including) next: each as long as an equal share of the time from last's
// end to start, at most segDur and at least a millisecond.
func holes(last *manifest.Segment, next uint64, start time.Time, segDur time.Duration) []*manifest.Segment {
	k := next - last.N - 1
	le := last.Entry(last.Lead)
	end := timeline.Time(le.T+le.D, le.TS)
	share := start.Sub(end) / time.Duration(k)
	share = min(max(share, time.Millisecond), segDur)
	out := make([]*manifest.Segment, 0, k)
	prev := last
	for n := last.N + 1; n < next; n++ {
		h := &manifest.Segment{N: n, DSeq: last.DSeq, InitV: last.InitV, Period: last.Period, Lead: last.Lead, Hole: true,
			Entries: make([]manifest.Entry, len(prev.Entries))}
		for i, e := range prev.Entries {
			h.Entries[i] = manifest.Entry{Name: e.Name, Kind: e.Kind, TS: e.TS, T: e.T + e.D,
				D: timeline.TicksAt(int64(share), e.TS), Gap: true}
		}
		out = append(out, h)
		prev = h
	}
	return out
}

// meterFromView rebuilds what a continued session knows of a rendition
// from its description in state.json: its peak bitrate carries over, so
// that BANDWIDTH does not drop until new segments are measured.
func meterFromView(rv *manifest.Rendition) *manifest.Meter {
	return &manifest.Meter{
		Name: rv.Name, Language: rv.Language, Label: rv.Label, Default: rv.Default,
		Info: cmaf.Info{Codecs: rv.Codecs, Width: rv.Width, Height: rv.Height, SarW: rv.SarW, SarH: rv.SarH,
			SampleRate: rv.SampleRate, Channels: rv.Channels},
		Declared: rv.Average, Peak: rv.Bandwidth, FPS: rv.FrameRate,
	}
}
