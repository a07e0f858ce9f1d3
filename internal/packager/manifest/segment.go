package manifest

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// Segment is a published segment number: one entry per rendition.
type Segment struct {
	N       uint64
	Disc    bool   // EXT-X-DISCONTINUITY before it
	DSeq    uint64 // discontinuity sequence number
	InitV   uint64
	Period  Period
	Lead    string
	Entries []Entry
	// Hole marks a number that was skipped, not cut: a session continued
	// after a crash goes on after the numbers its dead node may have
	// served from memory (see window.State.Resume). Every entry is a Gap;
	// HLS lists it as EXT-X-GAP (media sequence numbers are implicit), a
	// DASH MPD leaves it out (its Period ends before it).
	Hole bool
}

// Period identifies the DASH period a segment belongs to.
type Period struct {
	ID    uint64        // number of the period's first segment
	Start time.Duration // since the Unix epoch, whole milliseconds
}

// Entry is one rendition's media segment of a Segment: its decode time T
// and duration D in its timescale TS, its size and sample count. A Gap has
// no media (the rendition missed the cut, or its object was never stored).
type Entry struct {
	Name  string
	Kind  media.Kind
	TS    uint32
	T, D  uint64
	Size  int
	Count int
	Gap   bool
}

// Start is the earliest start of the segment's entries, in whole
// milliseconds since the Unix epoch (rounded down, so that no track's first
// segment starts before a period that begins there).
func (r *Segment) Start() time.Duration {
	var s time.Duration
	for i, e := range r.Entries {
		if d := timeline.SinceEpoch(e.T, e.TS); i == 0 || d < s {
			s = d
		}
	}
	return s.Truncate(time.Millisecond)
}

// Entry returns the entry of the rendition name, nil if it has none.
func (r *Segment) Entry(name string) *Entry {
	for i := range r.Entries {
		if r.Entries[i].Name == name {
			return &r.Entries[i]
		}
	}
	return nil
}
