package ingest

import "time"

// Thresholds for telling a timestamp discontinuity from ordinary jitter.
const (
	// A track whose DTS steps back by more than this was reset by the
	// publisher; smaller steps back are jitter and get clamped.
	maxBackStep = 100 * time.Millisecond
	// A DTS further than this ahead of everything seen so far is a jump.
	maxForwardJump = 5 * time.Second
	// Smallest DTS step forced between two units of a track.
	minStep = time.Millisecond
	// Largest step a discontinuity continues a track with: its last frame
	// duration, unless that was a gap (a track that paused) rather than a
	// frame.
	maxFrameStep = time.Second
	// Largest PTS - DTS kept: B-frame reordering takes a few frames;
	// beyond this the PTS is nonsense and is replaced by the DTS.
	maxCompositionOffset = 10 * time.Second
)

// Timeline maps a publisher's timestamps onto the session timeline: the
// origin unit (the first video key frame) gets DTS 0, DTS is strictly
// increasing per track and PTS is never below DTS.
//
// One offset is shared by all tracks, so audio/video sync is preserved. When
// the publisher's clock resets or jumps (an encoder restart, the 32-bit RTMP
// millisecond wrap), the offset is moved so the track that noticed continues
// one frame after its last unit, instead of going back in time or leaving a
// hole.
//
// Source timestamps must already be unwrapped (MPEG-TS: mpegts.TimeDecoder).
type Timeline struct {
	started bool
	offset  time.Duration // session = source + offset
	maxDTS  time.Duration // latest session DTS over all tracks

	last []time.Duration // per track: last session DTS
	step []time.Duration // per track: last DTS increment
	seen []bool

	discontinuities int
}

// NewTimeline returns a timeline for n tracks, without an origin yet.
func NewTimeline(n int) *Timeline {
	return &Timeline{
		last: make([]time.Duration, n),
		step: make([]time.Duration, n),
		seen: make([]bool, n),
	}
}

// Started reports whether the origin has been set.
func (t *Timeline) Started() bool { return t.started }

// Discontinuities counts the clock resets and jumps absorbed so far.
func (t *Timeline) Discontinuities() int { return t.discontinuities }

// SetOrigin makes the source timestamp dts the session's time zero.
func (t *Timeline) SetOrigin(dts time.Duration) {
	t.started = true
	t.offset = -dts
}

// Map converts a unit's source timestamps to the session timeline. ok is
// false when the unit falls before the origin (or there is none yet) and
// must be dropped.
func (t *Timeline) Map(track int, pts, dts time.Duration) (sessPTS, sessDTS time.Duration, ok bool) {
	if !t.started {
		return 0, 0, false
	}
	out := dts + t.offset
	seen := t.seen[track]

	if (seen && out < t.last[track]-maxBackStep) || out > t.maxDTS+maxForwardJump {
		// discontinuity: continue this track one step after its last unit;
		// tracks that jumped together stay in sync through the shared offset
		target := t.maxDTS + minStep
		if seen {
			target = t.last[track] + min(max(t.step[track], minStep), maxFrameStep)
		}
		t.offset += target - out
		out = target
		t.discontinuities++
	}

	if out < 0 {
		return 0, 0, false // before the origin (e.g. audio slightly ahead of the first key frame)
	}
	if seen && out <= t.last[track] {
		out = t.last[track] + minStep // jitter or a duplicate timestamp: keep DTS strictly increasing
	}
	if seen {
		t.step[track] = out - t.last[track]
	}
	t.last[track] = out
	t.seen[track] = true
	t.maxDTS = max(t.maxDTS, out)

	return out + compositionOffset(pts, dts), out, true
}

// compositionOffset is PTS - DTS, or 0 when that is negative, absurdly
// large, or overflows.
func compositionOffset(pts, dts time.Duration) time.Duration {
	if pts <= dts {
		return 0
	}
	if d := pts - dts; d > 0 && d <= maxCompositionOffset {
		return d
	}
	return 0
}
