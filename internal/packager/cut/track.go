package cut

import (
	"bytes"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// unit is an access unit as the cutter sees it: straight from the caller
// (nalus or data alias the caller's memory) or from a pending queue (avcc or
// data alias the track's arena).
type unit struct {
	pts, dts time.Duration
	key      bool
	nalus    [][]byte // video, from the caller
	avcc     []byte   // video, length-prefixed, from the arena
	data     []byte   // audio
}

type pendUnit struct {
	pts, dts time.Duration
	key      bool
	off, n   int
}

// Warnings logged once per track and epoch.
const (
	warnNoInit = 1 << iota
	warnDTS
	warnKeyframe
	warnPending
	warnAudioDrift
	warnParamSets
)

// track is one rendition of the ladder.
type track struct {
	idx   int
	r     Rendition
	name  string
	kind  media.Kind
	codec media.Codec
	ts    uint32
	lead  bool
	// aac: samples are exactly 1024 ticks; the timeline is counted, not measured.
	aac bool

	// Init segment, decided at the track's first keyframe (video) or at Begin (audio).
	hasInit bool
	init    []byte
	info    cmaf.Info
	ps      cmaf.ParamSets // copies, as in the init
	keepPS  bool           // in-band parameter sets changed: keep them in the samples

	started bool // has opened a segment in this epoch
	open    *openSeg
	segIdx  int // index in Cutter.cuts of the open (or last) segment

	delay     time.Duration // video: PTS-DTS of the first keyframe, added to DTS
	hasLast   bool
	lastDT    uint64 // decode time of the last sample
	lastDur   uint32
	audioNext uint64
	lastPTS   time.Duration

	pend     []pendUnit
	pendHead int
	arena    []byte

	frag                     *cmaf.Fragment // reused from segment to segment
	payloadHint, samplesHint int
	warned                   int

	// Parts of the open segment (Config.PartDuration).
	partK      int           // index of the part being filled
	partAt     time.Duration // the next part starts at the first unit at or past it
	partStep   time.Duration // part duration of the open segment
	partHas    bool          // the part being filled has samples
	partKey    bool          // its first sample is a keyframe (or audio)
	partDurOff uint64        // fragment duration before the part being filled
}

type openSeg struct {
	n    uint64
	base uint64
	frag *cmaf.Fragment
}

func (t *track) warnOnce(c *Cutter, bit int, msg string, args ...any) {
	if t.warned&bit != 0 {
		return
	}
	t.warned |= bit
	c.log.Warn(msg, append([]any{"rendition", t.name}, args...)...)
}

func (t *track) defaultDur() uint32 {
	switch {
	case t.kind == media.Video:
		return cmaf.VideoTimescale / 30
	case t.aac:
		return cmaf.AACFrameSamples
	default:
		return t.ts / 50 // 20 ms, the usual Opus frame
	}
}

func (t *track) paramSets(u *unit) cmaf.ParamSets {
	if u.avcc != nil {
		return cmaf.FindParamSetsAVCC(t.codec, u.avcc)
	}
	return cmaf.FindParamSets(t.codec, u.nalus)
}

// ensureInit decides a video track's init segment at its first keyframe,
// preferring in-band parameter sets over those the transcoder announced.
// Later keyframes whose parameter sets differ make the track keep them in-band.
func (t *track) ensureInit(c *Cutter, u *unit) bool {
	if t.kind != media.Video {
		return t.hasInit
	}
	ps := t.paramSets(u)
	if t.hasInit {
		if !t.keepPS && !ps.Empty() && (!bytes.Equal(ps.SPS, t.ps.SPS) || !bytes.Equal(ps.PPS, t.ps.PPS) ||
			(ps.VPS != nil && !bytes.Equal(ps.VPS, t.ps.VPS))) {
			t.keepPS = true
			t.warnOnce(c, warnParamSets, "packager: in-band parameter sets changed within an epoch; keeping them in-band")
		}
		return true
	}
	tr := *t.r.Track
	if ps.SPS != nil {
		tr.SPS = ps.SPS
	}
	if ps.PPS != nil {
		tr.PPS = ps.PPS
	}
	if ps.VPS != nil {
		tr.VPS = ps.VPS
	}
	data, info, err := cmaf.BuildInit(&tr)
	if err != nil {
		t.warnOnce(c, warnNoInit, "packager: cannot build init segment yet; dropping video until a keyframe carries parameter sets", "error", err)
		return false
	}
	t.hasInit, t.init, t.info = true, data, info
	t.ps = cmaf.ParamSets{VPS: bytes.Clone(tr.VPS), SPS: bytes.Clone(tr.SPS), PPS: bytes.Clone(tr.PPS)}
	return true
}

// stamp computes u's decode time and composition offset in track ticks and
// sets the previous sample's duration. It reports false for a unit to drop.
func (t *track) stamp(c *Cutter, u *unit) (dt uint64, cto int32, ok bool) {
	if t.aac {
		pt := timeline.TicksAt(c.startNS+int64(u.pts), t.ts)
		switch {
		case !t.hasLast:
			dt = pt
		case pt > t.audioNext+2*cmaf.AACFrameSamples:
			dt = pt // a gap in the audio: re-anchor
		default:
			dt = t.audioNext
			if pt+2*cmaf.AACFrameSamples < t.audioNext {
				t.warnOnce(c, warnAudioDrift, "packager: audio timestamps run behind the sample count")
			}
		}
		t.audioNext = dt + cmaf.AACFrameSamples
	} else {
		if t.kind == media.Video && !t.hasLast {
			t.delay = u.pts - u.dts
		}
		dt = timeline.TicksAt(c.startNS+int64(u.dts+t.delay), t.ts)
		if t.hasLast && dt <= t.lastDT {
			t.warnOnce(c, warnDTS, "packager: dropping unit with non-increasing DTS", "dts", u.dts)
			return 0, 0, false
		}
		if t.kind == media.Video {
			cto = int32(int64(timeline.TicksAt(c.startNS+int64(u.pts), t.ts)) - int64(dt))
		}
	}
	if t.hasLast {
		d := dt - t.lastDT
		if d > 1<<31 {
			d = uint64(t.lastDur)
		}
		t.lastDur = uint32(d)
		if t.open != nil {
			t.open.frag.SetLastDuration(t.lastDur)
		}
	}
	t.hasLast, t.lastDT, t.lastPTS = true, dt, u.pts
	return dt, cto, true
}

func (t *track) openSegment(n uint64, idx int, base uint64) {
	if t.frag == nil {
		t.frag = cmaf.NewFragment(t.kind == media.Video, t.payloadHint, t.samplesHint)
	} else {
		// The last segment was stored (Store.Put does not keep the slice)
		// before this one opens: its buffer and sample table are reused.
		t.frag.Reset(t.payloadHint, t.samplesHint)
	}
	t.open = &openSeg{n: n, base: base, frag: t.frag}
	t.segIdx = idx
	t.started = true
}

// add appends a stamped unit to the open segment.
func (t *track) add(u *unit, cto int32) {
	dur := t.lastDur
	if dur == 0 {
		dur = t.defaultDur()
	}
	if t.aac {
		dur = cmaf.AACFrameSamples
	}
	f := t.open.frag
	switch {
	case t.kind != media.Video:
		f.AddAudio(u.data, dur)
	case u.avcc != nil:
		f.AddVideoAVCC(t.codec, u.avcc, !t.keepPS, dur, cto, u.key)
	default:
		f.AddVideo(t.codec, u.nalus, !t.keepPS, dur, cto, u.key)
	}
}

// pushPending copies u into the track's pending queue.
func (t *track) pushPending(u *unit) {
	if t.pendHead == len(t.pend) {
		t.pend, t.pendHead, t.arena = t.pend[:0], 0, t.arena[:0]
	}
	off := len(t.arena)
	switch {
	case t.kind != media.Video:
		t.arena = append(t.arena, u.data...)
	case u.avcc != nil:
		t.arena = append(t.arena, u.avcc...)
	default:
		t.arena = cmaf.AppendNALUs(t.arena, t.codec, u.nalus, false)
	}
	t.pend = append(t.pend, pendUnit{pts: u.pts, dts: u.dts, key: u.key, off: off, n: len(t.arena) - off})
}

func (t *track) pending() int { return len(t.pend) - t.pendHead }

// peek returns the oldest pending unit (aliasing the arena).
func (t *track) peek() unit {
	p := t.pend[t.pendHead]
	u := unit{pts: p.pts, dts: p.dts, key: p.key}
	b := t.arena[p.off : p.off+p.n : p.off+p.n]
	if t.kind == media.Video {
		u.avcc = b
	} else {
		u.data = b
	}
	return u
}

func (t *track) pop() {
	t.pendHead++
	switch {
	case t.pendHead == len(t.pend):
		t.pend, t.pendHead, t.arena = t.pend[:0], 0, t.arena[:0]
	case t.pend[t.pendHead].off > 1<<20 && t.pend[t.pendHead].off > len(t.arena)/2:
		// The queue never ran empty: compact so the arena does not grow forever.
		shift := t.pend[t.pendHead].off
		t.arena = t.arena[:copy(t.arena, t.arena[shift:])]
		t.pend = t.pend[:copy(t.pend, t.pend[t.pendHead:])]
		t.pendHead = 0
		for i := range t.pend {
			t.pend[i].off -= shift
		}
	}
}

func (t *track) pendingSpan() time.Duration {
	if t.pending() == 0 {
		return 0
	}
	return t.pend[len(t.pend)-1].pts - t.pend[t.pendHead].pts
}
