package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// core is what the live and the VOD packager share: the store under a
// prefix, the epoch being cut (package cut turns its units into aligned
// CMAF segments) and the errors of storing them. Live and VOD embed it and
// differ in what they do with closed segments: Live stores them in the
// background and publishes a sliding window, VOD stores them at once and
// keeps records until End.
type core struct {
	store  storage.Store
	prefix string
	// dir is where a live session's renditions live under the prefix
	// ("s{k}"); "" for VOD (and for sessions of the earlier layout).
	dir    string
	ctx    context.Context
	log    *slog.Logger
	segDur time.Duration // target segment duration, the cutting grid's step

	ep         *epoch
	publishDue bool  // a segment closed since the last publish
	dropped    int64 // units dropped by the cutters of earlier epochs

	storeErrors int64
}

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
func (c *core) newEpoch(index int, rs []Rendition, cfg cut.Config, h cut.Handler) (*epoch, error) {
	if err := checkNames(rs); err != nil {
		return nil, err
	}
	cfg.SegmentDuration = c.segDur
	ct, err := cut.New(cfg, rs, h, c.log)
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
func (c *core) checkUnit(rendition int) error {
	if c.ep == nil {
		return errors.New("packager: WriteUnit before Begin")
	}
	if rendition < 0 || rendition >= len(c.ep.streams) {
		return fmt.Errorf("packager: no rendition %d", rendition)
	}
	return nil
}

// droppedUnits counts the units dropped in every epoch so far.
func (c *core) droppedUnits() int64 {
	if c.ep == nil {
		return c.dropped
	}
	return c.dropped + c.ep.cut.Dropped()
}

// endEpoch flushes the cutter of the current epoch.
func (c *core) endEpoch() {
	c.ep.cut.Flush()
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

func (c *core) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, storeTimeout)
}

// key returns the storage key of rel, a key relative to the prefix.
func (c *core) key(rel string) string { return manifest.JoinKey(c.prefix, rel) }

// inDir returns the key, relative to the prefix, of rel, a key relative to
// the session's directory.
func (c *core) inDir(rel string) string { return manifest.JoinKey(c.dir, rel) }

// segmentObject is c.key(c.inDir(segmentKey(name, n))) built with one
// allocation: it runs for every segment of every rendition.
func (c *core) segmentObject(name string, n uint64) string {
	b := make([]byte, 0, 128)
	for _, p := range [...]string{c.prefix, c.dir} {
		if p != "" {
			b = append(append(b, p...), '/')
		}
	}
	b = append(append(b, name...), '/')
	b = strconv.AppendUint(b, n, 10)
	return string(append(b, ".m4s"...))
}

func (c *core) put(key string, data []byte) error {
	ctx, cancel := c.opCtx()
	defer cancel()
	return c.store.Put(ctx, key, data)
}
