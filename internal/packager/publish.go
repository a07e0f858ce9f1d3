package packager

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
)

// segRecord is a published segment number: one entry per rendition.
type segRecord struct {
	n       uint64
	disc    bool   // EXT-X-DISCONTINUITY before it
	dseq    uint64 // discontinuity sequence number
	initV   uint64
	period  periodRef
	lead    string
	entries []entry
}

// periodRef identifies the DASH period a segment belongs to.
type periodRef struct {
	id    uint64        // number of the period's first segment
	start time.Duration // since the Unix epoch, whole milliseconds
}

type entry struct {
	name  string
	kind  media.Kind
	ts    uint32
	t, d  uint64
	size  int
	count int
	gap   bool
}

// start is the earliest start of the record's entries, in whole
// milliseconds since the Unix epoch (rounded down, so that no track's first
// segment starts before a period that begins there).
func (r *segRecord) start() time.Duration {
	var s time.Duration
	for i, e := range r.entries {
		if d := sinceEpoch(e.t, e.ts); i == 0 || d < s {
			s = d
		}
	}
	return s.Truncate(time.Millisecond)
}

func (r *segRecord) entry(name string) *entry {
	for i := range r.entries {
		if r.entries[i].name == name {
			return &r.entries[i]
		}
	}
	return nil
}

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

// publishReady publishes, in order, every segment number all renditions
// have closed, then writes the manifests.
func (l *Live) publishReady(final bool) error {
	ep := l.ep
	count := 0
	var errs []error
	for {
		n, s := ep.nextReady()
		if s == nil {
			break
		}
		if err := l.publishSegment(ep, n, s); err != nil {
			errs = append(errs, err)
		}
		count++
	}
	if count > 0 {
		if err := l.writeManifests(final); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *Live) publishSegment(ep *epoch, n uint64, s *slot) error {
	var err error
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
	first := !ep.initDecided
	if first {
		err = l.decideInit(ep)
	}
	rec := ep.record(n, s)
	rec.disc = first && ep.disc
	if rec.disc {
		l.discSeq++
	}
	rec.dseq = l.discSeq
	for i, t := range ep.tracks {
		d := l.rends[t.name].measure(&rec.entries[i], t.kind, l.cfg.SegmentDuration, ep.index)
		l.maxSegDur = max(l.maxSegDur, d)
	}
	if first && (ep.newPeriod || !l.published) {
		l.period = periodRef{id: n, start: rec.start()}
	}
	rec.period = l.period
	l.window = append(l.window, rec)
	l.slide(ep)
	l.published = true
	l.segments++
	l.lastSegment = n
	l.lastPublish = l.cfg.Now()
	return err
}

// decideInit picks the init version of an epoch at its first publish: the
// previous one if every rendition's init segment is byte-identical,
// otherwise a new version whose objects are written now (before any
// manifest names them).
func (l *Live) decideInit(ep *epoch) error {
	ep.initDecided = true
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
	same := l.lastInits != nil && len(l.lastInits) == len(ep.tracks)
	for _, t := range ep.tracks {
		if b, ok := l.lastInits[t.name]; !ok || !bytes.Equal(b, t.init) {
			same = false
		}
	}
	if same {
		ep.initV = l.lastInitV
		return nil
	}
	v, err := l.allocInit()
	ep.initV, ep.newPeriod = v, true
	inits := map[string][]byte{}
	var names []string
	for _, t := range ep.tracks {
		if !t.hasInit {
			continue
		}
		if perr := l.put(l.key(l.inDir(initKey(t.name, v))), t.init); perr != nil {
			l.storeErrors++
			err = errors.Join(err, fmt.Errorf("storing init %s: %w", l.inDir(initKey(t.name, v)), perr))
		}
		inits[t.name] = t.init
		names = append(names, t.name)
	}
	l.lastInits, l.lastInitV = inits, v
	l.initNames[v] = names
	l.listed.Inits = append(l.listed.Inits, v)
	l.log.Info("packager init segments written", "version", v, "renditions", names)
	return err
}

// measure adds a published entry of the rendition to its measurements and
// returns its duration (0 for a gap). Segments shorter than half segDur do
// not count for the peak bitrate.
func (ri *rendInfo) measure(e *entry, kind media.Kind, segDur time.Duration, epoch int) time.Duration {
	if e.gap {
		return 0
	}
	d := ticksDur(e.d, e.ts)
	ri.segments++
	ri.bytes += int64(e.size)
	ri.dur += d
	if d >= segDur/2 {
		ri.peak = max(ri.peak, int(float64(e.size*8)/d.Seconds()))
	}
	if kind == media.Video && e.count >= 2 && d > 0 && (ri.fps == 0 || ri.fpsEpoch != epoch) {
		ri.fps = float64(e.count) / d.Seconds()
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
		keys := make([]string, 0, len(old.entries))
		for _, e := range old.entries {
			keys = append(keys, l.inDir(segmentKey(e.name, old.n)))
		}
		l.scheduleDelete(keys...)
		l.listed.FirstSegment = old.n + 1
	}
	kept := l.listed.Inits[:0]
	for _, v := range l.listed.Inits {
		used := v == ep.initV
		for _, r := range l.window {
			used = used || r.initV == v
		}
		if used {
			kept = append(kept, v)
			continue
		}
		var keys []string
		for _, name := range l.initNames[v] {
			keys = append(keys, l.inDir(initKey(name, v)))
		}
		l.scheduleDelete(keys...)
		delete(l.initNames, v)
	}
	l.listed.Inits = kept
}
