package cut

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// cutTolerance absorbs timestamp rounding between renditions whose
// keyframes are forced at the same instants.
const cutTolerance = 5 * time.Millisecond

// minPendingSpan bounds how much media a non-lead track may hold while it
// waits for the lead to decide a cut (the bound is max(4 segments, this)).
const minPendingSpan = 10 * time.Second

// boundary is a segment boundary decided by the lead track.
type boundary struct {
	n   uint64
	pts time.Duration
	// part is the duration of the segment's parts (0: no parts): the
	// configured PartDuration rounded to whole frames of the lead.
	part time.Duration
}

// nextBoundary is the earliest instant the cut after one at pts may fall:
// the next multiple of SegmentDuration on the session timeline (counted
// from gridOrigin: 0 for Live, the first cut for VOD), less the tolerance.
// The transcoder forces keyframes on that same grid, so segments are
// SegmentDuration long, and after a restart (whose first keyframe falls off
// the grid) the first segment is shorter, never longer.
func (c *Cutter) nextBoundary(pts time.Duration) time.Duration {
	D := c.cfg.SegmentDuration
	return c.gridOrigin + ((pts-c.gridOrigin+cutTolerance)/D+1)*D - cutTolerance
}

// leadUnit handles a unit of the lead track, which decides every cut: a
// keyframe at or past the next grid boundary after the current segment's
// start begins a new segment.
func (c *Cutter) leadUnit(t *track, u *unit) error {
	if !t.started {
		if !u.key || !t.ensureInit(c, u) {
			c.dropped++
			return nil
		}
		return c.leadCut(t, u)
	}
	if u.key {
		t.ensureInit(c, u) // notes parameter set changes
		if u.pts >= c.nextBoundary(c.cuts[len(c.cuts)-1].pts) {
			return c.leadCut(t, u)
		}
	}
	if _, cto, ok := t.stamp(c, u); ok {
		c.add(t, u, cto)
	} else {
		c.dropped++
	}
	return nil
}

// leadCut closes the lead's segment, starts the next one at u and lets the
// other tracks' pending units through.
func (c *Cutter) leadCut(t *track, u *unit) error {
	if len(c.cuts) == 0 && c.cfg.ZeroAtFirstCut {
		c.gridOrigin, c.startNS = u.pts, -int64(u.pts)
	}
	dt, cto, ok := t.stamp(c, u)
	if !ok {
		c.dropped++
		return nil
	}
	if t.open != nil {
		c.closeSegment(t)
	}
	n, err := c.h.Number()
	if len(c.cuts) == 0 {
		c.nextPub = n
	}
	c.cuts = append(c.cuts, boundary{n: n, pts: u.pts, part: c.partDuration()})
	t.openSegment(n, len(c.cuts)-1, dt)
	c.startParts(t, len(c.cuts)-1)
	c.add(t, u, cto)
	for _, o := range c.tracks {
		if o != t {
			c.drain(o)
		}
	}
	return err
}

// otherUnit handles a unit of a non-lead track.
func (c *Cutter) otherUnit(t *track, u *unit) {
	if t.pending() > 0 || !c.place(t, u) {
		t.pushPending(u)
		c.capPending(t)
	}
}

// drain places t's pending units until one is still undecided.
func (c *Cutter) drain(t *track) {
	for t.pending() > 0 {
		u := t.peek()
		if !c.place(t, &u) {
			return
		}
		t.pop()
	}
}

// capPending forces the oldest pending units into the open segment (or
// drops them) when the lead has not decided a cut for too long.
func (c *Cutter) capPending(t *track) {
	limit := max(4*c.cfg.SegmentDuration, minPendingSpan)
	for t.pending() > 0 && t.pendingSpan() > limit {
		t.warnOnce(c, warnPending, "packager: lead rendition decides no cut; forcing pending units", "lead", c.lead.name)
		u := t.peek()
		c.append(t, &u)
		t.pop()
	}
}

// append adds u to t's open segment without a cut decision (dropping it if
// the track has not started).
func (c *Cutter) append(t *track, u *unit) {
	if t.open == nil {
		c.dropped++
		return
	}
	if _, cto, ok := t.stamp(c, u); ok {
		c.add(t, u, cto)
	} else {
		c.dropped++
	}
}

// place puts a non-lead unit into its segment: the first unit at or after
// the lead's cut (a keyframe, for video) starts the track's next segment.
// It reports false when the unit cannot be placed before the lead decides
// the next cut.
func (c *Cutter) place(t *track, u *unit) bool {
	if len(c.cuts) == 0 {
		return false
	}
	canCut := t.kind != media.Video || u.key
	last := len(c.cuts) - 1
	// target finds the last known cut u may start, or -1.
	target := func(from int) int {
		j := -1
		for i := from; i <= last && u.pts >= c.cuts[i].pts-cutTolerance; i++ {
			j = i
		}
		return j
	}
	undecided := func(j int) bool { return j == last && u.pts >= c.nextBoundary(c.cuts[last].pts)-cutTolerance }

	if !t.started {
		if !canCut {
			c.dropped++
			return true
		}
		j := target(0)
		if j < 0 {
			c.dropped++ // before the epoch's first cut
			return true
		}
		if undecided(j) {
			return false
		}
		if !t.ensureInit(c, u) {
			c.dropped++
			return true
		}
		dt, cto, ok := t.stamp(c, u)
		if !ok {
			c.dropped++
			return true
		}
		for i := 0; i < j; i++ {
			c.markGap(c.cuts[i].n, t)
		}
		t.openSegment(c.cuts[j].n, j, dt)
		c.startParts(t, j)
		c.add(t, u, cto)
		return true
	}

	k := t.segIdx
	if canCut {
		if j := target(k + 1); j > k {
			if undecided(j) {
				return false
			}
			if t.kind == media.Video {
				t.ensureInit(c, u)
			}
			dt, cto, ok := t.stamp(c, u)
			if !ok {
				c.dropped++
				return true
			}
			c.closeSegment(t)
			for i := k + 1; i < j; i++ {
				c.markGap(c.cuts[i].n, t)
			}
			t.openSegment(c.cuts[j].n, j, dt)
			c.startParts(t, j)
			c.add(t, u, cto)
			return true
		}
		if k == last && u.pts >= c.nextBoundary(c.cuts[k].pts)-cutTolerance {
			return false
		}
	} else if k < last && u.pts >= c.cuts[k+1].pts-cutTolerance {
		t.warnOnce(c, warnKeyframe, "packager: rendition has no keyframe at the lead's cut; its segment runs on to its next keyframe",
			"pts", u.pts)
	}
	c.append(t, u)
	return true
}
