package packager

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// epoch is the time between two Begin calls: one ladder, one cutter.
type epoch struct {
	index   int
	cut     *cut.Cutter
	streams []manifest.Stream // the ladder, in order
	lead    int               // index of the lead rendition

	disc        bool // its first segment is discontinuous
	initDecided bool
	listed      bool // its first segment was published
	initV       uint64
	newPeriod   bool
}

// newEpoch starts cutting renditions (their names checked) with h.
func (l *Live) newEpoch(index int, rs []Rendition, cfg cut.Config, h cut.Handler) (*epoch, error) {
	if err := checkNames(rs); err != nil {
		return nil, err
	}
	cfg.SegmentDuration = l.segDur
	ct, err := cut.New(cfg, rs, h, l.log)
	if err != nil {
		return nil, err
	}
	ep := &epoch{index: index, cut: ct, lead: ct.Lead()}
	for _, t := range ct.Tracks() {
		ep.streams = append(ep.streams, manifest.Stream{Name: t.Rendition.Name, Kind: t.Kind, TS: t.Timescale})
	}
	return ep, nil
}

// checkNames rejects rendition names that are not path elements, or repeated.
func checkNames(rs []Rendition) error {
	seen := map[string]bool{}
	for i, r := range rs {
		if !manifest.ValidName(r.Name) || seen[r.Name] {
			return fmt.Errorf("packager: rendition %d: invalid or duplicate name %q", i, r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

// checkUnit reports whether a unit of the rendition with that index can be
// cut now.
func (l *Live) checkUnit(rendition int) error {
	if l.ep == nil {
		return errors.New("packager: WriteUnit before Begin")
	}
	if rendition < 0 || rendition >= len(l.ep.streams) {
		return fmt.Errorf("packager: no rendition %d", rendition)
	}
	return nil
}

// droppedUnits counts the units dropped in every epoch so far.
func (l *Live) droppedUnits() int64 {
	if l.ep == nil {
		return l.dropped
	}
	return l.dropped + l.ep.cut.Dropped()
}

// endEpoch flushes the cutter of the current epoch.
func (l *Live) endEpoch() {
	l.ep.cut.Flush()
}

// record describes the complete slot: one entry per rendition, in ladder
// order.
func (ep *epoch) record(sl cut.Slot) *manifest.Segment {
	rec := &manifest.Segment{N: sl.N, InitV: ep.initV, Lead: ep.streams[ep.lead].Name, Entries: make([]manifest.Entry, 0, len(ep.streams))}
	for i, st := range ep.streams {
		r := sl.Results[i]
		rec.Entries = append(rec.Entries, manifest.Entry{Name: st.Name, Kind: st.Kind, TS: st.TS, T: r.T, D: r.D, Size: r.Size, Count: r.Count, Gap: r.Gap})
	}
	return rec
}

func (l *Live) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(l.ctx, storeTimeout)
}

// key returns the storage key of rel, a key relative to the prefix.
func (l *Live) key(rel string) string { return manifest.JoinKey(l.prefix, rel) }

// inDir returns the key, relative to the prefix, of rel, a key relative to
// the session's directory.
func (l *Live) inDir(rel string) string { return manifest.JoinKey(l.dir, rel) }

// segmentObject is l.key(l.inDir(segmentKey(name, n))) built with one
// allocation: it runs for every segment of every rendition.
func (l *Live) segmentObject(name string, n uint64) string {
	b := make([]byte, 0, 128)
	for _, p := range [...]string{l.prefix, l.dir} {
		if p != "" {
			b = append(append(b, p...), '/')
		}
	}
	b = append(append(b, name...), '/')
	b = strconv.AppendUint(b, n, 10)
	return string(append(b, ".m4s"...))
}

func (l *Live) put(key string, data []byte) error {
	ctx, cancel := l.opCtx()
	defer cancel()
	return l.store.Put(ctx, key, data)
}
