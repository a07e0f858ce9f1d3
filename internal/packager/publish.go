package packager

import (
	"bytes"

	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
)

// publishReady stages, in order, every segment number all renditions
// have closed, then publishes what is stored (publishStaged).
func (l *Live) publishReady(final bool) error {
	ep := l.ep
	for {
		sl, ok := ep.cut.Ready()
		if !ok {
			break
		}
		l.stage(ep, sl)
	}
	return l.publishStaged(final)
}

// staged is a complete slot waiting for its objects to be stored.
type staged struct {
	ep *epoch
	sl cut.Slot
	m  *marks
}

// marks follows the objects of one segment number through the writer:
// the slot is listed once none is waiting; those given up make gaps.
type marks struct {
	waiting int
	gaps    []bool // by rendition index
}

// marksFor returns the marks of segment number n of the current epoch.
func (l *Live) marksFor(n uint64) *marks {
	m := l.marks[n]
	if m == nil {
		m = &marks{gaps: make([]bool, len(l.ep.streams))}
		if l.marks == nil {
			l.marks = map[uint64]*marks{}
		}
		l.marks[n] = m
	}
	return m
}

// closed takes a rendition's closed segment from the cutter: its object
// goes to the background writer, and the segment number is listed only
// once it is stored.
func (l *Live) closed(s cut.Closed) error {
	l.publishDue = true
	if s.Data == nil {
		return nil // a gap: nothing to store
	}
	// The writer runs from NewLive until End or Abandon, which stop
	// cutting before they stop it.
	name := l.ep.streams[s.Rendition].Name
	key := l.segmentObject(name, s.N)
	m := l.marksFor(s.N)
	m.waiting++
	l.enqueueWrite(&liveOp{Key: key, Data: s.Data, Ref: opRef{m: m, track: s.Rendition}})
	return nil
}

// stage queues the complete slot for publishing. An epoch's first slot
// decides its init version: new init objects are queued with it, so the
// slot is listed only once they are stored too.
func (l *Live) stage(ep *epoch, sl cut.Slot) {
	m := l.marksFor(sl.N)
	delete(l.marks, sl.N)
	if !ep.initDecided {
		l.decideInit(ep, m)
	}
	l.staged = append(l.staged, staged{ep: ep, sl: sl, m: m})
}

// publishStaged publishes, in order, the staged slots whose objects are
// all stored (or given up: gaps), then writes the manifests; while End
// drains the writer, End writes them itself.
func (l *Live) publishStaged(final bool) error {
	count := 0
	for len(l.staged) > 0 && l.staged[0].m.waiting == 0 {
		st := l.staged[0]
		l.staged[0] = staged{}
		l.staged = l.staged[1:]
		for i, gap := range st.m.gaps {
			st.sl.Results[i].Gap = st.sl.Results[i].Gap || gap
		}
		l.publishSegment(st.ep, st.sl)
		count++
	}
	if len(l.staged) == 0 {
		l.staged = nil
	}
	if count > 0 && !l.ending {
		return l.writeManifests(final)
	}
	return nil
}

// resolve records that op is stored (err nil) or will never be: its
// segment becomes a gap of its rendition (every rendition, for an init
// segment).
func (l *Live) resolve(op *liveOp, err error) {
	if m := op.Ref.m; m != nil {
		m.waiting--
		if err != nil {
			for i := range m.gaps {
				if op.Ref.track < 0 || i == op.Ref.track {
					m.gaps[i] = true
				}
			}
		}
	}
	if err != nil {
		l.storeErrors++
		if op.Ref.track >= 0 {
			l.storeGaps++
		}
		l.log.Error("object not stored: its segment is listed as a gap", "key", op.Key, "error", err)
	}
}

// written is the writer's report on op.
func (l *Live) written(op *liveOp, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resolve(op, err)
	_ = l.publishStaged(false) // manifest errors are logged and counted
}

// enqueueWrite hands op to the writer, resolving as failed the oldest
// segments it drops to stay under its memory bound.
func (l *Live) enqueueWrite(op *liveOp) {
	for _, d := range l.w.Enqueue(op) {
		l.resolve(d, writer.ErrNoRoom)
	}
}

func (l *Live) publishSegment(ep *epoch, sl cut.Slot) {
	n := sl.N
	if l.pubEpoch != ep.index {
		l.pubEpoch, l.pubTracks = ep.index, ep.streams
	}
	if !l.published {
		// The previous sessions' objects are no longer referenced once this
		// session's manifests replace its manifests (its ended playlists,
		// in its own directory, stay as they were until then).
		for i := range l.oldListed {
			l.scheduleDeleteListing(&l.oldListed[i])
		}
		l.oldListed = nil
	}
	first := !ep.listed
	ep.listed = true
	if first {
		l.describeRenditions(ep)
	}
	rec := ep.record(sl)
	rec.Disc = first && ep.disc
	if rec.Disc {
		l.discSeq++
	}
	rec.DSeq = l.discSeq
	for i, st := range ep.streams {
		d := l.rends[st.Name].Add(&rec.Entries[i], st.Kind, l.cfg.SegmentDuration, ep.index)
		l.maxSegDur = max(l.maxSegDur, d)
	}
	if first && (ep.newPeriod || !l.published) {
		l.period = manifest.Period{ID: n, Start: rec.Start()}
	}
	rec.Period = l.period
	l.window = append(l.window, rec)
	l.slide(ep)
	l.published = true
	l.segments++
	l.lastSegment = n
	l.lastPublish = l.cfg.Now()
}

// describeRenditions takes what the manifests say of the renditions from
// the epoch's tracks, at its first publish.
func (l *Live) describeRenditions(ep *epoch) {
	for _, t := range ep.cut.Tracks() {
		r := t.Rendition
		ri := l.rends[r.Name]
		if ri == nil {
			ri = &manifest.Meter{Name: r.Name}
			l.rends[r.Name] = ri
		}
		if t.HasInit {
			ri.Info = t.Info
		}
		ri.Declared, ri.DeclaredMax = r.Bitrate, r.MaxBitrate
		ri.Language, ri.Label, ri.Default = r.Language, r.Label, r.Default
	}
}

// decideInit picks the init version of an epoch when its first slot is
// staged: the previous one if every rendition's init segment is
// byte-identical, otherwise a new version whose objects are queued with
// slot s (stored before any manifest names them).
func (l *Live) decideInit(ep *epoch, m *marks) {
	ep.initDecided = true
	tracks := ep.cut.Tracks()
	same := l.lastInits != nil && len(l.lastInits) == len(tracks)
	for _, t := range tracks {
		if b, ok := l.lastInits[t.Rendition.Name]; !ok || !bytes.Equal(b, t.Init) {
			same = false
		}
	}
	if same {
		ep.initV = l.lastInitV
		return
	}
	v := l.allocInit()
	ep.initV, ep.newPeriod = v, true
	inits := map[string][]byte{}
	var names []string
	for _, t := range tracks {
		if !t.HasInit {
			continue
		}
		name := t.Rendition.Name
		key := l.key(l.inDir(manifest.InitKey(name, v)))
		if l.w != nil {
			m.waiting++
			l.enqueueWrite(&liveOp{Key: key, Data: t.Init, Durable: true, Ref: opRef{m: m, track: -1}})
		} else if err := l.put(key, t.Init); err != nil {
			l.storeErrors++
			l.log.Error("storing init segment", "key", key, "error", err)
		}
		inits[name] = t.Init
		names = append(names, name)
	}
	l.lastInits, l.lastInitV = inits, v
	l.initNames[v] = names
	l.listed.Inits = append(l.listed.Inits, v)
	l.log.Info("packager init segments queued", "version", v, "renditions", names)
}

// slide drops segments beyond the window and init versions no longer
// referenced, scheduling their objects for deletion after the grace period.
func (l *Live) slide(ep *epoch) {
	for len(l.window) > l.cfg.Window {
		old := l.window[0]
		l.window[0] = nil
		l.window = l.window[1:]
		keys := make([]string, 0, len(old.Entries))
		for _, e := range old.Entries {
			keys = append(keys, l.inDir(manifest.SegmentKey(e.Name, old.N)))
		}
		l.scheduleDelete(keys...)
		l.listed.FirstSegment = old.N + 1
	}
	kept := l.listed.Inits[:0]
	for _, v := range l.listed.Inits {
		if l.initInUse(v, ep) {
			kept = append(kept, v)
			continue
		}
		var keys []string
		for _, name := range l.initNames[v] {
			keys = append(keys, l.inDir(manifest.InitKey(name, v)))
		}
		l.scheduleDelete(keys...)
		delete(l.initNames, v)
	}
	l.listed.Inits = kept
}

// initInUse reports whether init version v is listed or about to be: by
// ep, the current epoch, a staged slot or the window.
func (l *Live) initInUse(v uint64, ep *epoch) bool {
	if v == ep.initV || l.ep != nil && l.ep.initDecided && l.ep.initV == v {
		return true
	}
	for _, st := range l.staged {
		if st.ep.initV == v {
			return true
		}
	}
	for _, r := range l.window {
		if r.InitV == v {
			return true
		}
	}
	return false
}
