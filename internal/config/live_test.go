package config

import (
	"strings"
	"testing"
	"time"
)

// live.dvr_window: 2h by default, read from the file, and a value outside
// 0 or [window × segment duration, 24h] is an error naming the key.
func TestDVRWindowKey(t *testing.T) {
	t.Parallel()
	if d := Default().Live.DVRWindow; d != 2*time.Hour {
		t.Errorf("default live.dvr_window %s, want 2h", d)
	}
	tests := []struct {
		yaml string
		want time.Duration
		err  string
	}{
		{"live:\n  dvr_window: 30m\n", 30 * time.Minute, ""},
		{"live:\n  dvr_window: 0s\n", 0, ""},
		{"live:\n  window: 3\n  segment_duration: 2s\n  dvr_window: 6s\n", 6 * time.Second, ""},
		{"live:\n  window: 3\n  segment_duration: 2s\n  dvr_window: 5s\n", 5 * time.Second, "live.dvr_window: must be 0 (no DVR) or between live.window × live.segment_duration (6s) and 24h0m0s, got 5s"},
		{"live:\n  dvr_window: 25h\n", 25 * time.Hour, "live.dvr_window: "},
	}
	for _, tt := range tests {
		cfg, err := Load(writeFile(t, tt.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		if cfg.Live.DVRWindow != tt.want {
			t.Errorf("%q: dvr_window %s, want %s", tt.yaml, cfg.Live.DVRWindow, tt.want)
		}
		err = cfg.Validate()
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%q: Validate() = %v", tt.yaml, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: Validate() = %v, want %q", tt.yaml, err, tt.err)
		}
	}
}

// live.keyframe_interval: one per segment unless set.
func TestKeyframes(t *testing.T) {
	for _, tt := range []struct {
		seg, set, want time.Duration
	}{
		{2 * time.Second, 0, 2 * time.Second},
		{4 * time.Second, 0, 4 * time.Second},
		{1500 * time.Millisecond, 0, 1500 * time.Millisecond},
		{2 * time.Second, 2 * time.Second, 2 * time.Second},
		{2 * time.Second, 500 * time.Millisecond, 500 * time.Millisecond},
	} {
		l := Live{SegmentDuration: tt.seg, KeyframeInterval: tt.set}
		if got := l.Keyframes(); got != tt.want {
			t.Errorf("segment %s, keyframe_interval %s: %s, want %s", tt.seg, tt.set, got, tt.want)
		}
	}
}
