package packager

import (
	"time"
)

// Config tunes a live packager. Zero values take the defaults.
type Config struct {
	SegmentDuration time.Duration // target, default 2s
	Window          int           // segments listed in live playlists and the MPD, default 6
	// DeleteGrace is how long a segment that left the window (or an init
	// segment no longer referenced) stays in storage; default
	// max(30s, Window*SegmentDuration).
	DeleteGrace time.Duration
	TimeURL     string // DASH UTCTiming http-iso URL; default "/time"
	// ContinueGrace is how long after its last publish a session left
	// live by a crash (kill -9, a lost ingest node) may be continued by
	// the channel's next session, in the same folder and playlists (see
	// continue.go); Recover leaves such a session live until then.
	// Default 60s; negative: never continue, Recover ends at once.
	ContinueGrace time.Duration
	// PartDuration, when positive, cuts every segment into parts of about
	// that duration (whole frames of the lead rendition) and serves them
	// from memory as LL-HLS partial segments and LL-DASH chunks (see
	// serve.go); 0: no parts.
	PartDuration time.Duration
	// DVRWindow, when positive, keeps the channel's segments that long
	// after their media end, for time-shifted viewing and clips, indexed
	// in dvr.json and its chunks (package dvr; see dvr.go here); at least
	// Window*SegmentDuration. 0: no DVR, segments go DeleteGrace after
	// they leave the window.
	DVRWindow time.Duration

	// Now is the wall clock used for publish times and deletion deadlines;
	// nil means time.Now. Tests inject a fake clock.
	Now func() time.Time

	// chunkSize overrides dvr.ChunkSize (tests only).
	chunkSize int
}

// Defaults.
const (
	DefaultSegmentDuration = 2 * time.Second
	DefaultWindow          = 6
	DefaultTimeURL         = "/time"
	DefaultContinueGrace   = 60 * time.Second
	minDeleteGrace         = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if c.SegmentDuration <= 0 {
		c.SegmentDuration = DefaultSegmentDuration
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.DeleteGrace <= 0 {
		c.DeleteGrace = max(minDeleteGrace, time.Duration(c.Window)*c.SegmentDuration)
	}
	if c.ContinueGrace == 0 {
		c.ContinueGrace = DefaultContinueGrace
	}
	if c.TimeURL == "" {
		c.TimeURL = DefaultTimeURL
	}
	if c.DVRWindow > 0 {
		c.DVRWindow = max(c.DVRWindow, time.Duration(c.Window)*c.SegmentDuration)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
