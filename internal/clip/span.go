package clip

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// segmentSpan is when a segment's lead entry starts and ends (wall clock).
func segmentSpan(r *manifest.Segment) (start, end time.Time) {
	e := r.Entry(r.Lead)
	if e == nil && len(r.Entries) > 0 {
		e = &r.Entries[0]
	}
	if e == nil {
		return time.Time{}, time.Time{}
	}
	return timeline.Time(e.T, e.TS), timeline.Time(e.T+e.D, e.TS)
}

// Select returns the segments of v that overlap [start, end): the first
// is the one holding start (its keyframe is where the clip begins), the
// last the one holding the instant before end. The View shares v's
// segments.
func Select(v *manifest.View, start, end time.Time) *manifest.View {
	out := *v
	out.Window = nil
	for _, r := range v.Window {
		s, e := segmentSpan(r)
		if e.After(start) && s.Before(end) {
			out.Window = append(out.Window, r)
		}
	}
	return &out
}

// Bounds is the span v's segments cover: from the start of the first to
// the end of the last.
func Bounds(v *manifest.View) (from, to time.Time) {
	if len(v.Window) == 0 {
		return time.Time{}, time.Time{}
	}
	from, _ = segmentSpan(v.Window[0])
	_, to = segmentSpan(v.Window[len(v.Window)-1])
	return from, to
}
