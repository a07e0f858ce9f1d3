package packager

import (
	"bytes"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
)

// rendInfo is what manifests and stats know of a rendition in this session.
type rendInfo struct {
	name        string
	language    string
	label       string
	def         bool
	info        cmaf.Info
	declared    int
	declaredMax int
	bytes       int64
	dur         time.Duration
	peak        int
	segments    int64
	fps         float64
	fpsEpoch    int
}

// average is the declared average bitrate, else the measured one.
func (r *rendInfo) average() int {
	if r.declared > 0 {
		return r.declared
	}
	if r.dur > 0 {
		return int(float64(r.bytes*8) / r.dur.Seconds())
	}
	return 0
}

// peakRate is max(declared peak, measured peak segment bitrate), falling
// back to the average.
func (r *rendInfo) peakRate() int {
	p := max(r.declaredMax, r.peak)
	if p == 0 {
		p = r.average()
	}
	return max(p, r.average())
}

// publishReady stages, in order, every segment number all renditions
// have closed, then publishes what is stored (publishStaged).
func (l *Live) publishReady(final bool) error {
	ep := l.ep
	for {
		n, s := ep.nextReady()
		if s == nil {
			break
		}
		l.stage(ep, n, s)
	}
	return l.publishStaged(final)
}

// staged is a complete slot waiting for its objects to be stored.
type staged struct {
	ep *epoch
	n  uint64
	s  *slot
}

// stage queues the complete slot n for publishing. An epoch's first slot
// decides its init version: new init objects are queued with it, so the
// slot is listed only once they are stored too.
func (l *Live) stage(ep *epoch, n uint64, s *slot) {
	if !ep.initDecided {
		l.decideInit(ep, s)
	}
	l.staged = append(l.staged, staged{ep: ep, n: n, s: s})
}

// publishStaged publishes, in order, the staged slots whose objects are
// all stored (or given up: gaps), then writes the manifests; while End
// drains the writer, End writes them itself.
func (l *Live) publishStaged(final bool) error {
	count := 0
	for len(l.staged) > 0 && l.staged[0].s.waiting == 0 {
		st := l.staged[0]
		l.staged[0] = staged{}
		l.staged = l.staged[1:]
		l.publishSegment(st.ep, st.n, st.s)
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
	if op.Ref.slot != nil {
		op.Ref.slot.waiting--
		if err != nil {
			for i := range op.Ref.slot.res {
				if op.Ref.track < 0 || i == op.Ref.track {
					op.Ref.slot.res[i].gap = true
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

func (l *Live) publishSegment(ep *epoch, n uint64, s *slot) {
	if l.pubEpoch != ep.index {
		l.pubEpoch, l.pubTracks = ep.index, trackRefs(ep.tracks)
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
	rec := ep.record(n, s)
	rec.Disc = first && ep.disc
	if rec.Disc {
		l.discSeq++
	}
	rec.DSeq = l.discSeq
	for i, t := range ep.tracks {
		d := l.rends[t.name].measure(&rec.Entries[i], t.kind, l.cfg.SegmentDuration, ep.index)
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
	for _, t := range ep.tracks {
		ri := l.rends[t.name]
		if ri == nil {
			ri = &rendInfo{name: t.name}
			l.rends[t.name] = ri
		}
		if t.hasInit {
			ri.info = t.info
		}
		ri.declared, ri.declaredMax = t.r.Bitrate, t.r.MaxBitrate
		ri.language, ri.label, ri.def = t.r.Language, t.r.Label, t.r.Default
	}
}

// decideInit picks the init version of an epoch when its first slot is
// staged: the previous one if every rendition's init segment is
// byte-identical, otherwise a new version whose objects are queued with
// slot s (stored before any manifest names them).
func (l *Live) decideInit(ep *epoch, s *slot) {
	ep.initDecided = true
	same := l.lastInits != nil && len(l.lastInits) == len(ep.tracks)
	for _, t := range ep.tracks {
		if b, ok := l.lastInits[t.name]; !ok || !bytes.Equal(b, t.init) {
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
	for _, t := range ep.tracks {
		if !t.hasInit {
			continue
		}
		key := l.key(l.inDir(manifest.InitKey(t.name, v)))
		if l.w != nil {
			s.waiting++
			l.enqueueWrite(&liveOp{Key: key, Data: t.init, Durable: true, Ref: opRef{slot: s, track: -1}})
		} else if err := l.put(key, t.init); err != nil {
			l.storeErrors++
			l.log.Error("storing init segment", "key", key, "error", err)
		}
		inits[t.name] = t.init
		names = append(names, t.name)
	}
	l.lastInits, l.lastInitV = inits, v
	l.initNames[v] = names
	l.listed.Inits = append(l.listed.Inits, v)
	l.log.Info("packager init segments queued", "version", v, "renditions", names)
}

// measure adds a published entry of the rendition to its measurements and
// returns its duration (0 for a gap). Segments shorter than half segDur do
// not count for the peak bitrate.
func (ri *rendInfo) measure(e *manifest.Entry, kind media.Kind, segDur time.Duration, epoch int) time.Duration {
	if e.Gap {
		return 0
	}
	d := timeline.Duration(e.D, e.TS)
	ri.segments++
	ri.bytes += int64(e.Size)
	ri.dur += d
	if d >= segDur/2 {
		ri.peak = max(ri.peak, int(float64(e.Size*8)/d.Seconds()))
	}
	if kind == media.Video && e.Count >= 2 && d > 0 && (ri.fps == 0 || ri.fpsEpoch != epoch) {
		ri.fps = float64(e.Count) / d.Seconds()
		ri.fpsEpoch = epoch
	}
	return d
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
