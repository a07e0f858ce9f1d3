package config

import (
	"fmt"
	"time"
)

// Live configures live packaging.
type Live struct {
	SegmentDuration time.Duration `yaml:"segment_duration"` // target; default 2s
	Window          int           `yaml:"window"`           // segments listed in live playlists; default 6
	Ladder          string        `yaml:"ladder"`           // preset name; default "default"
	// ShedLoad: a channel whose transcoder trails real time by more than
	// 1.5 segments for 5 s restarts its ladder one step cheaper (the top
	// rung dropped, then a faster x264 preset, then half the frame rate).
	// Default true.
	ShedLoad bool `yaml:"shed_load"`
}

func defaultLive() Live {
	return Live{
		SegmentDuration: 2 * time.Second,
		Window:          6,
		Ladder:          LadderDefault,
		ShedLoad:        true,
	}
}

// validate checks the live section; ladders are those of the whole config.
func (l Live) validate(c Config) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if d := l.SegmentDuration; d < MinSegmentDuration || d > MaxSegmentDuration {
		add("live.segment_duration", "must be between %s and %s, got %s", MinSegmentDuration, MaxSegmentDuration, d)
	}
	if l.Window < MinWindow {
		add("live.window", "must be at least %d, got %d", MinWindow, l.Window)
	}
	if _, ok := c.Ladders[l.Ladder]; !ok {
		add("live.ladder", "no ladder named %q (have %s)", l.Ladder, c.ladderList())
	}
	return errs
}
