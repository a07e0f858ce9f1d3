package config

import (
	"fmt"
	"time"
)

// Live configures live packaging.
type Live struct {
	SegmentDuration time.Duration `yaml:"segment_duration"` // target; default 2s
	// Window is the number of segments listed in live playlists; default
	// 10: longer than LL-HLS's CAN-SKIP-UNTIL (6 target durations), so
	// that delta updates (_HLS_skip) really leave segments out.
	Window int    `yaml:"window"`
	Ladder string `yaml:"ladder"` // preset name; default "default"
	// ShedLoad: a channel whose transcoder trails real time by more than
	// 1.5 segments for 5 s restarts its ladder one step cheaper (the top
	// rung dropped, then a faster x264 preset, then half the frame rate).
	// Default true.
	ShedLoad bool `yaml:"shed_load"`
	// ContinueGrace: a publisher that comes back within this time of its
	// session's last segment, after the ingest process died (kill -9, a
	// lost node), continues the same playlists after a discontinuity, on
	// any ingest node; a session nobody resumes is ended (EXT-X-ENDLIST)
	// after it. 0 ends such sessions at once and never continues them.
	// Default 60s.
	ContinueGrace time.Duration `yaml:"continue_grace"`
	// PartDuration cuts every live segment into parts of about this
	// duration (whole frames), served from memory by the ingest node as
	// LL-HLS partial segments and LL-DASH chunks at the same playback URLs;
	// players without low-latency support play the whole segments.
	// 0 turns parts off. Default 200ms; 50ms to 1s, at most half a segment.
	PartDuration time.Duration `yaml:"part_duration"`
	// KeyframeInterval spaces the keyframes of the transcoded rungs (the
	// passthrough rung keeps the publisher's): low-latency players join
	// at a part that starts with one, so it bounds how far behind the
	// live edge a player starts. It must divide segment_duration. 0 (the
	// default): one per segment, measured as good as 1 s with hls.js and
	// dash.js (docs/benchmarks.md) and 1–2.5 % cheaper in bitrate.
	KeyframeInterval time.Duration `yaml:"keyframe_interval"`
	// DVRWindow is how long a channel's segments are kept after their
	// media end, for time-shifted playback (?start=/?end=) and clips, when
	// the channel sets none of its own; also for ended sessions and idle
	// channels. 0 turns DVR off (segments go once out of the live window).
	// Default 2h; otherwise from window × segment_duration up to 24h.
	DVRWindow time.Duration `yaml:"dvr_window"`
}

// Keyframes is the keyframe interval the transcoded rungs get.
func (l Live) Keyframes() time.Duration {
	if l.KeyframeInterval > 0 {
		return l.KeyframeInterval
	}
	return l.SegmentDuration
}

// MaxDVRWindow is the longest DVR window (a channel's or the deployment's).
const MaxDVRWindow = 24 * time.Hour

func defaultLive() Live {
	return Live{
		SegmentDuration: 2 * time.Second,
		Window:          10,
		Ladder:          LadderDefault,
		ShedLoad:        true,
		ContinueGrace:   60 * time.Second,
		PartDuration:    200 * time.Millisecond,
		DVRWindow:       2 * time.Hour,
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
	if l.ContinueGrace < 0 || l.ContinueGrace > time.Hour {
		add("live.continue_grace", "must be between 0s and 1h, got %s", l.ContinueGrace)
	}
	if p := l.PartDuration; p != 0 && (p < 50*time.Millisecond || p > time.Second || p > l.SegmentDuration/2) {
		add("live.part_duration", "must be 0 (no parts) or between 50ms and 1s, at most half of live.segment_duration, got %s", p)
	}
	if k := l.KeyframeInterval; k != 0 && (k < 100*time.Millisecond || k > l.SegmentDuration || l.SegmentDuration%k != 0) {
		add("live.keyframe_interval", "must be 0 (one per segment) or divide live.segment_duration (%s) evenly, such as 1s or 500ms, got %s", l.SegmentDuration, k)
	}
	if d, lo := l.DVRWindow, time.Duration(l.Window)*l.SegmentDuration; d != 0 && (d < lo || d > MaxDVRWindow) {
		add("live.dvr_window", "must be 0 (no DVR) or between live.window × live.segment_duration (%s) and %s, got %s", lo, MaxDVRWindow, d)
	}
	if _, ok := c.Ladders[l.Ladder]; !ok {
		add("live.ladder", "no ladder named %q (have %s)", l.Ladder, c.ladderList())
	}
	return errs
}
