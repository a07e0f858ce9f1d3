package ingesttest

import (
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Contract is an ingest.Publication that checks, call by call, what every
// listener promises its publication: Start once, before any unit, with
// complete tracks (video with parameter sets and a size); units on a known
// track; per track a strictly increasing DTS, never below 0, with PTS not
// below DTS; the session's first unit at DTS 0; nothing after Close, and
// Close once. It keeps no units, so fuzz targets can feed it without end.
type Contract struct {
	Tracks []*media.Track // as given to Start
	Units  int            // units received

	err     error
	last    []time.Duration
	seen    []bool
	started int
	closes  int
}

var _ interface {
	Start([]*media.Track) error
	WriteUnit(int, *media.Unit) error
	Close(error)
} = (*Contract)(nil)

// Err returns the first broken promise, or nil.
func (c *Contract) Err() error { return c.err }

// Closed reports whether Close was called.
func (c *Contract) Closed() bool { return c.closes > 0 }

func (c *Contract) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// Start implements ingest.Publication.
func (c *Contract) Start(tracks []*media.Track) error {
	c.started++
	switch {
	case c.started > 1:
		c.fail("Start called %d times", c.started)
	case c.closes > 0:
		c.fail("Start after Close")
	case len(tracks) == 0:
		c.fail("Start without tracks")
	}
	for i, t := range tracks {
		if t.Kind != media.Video {
			continue
		}
		if len(t.SPS) == 0 || len(t.PPS) == 0 || (t.Codec == media.H265 && len(t.VPS) == 0) {
			c.fail("track %d (%s) started without its parameter sets", i, t.Codec)
		}
		if t.Width <= 0 || t.Height <= 0 {
			c.fail("track %d (%s) started with size %dx%d", i, t.Codec, t.Width, t.Height)
		}
	}
	c.Tracks = tracks
	c.last = make([]time.Duration, len(tracks))
	c.seen = make([]bool, len(tracks))
	return nil
}

// WriteUnit implements ingest.Publication.
func (c *Contract) WriteUnit(track int, u *media.Unit) error {
	switch {
	case c.started == 0:
		c.fail("unit before Start")
		return nil
	case c.closes > 0:
		c.fail("unit after Close")
		return nil
	case track < 0 || track >= len(c.Tracks):
		c.fail("unit on track %d of %d", track, len(c.Tracks))
		return nil
	}
	if c.Units == 0 && u.DTS != 0 {
		c.fail("first unit at DTS %s, want 0", u.DTS)
	}
	if u.DTS < 0 {
		c.fail("track %d: unit at DTS %s, before the origin", track, u.DTS)
	}
	if u.PTS < u.DTS {
		c.fail("track %d: PTS %s below DTS %s", track, u.PTS, u.DTS)
	}
	if c.seen[track] && u.DTS <= c.last[track] {
		c.fail("track %d: DTS %s after %s, not increasing", track, u.DTS, c.last[track])
	}
	if c.Tracks[track].Kind == media.Video && len(u.NALUs) == 0 {
		c.fail("track %d: video unit without NAL units", track)
	}
	c.last[track], c.seen[track] = u.DTS, true
	c.Units++
	return nil
}

// Close implements ingest.Publication.
func (c *Contract) Close(error) {
	c.closes++
	if c.closes > 1 {
		c.fail("Close called %d times", c.closes)
	}
}
