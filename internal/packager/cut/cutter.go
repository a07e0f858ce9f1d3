// Package cut turns the access units of a ladder's renditions into aligned
// CMAF segments: the lead rendition (the first video, else the first)
// decides every cut, at its first keyframe on or after each step of a grid
// of SegmentDuration, and every other rendition cuts at the same instants,
// so that segment number n covers the same span in every rendition.
//
// A Cutter covers one epoch: a ladder from one transcoder start to the
// next. It asks its Handler for segment numbers and hands it each closed
// segment; Ready then yields, in number order, the numbers every rendition
// has closed. It does no I/O and keeps no lock: its owner serializes calls.
package cut

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// Rendition is one output of the transcoder's ladder.
type Rendition struct {
	Name       string       // path element and DASH Representation id: "720p", "audio"
	Track      *media.Track // codec parameters as the transcoder outputs them
	Bitrate    int          // declared average bits/s, 0 if unknown (then measured)
	MaxBitrate int          // declared peak bits/s, 0 if unknown

	// Audio renditions: they are listed as alternatives of one group.
	Language string // BCP 47 ("en", "fr"), "" if unknown
	Label    string // human name ("English"); "" derives one from Language
	Default  bool   // the default audio rendition (the first audio if none is)
}

// Config sets the cutting grid and the media timeline.
type Config struct {
	// SegmentDuration is the grid's step.
	SegmentDuration time.Duration
	// StartNS maps a unit timestamp to media time: a sample at timestamp
	// ts has media time StartNS+ts nanoseconds (since the Unix epoch, for
	// live: the session's start). The grid starts at timestamp 0.
	StartNS int64
	// ZeroAtFirstCut makes the lead's first keyframe media time 0 and the
	// start of the grid (VOD); StartNS is then ignored.
	ZeroAtFirstCut bool
	// Handoff gives a closed segment's Data to the handler for good (live:
	// a background writer stores it later); otherwise Data is only valid
	// until Closed returns, and the buffer is reused for the next segment.
	Handoff bool
	// PartDuration, when positive (and Handler.Part is set), cuts each
	// segment into parts of about that duration (rounded to whole frames
	// of the lead), at the same instants in every rendition: LL-HLS
	// partial segments and LL-DASH chunks. A segment is then its parts
	// back to back.
	PartDuration time.Duration
	// ProducerReference puts a prft box (producer reference time: the
	// media time's instant on the Unix epoch clock) before every part's
	// moof, for LL-DASH players to measure their latency. Parts only, and
	// not with ZeroAtFirstCut.
	ProducerReference bool
}

// Handler is told what the Cutter decides.
type Handler struct {
	// Number returns the number of a new segment, at each lead cut. An
	// error is returned by the WriteUnit that cut (the number is used).
	Number func() (uint64, error)
	// Closed is called for each rendition's segment as it closes, and for
	// each segment number a rendition has no media for (Result.Gap, no
	// Data). An error for a segment with Data makes it a gap.
	Closed func(s Closed) error
	// Part, optional, is called for each part as it is cut
	// (Config.PartDuration); the segment's last part comes just before
	// its Closed.
	Part func(p Part)
}

// Result describes one rendition's closed segment.
type Result struct {
	Gap  bool   // no media: listed as a gap
	T, D uint64 // decode time and duration, in the rendition's timescale
	Size int    // bytes
	// Count is the number of samples.
	Count int
}

// Closed is a rendition's closed segment.
type Closed struct {
	N         uint64
	Rendition int    // index in the ladder
	Data      []byte // the encoded segment (styp, moof, mdat); nil for a gap
	Result    Result
}

// Slot is a segment number every rendition has closed.
type Slot struct {
	N uint64
	// Results are by rendition index. A gap without media has the lead's
	// times, in its own timescale: the span the number covers.
	Results []Result
}

// Track describes a rendition as the Cutter has it.
type Track struct {
	Rendition Rendition
	Kind      media.Kind
	Timescale uint32
	Lead      bool
	// HasInit is set once the init segment is decided (audio at New,
	// video at its first keyframe); Init and Info describe it.
	HasInit bool
	Init    []byte
	Info    cmaf.Info
}

// Cutter cuts one epoch of a ladder.
type Cutter struct {
	cfg Config
	h   Handler
	log *slog.Logger

	// startNS and gridOrigin: see Config (set at the first cut with
	// ZeroAtFirstCut).
	startNS    int64
	gridOrigin time.Duration

	tracks  []*track
	lead    *track
	cuts    []boundary
	slots   map[uint64]*slot
	nextPub uint64
	dropped int64
	// frameKnown: the lead's frame duration was known at a cut, so part
	// durations are whole frames.
	frameKnown bool
}

// slot collects the closed segments of one number until every track has one.
type slot struct {
	res  []Result
	done []bool
	have int
}

// New starts cutting a ladder. Rendition names must be unique; the codecs
// are H.264 and H.265 video, AAC and Opus audio.
func New(cfg Config, rs []Rendition, h Handler, log *slog.Logger) (*Cutter, error) {
	if cfg.SegmentDuration <= 0 {
		return nil, errors.New("packager: no segment duration")
	}
	if h.Number == nil || h.Closed == nil {
		return nil, errors.New("packager: incomplete cut handler")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tracks, err := newTracks(rs)
	if err != nil {
		return nil, err
	}
	c := &Cutter{cfg: cfg, h: h, log: log, startNS: cfg.StartNS, tracks: tracks, slots: map[uint64]*slot{}, lead: tracks[0]}
	for _, t := range tracks {
		if t.kind == media.Video {
			c.lead = t
			break
		}
	}
	c.lead.lead = true
	return c, nil
}

// newTracks checks a ladder and prepares its tracks.
func newTracks(rs []Rendition) ([]*track, error) {
	if len(rs) == 0 {
		return nil, errors.New("packager: no renditions")
	}
	seen := map[string]bool{}
	tracks := make([]*track, 0, len(rs))
	for i, r := range rs {
		if r.Name == "" || seen[r.Name] {
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

// Lead returns the index of the lead rendition.
func (c *Cutter) Lead() int { return c.lead.idx }

// Tracks describes the ladder's renditions, in ladder order.
func (c *Cutter) Tracks() []Track {
	out := make([]Track, len(c.tracks))
	for i, t := range c.tracks {
		out[i] = Track{Rendition: t.r, Kind: t.kind, Timescale: t.ts, Lead: t.lead, HasInit: t.hasInit, Init: t.init, Info: t.info}
	}
	return out
}

// Dropped counts the units that could not be cut (before a first
// keyframe, without media, with timestamps going back...).
func (c *Cutter) Dropped() int64 { return c.dropped }

// Held reports what the Cutter holds: segment numbers some renditions
// have closed and others not yet, and the bytes of units waiting for the
// lead's next cut.
func (c *Cutter) Held() (slots, pendingBytes int) {
	for _, t := range c.tracks {
		pendingBytes += cap(t.arena)
	}
	return len(c.slots), pendingBytes
}

// WriteUnit cuts one unit of the rendition with that index.
func (c *Cutter) WriteUnit(rendition int, u *media.Unit) error {
	if rendition < 0 || rendition >= len(c.tracks) {
		return fmt.Errorf("packager: no rendition %d", rendition)
	}
	t := c.tracks[rendition]
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

// Flush closes every open segment, as short as it may be, and marks what
// a rendition never closed as a gap, so that every number cut so far is
// Ready. Call it once, at the end of the epoch.
func (c *Cutter) Flush() {
	lead := c.lead
	leadEnd := lead.lastPTS + timeline.Duration(uint64(max(lead.lastDur, 1)), lead.ts)
	if lead.open != nil {
		c.closeSegment(lead)
	}
	for _, t := range c.tracks {
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
	for _, cu := range c.cuts {
		for _, t := range c.tracks {
			if s := c.slots[cu.n]; s == nil || !s.done[t.idx] {
				c.markGap(cu.n, t)
			}
		}
	}
}

// Ready returns the next segment number, in order, that every rendition
// has closed, and forgets it.
func (c *Cutter) Ready() (Slot, bool) {
	s := c.slots[c.nextPub]
	if s == nil || s.have < len(c.tracks) {
		return Slot{}, false
	}
	n := c.nextPub
	delete(c.slots, n)
	c.nextPub++
	lead := s.res[c.lead.idx]
	for i, t := range c.tracks {
		if r := &s.res[i]; r.Gap && r.D == 0 {
			r.T, r.D = timeline.Rescale(lead.T, c.lead.ts, t.ts), timeline.Rescale(lead.D, c.lead.ts, t.ts)
		}
	}
	return Slot{N: n, Results: s.res}, true
}

// closeSegment encodes t's open segment and hands it to the handler.
func (c *Cutter) closeSegment(t *track) {
	s := t.open
	if t.partStep > 0 && t.partHas {
		c.cutPart(t, true)
	}
	t.open = nil
	data := s.frag.Encode(uint32(s.n), s.base)
	t.payloadHint, t.samplesHint = s.frag.PayloadSize(), s.frag.Len()
	res := Result{T: s.base, D: s.frag.Duration(), Size: len(data), Count: s.frag.Len()}
	if c.cfg.Handoff {
		// The handler owns data now: the next segment gets a fragment
		// (and a buffer) of its own.
		t.frag = nil
	}
	if err := c.h.Closed(Closed{N: s.n, Rendition: t.idx, Data: data, Result: res}); err != nil {
		res.Gap = true
	}
	c.setClosed(s.n, t.idx, res)
}

func (c *Cutter) markGap(n uint64, t *track) {
	res := Result{Gap: true}
	c.setClosed(n, t.idx, res)
	_ = c.h.Closed(Closed{N: n, Rendition: t.idx, Result: res})
}

func (c *Cutter) setClosed(n uint64, i int, res Result) {
	s := c.slots[n]
	if s == nil {
		s = &slot{res: make([]Result, len(c.tracks)), done: make([]bool, len(c.tracks))}
		c.slots[n] = s
	}
	if !s.done[i] {
		s.have++
		s.done[i] = true
	}
	s.res[i] = res
}

// Part is a part of a rendition's segment being produced (LL-HLS partial
// segment, LL-DASH chunk): a CMAF chunk (moof and mdat; the segment's first
// also carries styp) of the samples since the previous part. A segment's
// parts, back to back, are its Closed data byte for byte.
type Part struct {
	N         uint64 // segment number
	K         int    // part index in the segment, from 0
	Rendition int
	Data      []byte // never written over: valid for as long as it is kept
	// T is the decode time of the part's first sample, in the rendition's
	// timescale TS.
	T        uint64
	TS       uint32
	Duration time.Duration
	// Independent: the part starts with a keyframe (always, for audio).
	Independent bool
	// Last: the segment's last part; Closed follows for the segment.
	Last bool
}

// PartStep is the duration of the parts the cutter cuts now (all video
// parts but a segment's last): Config.PartDuration rounded to whole frames
// of the lead once its frame duration is known; 0 without parts.
func (c *Cutter) PartStep() time.Duration { return c.partDuration() }

// partDuration is the part duration of a segment the lead cuts now: the
// configured one rounded to whole frames of the lead (its last sample
// duration), so that every video part but a segment's last has the same
// duration; 0 without parts.
func (c *Cutter) partDuration() time.Duration {
	p := c.cfg.PartDuration
	if p <= 0 || c.h.Part == nil {
		return 0
	}
	if l := c.lead; l.kind == media.Video && l.lastDur > 0 {
		f := timeline.Duration(uint64(l.lastDur), l.ts)
		if n := (p + f/2) / f; f > 0 && n >= 1 {
			return n * f
		}
	}
	return p
}

// add appends a stamped unit to t's open segment, cutting the part being
// filled first when u falls on or past the next part boundary.
func (c *Cutter) add(t *track, u *unit, cto int32) {
	if t.lead && t.partStep > 0 && !c.frameKnown && t.lastDur > 0 {
		c.refinePartDuration(t.segIdx)
	}
	// Parts follow decode order: a unit's decode time (shifted so that a
	// keyframe's equals its presentation time, as the samples' are) decides
	// its part, so that B-frames stay with the frames they depend on and
	// every part holds the frames of its span.
	at := u.pts
	if t.kind == media.Video {
		at = u.dts + t.delay
	}
	if t.partStep > 0 && t.partHas && at >= t.partAt-cutTolerance {
		c.cutPart(t, false)
		for t.partAt-cutTolerance <= at {
			t.partAt += t.partStep
		}
	}
	if t.partStep > 0 && !t.partHas {
		t.partHas, t.partKey = true, u.key || t.kind != media.Video
	}
	t.add(u, cto)
}

// cutPart hands the samples of the part being filled to the handler.
func (c *Cutter) cutPart(t *track, last bool) {
	s := t.open
	f := s.frag
	data := f.Chunk(partSeq(s.n, t.partK), s.base)
	d := f.Duration() - t.partDurOff
	p := Part{N: s.n, K: t.partK, Rendition: t.idx, Data: data, T: s.base + t.partDurOff, TS: t.ts,
		Duration: timeline.Duration(d, t.ts), Independent: t.partKey, Last: last}
	t.partDurOff = f.Duration()
	t.partK++
	t.partHas = false
	c.h.Part(p)
}

// refinePartDuration rounds the part duration of the segment at cut
// index idx to whole frames once the lead's frame duration is known (its
// second sample: no part has been cut yet), for every track in it.
func (c *Cutter) refinePartDuration(idx int) {
	c.frameKnown = true
	b := &c.cuts[idx]
	b.part = c.partDuration()
	for _, t := range c.tracks {
		if t.open != nil && t.segIdx == idx && t.partStep > 0 && t.partK == 0 {
			t.partStep, t.partAt = b.part, b.pts+b.part
		}
	}
}

// partSeq is the mfhd sequence number of part k of segment n: rising from
// part to part and segment to segment.
func partSeq(n uint64, k int) uint32 { return uint32(n)<<6 | uint32(min(k, 63)) }

// startParts sets up the parts of t's segment just opened at cut index idx.
func (c *Cutter) startParts(t *track, idx int) {
	b := c.cuts[idx]
	t.partK, t.partStep, t.partHas, t.partDurOff = 0, b.part, false, 0
	t.partAt = b.pts + b.part
	if t.partStep > 0 && c.cfg.ProducerReference && !c.cfg.ZeroAtFirstCut {
		// Media time is epoch-locked: presentation time t is the Unix
		// epoch plus t/timescale, the instant the frame reached ingest.
		t.open.frag.SetProducerTime(&cmaf.ProducerTime{Epoch: time.Unix(0, 0), Timescale: t.ts, Flags: cmaf.PrftEncoderInput})
	}
}
