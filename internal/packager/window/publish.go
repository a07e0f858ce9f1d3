package window

import (
	"bytes"
	"slices"

	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// Epoch describes the epoch (one ladder, from one transcoder start to the
// next) a published segment belongs to.
type Epoch struct {
	Index   int
	Streams []manifest.Stream // the ladder, in order
	Tracks  []cut.Track       // how the cutter has it (descriptions, init segments)
	// First: this is the epoch's first published segment.
	First bool
	// Disc: the epoch's first segment is discontinuous.
	Disc bool
	// NewPeriod: the epoch has a new init version, so a new DASH Period.
	NewPeriod bool
}

// AddRenditions records that this session stores objects of these
// renditions (at each Begin).
func (s *State) AddRenditions(names []string) {
	for _, n := range names {
		s.listed.addRendition(n)
	}
}

// Publish adds the next segment to the window: it measures it, marks the
// epoch's first as discontinuous, puts it in its DASH Period, and slides
// the window, scheduling what leaves it (segments, and init versions for
// which inUse, the caller's own view of init versions about to be listed,
// is false) for deletion.
func (s *State) Publish(rec *manifest.Segment, ep Epoch, inUse func(v uint64) bool) {
	if s.pubEpoch != ep.Index {
		s.pubEpoch, s.pubTracks = ep.Index, ep.Streams
	}
	if !s.published {
		// The previous sessions' objects are no longer referenced once this
		// session's manifests replace its manifests (its ended playlists,
		// in its own directory, stay as they were until then).
		for i := range s.oldListed {
			if ls := &s.oldListed[i]; s.cfg.Retain == nil || ls.Dir == "" || !s.cfg.Retain(ls.Dir) {
				s.scheduleDeleteListing(ls)
			}
		}
		s.oldListed = nil
	}
	if ep.First {
		s.describe(ep.Tracks)
	}
	rec.Disc = ep.First && ep.Disc
	if rec.Disc {
		s.discSeq++
	}
	rec.DSeq = s.discSeq
	for i, st := range ep.Streams {
		d := s.rends[st.Name].Add(&rec.Entries[i], st.Kind, s.cfg.SegmentDuration, ep.Index)
		s.maxSegDur = max(s.maxSegDur, d)
	}
	if ep.First && (ep.NewPeriod || !s.published) {
		s.period = manifest.Period{ID: rec.N, Start: rec.Start()}
	}
	rec.Period = s.period
	s.window = append(s.window, rec)
	s.slide(inUse)
	s.published = true
	s.segments++
	s.lastSegment = rec.N
	s.lastPublish = s.cfg.Now()
}

// describe takes what the manifests say of the renditions from an epoch's
// tracks, at its first publish.
func (s *State) describe(tracks []cut.Track) {
	for _, t := range tracks {
		r := t.Rendition
		ri := s.rends[r.Name]
		if ri == nil {
			ri = &manifest.Meter{Name: r.Name}
			s.rends[r.Name] = ri
		}
		if t.HasInit {
			ri.Info = t.Info
		}
		ri.Declared, ri.DeclaredMax = r.Bitrate, r.MaxBitrate
		ri.Language, ri.Label, ri.Default = r.Language, r.Label, r.Default
	}
}

// DecideInit picks the init version of an epoch at its first segment:
// the previous one if every rendition's init segment is byte-identical,
// otherwise a new version (isNew), whose objects the caller stores for
// the renditions named (those with an init segment) before any manifest
// lists it, and after storing state.json, which counts the version.
func (s *State) DecideInit(tracks []cut.Track) (v uint64, isNew bool, names []string) {
	same := s.lastInits != nil && len(s.lastInits) == len(tracks)
	for _, t := range tracks {
		if b, ok := s.lastInits[t.Rendition.Name]; !ok || !bytes.Equal(b, t.Init) {
			same = false
		}
	}
	if same {
		return s.lastInitV, false, nil
	}
	v = s.nextInit
	s.nextInit++
	inits := map[string][]byte{}
	for _, t := range tracks {
		if t.HasInit {
			inits[t.Rendition.Name] = t.Init
			names = append(names, t.Rendition.Name)
		}
	}
	s.lastInits, s.lastInitV = inits, v
	s.initNames[v] = names
	s.listed.Inits = append(s.listed.Inits, v)
	return v, true, names
}

// slide drops segments beyond the window and init versions no longer
// referenced, scheduling their objects for deletion after the grace period.
func (s *State) slide(inUse func(uint64) bool) {
	for len(s.window)-holesIn(s.window) > s.cfg.Window {
		old := s.window[0]
		s.window[0] = nil
		s.window = s.window[1:]
		keys := make([]string, 0, len(old.Entries))
		for _, e := range old.Entries {
			keys = append(keys, manifest.JoinKey(s.dir, manifest.SegmentKey(e.Name, old.N)))
		}
		if !s.retained() {
			s.scheduleDelete(keys...)
		}
		s.listed.FirstSegment = old.N + 1
	}
	kept := s.listed.Inits[:0]
	for _, v := range s.listed.Inits {
		if inUse(v) || slices.ContainsFunc(s.window, func(r *manifest.Segment) bool { return r.InitV == v }) {
			kept = append(kept, v)
			continue
		}
		var keys []string
		for _, name := range s.initNames[v] {
			keys = append(keys, manifest.JoinKey(s.dir, manifest.InitKey(name, v)))
		}
		if !s.retained() {
			s.scheduleDelete(keys...)
		}
		delete(s.initNames, v)
	}
	s.listed.Inits = kept
}

// retained reports whether the session's objects that leave the window
// stay for the DVR index to age out.
func (s *State) retained() bool { return s.cfg.Retain != nil && s.dir != "" }

// holesIn counts the Holes in w: they do not count toward the window.
func holesIn(w []*manifest.Segment) int {
	n := 0
	for _, r := range w {
		if r.Hole {
			n++
		}
	}
	return n
}

// Snapshot takes the view of what is published now, to render the
// manifests from, and keeps it as the last view (state.json records it).
// The ladder is the one of the epoch that published last, so the
// manifests keep listing the renditions viewers know until a new epoch
// publishes; renditions that left the ladder since the last view keep the
// playlist it wrote (Frozen).
func (s *State) Snapshot() *manifest.View {
	v := &manifest.View{
		SegDur:    s.cfg.SegmentDuration,
		MaxSegDur: s.maxSegDur,
		Tracks:    s.pubTracks,
		Rends:     make(map[string]*manifest.Rendition, len(s.pubTracks)),
		Window:    slices.Clone(s.window),
		Dir:       s.dir,
		Published: s.lastPublish,
	}
	add := func(name string) {
		if ri := s.rends[name]; ri != nil && v.Rends[name] == nil {
			v.Rends[name] = ri.Describe()
		}
	}
	for _, t := range v.Tracks {
		add(t.Name)
	}
	for _, r := range v.Window {
		for i := range r.Entries {
			add(r.Entries[i].Name)
		}
	}
	s.freeze(s.last, v)
	v.Frozen = slices.Clone(s.frozen)
	s.last = v
	return v
}

// freeze updates s.frozen for v, the view about to be written after prev:
// renditions whose playlist prev wrote and v no longer lists are frozen
// with that playlist; renditions back in the ladder are live again.
func (s *State) freeze(prev, v *manifest.View) {
	inLadder := func(w *manifest.View, name string) bool {
		return slices.ContainsFunc(w.Tracks, func(t manifest.Stream) bool { return t.Name == name })
	}
	s.frozen = slices.DeleteFunc(s.frozen, func(f manifest.Frozen) bool { return inLadder(v, f.Name) })
	if prev == nil {
		return
	}
	for _, t := range prev.Tracks {
		if inLadder(v, t.Name) || slices.ContainsFunc(s.frozen, func(f manifest.Frozen) bool { return f.Name == t.Name }) {
			continue
		}
		if pl := prev.MediaPlaylist(t.Name, false); pl != nil {
			s.frozen = append(s.frozen, manifest.Frozen{Name: t.Name, Playlist: pl})
			s.log.Info("rendition left the ladder; its playlist stays as it is until the session ends", "rendition", t.Name)
		}
	}
	slices.SortFunc(s.frozen, func(a, b manifest.Frozen) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
}

// Epoch is the index of the epoch that published last (0 before).
func (s *State) Epoch() int { return s.pubEpoch }

// LastView is the view the manifests were last rendered from (nil before
// the first).
func (s *State) LastView() *manifest.View { return s.last }
