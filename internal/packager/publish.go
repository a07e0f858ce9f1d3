package packager

import (
	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/window"
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
	l.llClosed(s)
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
	if op.Ref.dvr {
		if err != nil {
			l.storeErrors++
			l.log.Error("DVR chunk not stored", "key", op.Key, "error", err)
		}
		return
	}
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

// publishSegment adds the complete, stored slot to the window.
func (l *Live) publishSegment(ep *epoch, sl cut.Slot) {
	first := !ep.listed
	ep.listed = true
	e := window.Epoch{Index: ep.index, Streams: ep.streams, First: first, Disc: ep.disc, NewPeriod: ep.newPeriod}
	if first {
		e.Tracks = ep.cut.Tracks()
	}
	rec := ep.record(sl)
	l.st.Publish(rec, e, func(v uint64) bool { return l.initInUse(v, ep) })
	if l.dvr != nil {
		l.dvrAdd(rec, ep.streams)
	}
}

// decideInit picks the init version of an epoch when its first slot is
// staged: the previous one if every rendition's init segment is
// byte-identical, otherwise a new version whose objects are queued with
// the slot (stored before any manifest names them, and after state.json,
// which counts the version).
func (l *Live) decideInit(ep *epoch, m *marks) {
	ep.initDecided = true
	tracks := ep.cut.Tracks()
	v, isNew, names := l.st.DecideInit(tracks)
	ep.initV = v
	if !isNew {
		return
	}
	ep.newPeriod = true
	if err := l.persistState(); err != nil {
		l.storeErrors++
		l.log.Error("saving state", "error", err)
	}
	for _, t := range tracks {
		if !t.HasInit {
			continue
		}
		key := l.key(l.inDir(manifest.InitKey(t.Rendition.Name, v)))
		if l.w != nil {
			m.waiting++
			l.enqueueWrite(&liveOp{Key: key, Data: t.Init, Durable: true, Ref: opRef{m: m, track: -1}})
		} else if err := l.put(key, t.Init); err != nil {
			l.storeErrors++
			l.log.Error("storing init segment", "key", key, "error", err)
		}
	}
	l.log.Info("packager init segments queued", "version", v, "renditions", names)
}

// initInUse reports whether init version v is about to be listed: by ep,
// the epoch publishing, the current epoch or a staged slot (the window
// checks its own segments).
func (l *Live) initInUse(v uint64, ep *epoch) bool {
	if v == ep.initV || l.ep != nil && l.ep.initDecided && l.ep.initV == v {
		return true
	}
	for _, st := range l.staged {
		if st.ep.initV == v {
			return true
		}
	}
	return false
}
