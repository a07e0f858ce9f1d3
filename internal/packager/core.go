package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// core is what the live and the VOD packager share: the store under a
// prefix and the cutter that turns an epoch's units into aligned CMAF
// segments (cut.go, track.go), storing each segment as it closes. Live and
// VOD embed it and differ in what they do with closed segments: Live
// publishes a sliding window, VOD keeps records until End.
type core struct {
	store  storage.Store
	prefix string
	// dir is where a live session's renditions live under the prefix
	// ("s{k}"); "" for VOD (and for sessions of the earlier layout).
	dir    string
	ctx    context.Context
	log    *slog.Logger
	segDur time.Duration // target segment duration, the cutting grid's step

	// startNS maps a unit timestamp to media time: a sample at timestamp ts
	// has media time startNS+ts nanoseconds (since the Unix epoch, for Live).
	startNS int64
	// gridOrigin is the timestamp at which the cutting grid starts.
	gridOrigin time.Duration
	// zeroAtFirstCut makes the lead's first cut the start of media time and
	// of the grid (VOD): startNS and gridOrigin are set from it.
	zeroAtFirstCut bool

	// alloc returns the number of a new segment.
	alloc func() (uint64, error)
	// bg, when set (Live), takes closed segments' objects to store in the
	// background (writer.go); otherwise (VOD) they are stored at once.
	bg func(op *liveOp)

	ep         *epoch
	publishDue bool // a segment closed since the last publish

	dropped     int64
	storeErrors int64
	storeErr    error // first failed segment write
}

// epoch is the time between two Begin calls.
type epoch struct {
	index   int
	tracks  []*track
	lead    *track
	cuts    []cut
	slots   map[uint64]*slot
	nextPub uint64
	disc    bool // its first segment is discontinuous

	initDecided bool
	listed      bool // its first segment was published
	initV       uint64
	newPeriod   bool
}

// slot collects the closed segments of one number until every track has one.
type slot struct {
	res  []closedSeg
	have int
	// waiting counts the slot's objects (segments, and init segments for
	// an epoch's first slot) the background writer has not yet stored or
	// given up: the slot is listed only once it is 0.
	waiting int
}

type closedSeg struct {
	done, gap bool
	t, d      uint64
	size      int
	count     int
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

// newTracks checks a ladder and prepares its tracks.
func newTracks(rs []Rendition) ([]*track, error) {
	if len(rs) == 0 {
		return nil, errors.New("packager: no renditions")
	}
	seen := map[string]bool{}
	tracks := make([]*track, 0, len(rs))
	for i, r := range rs {
		if !manifest.ValidName(r.Name) || seen[r.Name] {
			return nil, fmt.Errorf("packager: rendition %d: invalid or duplicate name %q", i, r.Name)
		}
		seen[r.Name] = true
		if r.Track == nil {
			return nil, fmt.Errorf("packager: rendition %s: no track", r.Name)
		}
		t := &track{idx: i, r: r, name: r.Name, kind: r.Track.Kind, codec: r.Track.Codec, ts: cmaf.Timescale(r.Track)}
		switch {
		case t.kind == media.Video && (t.codec == media.H264 || t.codec == media.H265):
		case t.kind == media.Audio && (t.codec == media.AAC || t.codec == media.Opus):
			data, info, err := cmaf.BuildInit(r.Track)
			if err != nil {
				return nil, fmt.Errorf("packager: rendition %s: %w", r.Name, err)
			}
			t.hasInit, t.init, t.info, t.ts = true, data, info, info.Timescale
			t.aac = t.codec == media.AAC
		default:
			return nil, fmt.Errorf("packager: rendition %s: unsupported %s track %q", r.Name, t.kind, t.codec)
		}
		tracks = append(tracks, t)
	}
	return tracks, nil
}

// newEpoch starts an epoch of tracks; its lead is the first video track,
// else the first track.
func newEpoch(index int, tracks []*track) *epoch {
	ep := &epoch{index: index, tracks: tracks, slots: map[uint64]*slot{}, lead: tracks[0]}
	for _, t := range tracks {
		if t.kind == media.Video {
			ep.lead = t
			break
		}
	}
	ep.lead.lead = true
	return ep
}

// checkUnit reports whether a unit of the rendition with that index can be
// cut now.
func (c *core) checkUnit(rendition int) error {
	if c.ep == nil {
		return errors.New("packager: WriteUnit before Begin")
	}
	if rendition < 0 || rendition >= len(c.ep.tracks) {
		return fmt.Errorf("packager: no rendition %d", rendition)
	}
	return nil
}

// cutUnit hands one unit of the rendition with that index (checked by
// checkUnit) to the cutter.
func (c *core) cutUnit(rendition int, u *media.Unit) error {
	t := c.ep.tracks[rendition]
	x := unit{pts: u.PTS, dts: u.DTS, key: u.Key, nalus: u.NALUs, data: u.Data}
	if t.kind == media.Video {
		if len(u.NALUs) == 0 {
			c.dropped++
			return nil
		}
		x.data = nil
	} else {
		if len(u.Data) == 0 {
			c.dropped++
			return nil
		}
		x.dts, x.key, x.nalus = u.PTS, true, nil
	}
	if t.lead {
		return c.leadUnit(t, &x)
	}
	c.otherUnit(t, &x)
	return nil
}

// flushCuts closes every open segment of the current epoch, as short as it
// may be, and marks what a track never closed as a gap, so that every slot
// of the epoch is complete.
func (c *core) flushCuts() {
	ep := c.ep
	lead := ep.lead
	leadEnd := lead.lastPTS + timeline.Duration(uint64(max(lead.lastDur, 1)), lead.ts)
	if lead.open != nil {
		c.closeSegment(lead)
	}
	for _, t := range ep.tracks {
		if t == lead {
			continue
		}
		for t.pending() > 0 {
			u := t.peek()
			if u.pts < leadEnd {
				c.append(t, &u)
			} else {
				c.dropped++
			}
			t.pop()
		}
		if t.open != nil {
			c.closeSegment(t)
		}
	}
	for _, cu := range ep.cuts {
		for _, t := range ep.tracks {
			if s := ep.slots[cu.n]; s == nil || !s.res[t.idx].done {
				c.markGap(cu.n, t)
			}
		}
	}
}

// closeSegment encodes and stores t's open segment.
func (c *core) closeSegment(t *track) {
	s := t.open
	t.open = nil
	data := s.frag.Encode(uint32(s.n), s.base)
	t.payloadHint, t.samplesHint = s.frag.PayloadSize(), s.frag.Len()
	res := closedSeg{done: true, t: s.base, d: s.frag.Duration(), size: len(data), count: s.frag.Len()}
	if c.bg != nil {
		// The writer owns data until it is stored: the next segment gets
		// a fragment (and a buffer) of its own.
		t.frag = nil
		c.ep.setClosed(s.n, t.idx, res, len(c.ep.tracks))
		sl := c.ep.slots[s.n]
		sl.waiting++
		c.bg(&liveOp{Key: c.segmentObject(t.name, s.n), Data: data, Ref: opRef{slot: sl, track: t.idx}})
		c.publishDue = true
		return
	}
	if err := c.put(c.segmentObject(t.name, s.n), data); err != nil {
		c.storeErrors++
		if c.storeErr == nil {
			c.storeErr = fmt.Errorf("storing %s: %w", c.inDir(manifest.SegmentKey(t.name, s.n)), err)
		}
		c.log.Error("storing segment", "rendition", t.name, "segment", s.n, "error", err)
		res.gap = true
	}
	c.ep.setClosed(s.n, t.idx, res, len(c.ep.tracks))
	c.publishDue = true
}

func (c *core) markGap(n uint64, t *track) {
	c.ep.setClosed(n, t.idx, closedSeg{done: true, gap: true}, len(c.ep.tracks))
	c.publishDue = true
}

func (ep *epoch) setClosed(n uint64, i int, res closedSeg, tracks int) {
	s := ep.slots[n]
	if s == nil {
		s = &slot{res: make([]closedSeg, tracks)}
		ep.slots[n] = s
	}
	if !s.res[i].done {
		s.have++
	}
	s.res[i] = res
}

// nextReady returns the next slot in number order that every track has
// closed, removing it from the epoch, or nil.
func (ep *epoch) nextReady() (uint64, *slot) {
	s := ep.slots[ep.nextPub]
	if s == nil || s.have < len(ep.tracks) {
		return 0, nil
	}
	n := ep.nextPub
	delete(ep.slots, n)
	ep.nextPub++
	return n, s
}

// record describes the complete slot n: one entry per track, in track
// order. A gap without media gets the lead's times in its timescale.
func (ep *epoch) record(n uint64, s *slot) *manifest.Segment {
	lead := s.res[ep.lead.idx]
	rec := &manifest.Segment{N: n, InitV: ep.initV, Lead: ep.lead.name, Entries: make([]manifest.Entry, 0, len(ep.tracks))}
	for _, t := range ep.tracks {
		r := s.res[t.idx]
		e := manifest.Entry{Name: t.name, Kind: t.kind, TS: t.ts, T: r.t, D: r.d, Size: r.size, Count: r.count, Gap: r.gap}
		if r.gap && r.d == 0 {
			e.T, e.D = timeline.Rescale(lead.t, ep.lead.ts, t.ts), timeline.Rescale(lead.d, ep.lead.ts, t.ts)
		}
		rec.Entries = append(rec.Entries, e)
	}
	return rec
}
