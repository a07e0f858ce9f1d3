package ingest

import (
	"math"
	"testing"
	"time"
)

const ms = time.Millisecond

type tlIn struct {
	track    int
	pts, dts time.Duration
}

type tlOut struct {
	pts, dts time.Duration
	ok       bool
}

func TestTimeline(t *testing.T) {
	tests := []struct {
		name   string
		origin time.Duration
		in     []tlIn
		want   []tlOut
		disc   int
	}{
		{
			name:   "origin maps to zero, later units keep their spacing",
			origin: 10 * time.Second,
			in:     []tlIn{{0, 10 * time.Second, 10 * time.Second}, {0, 10*time.Second + 40*ms, 10*time.Second + 40*ms}},
			want:   []tlOut{{0, 0, true}, {40 * ms, 40 * ms, true}},
		},
		{
			name:   "units before the origin are dropped",
			origin: time.Second,
			in:     []tlIn{{1, 990 * ms, 990 * ms}, {1, 1010 * ms, 1010 * ms}},
			want:   []tlOut{{0, 0, false}, {10 * ms, 10 * ms, true}},
		},
		{
			name:   "B-frames keep their composition offset",
			origin: 0,
			in:     []tlIn{{0, 80 * ms, 0}, {0, 160 * ms, 40 * ms}, {0, 120 * ms, 80 * ms}},
			want:   []tlOut{{80 * ms, 0, true}, {160 * ms, 40 * ms, true}, {120 * ms, 80 * ms, true}},
		},
		{
			name:   "PTS below DTS is raised to DTS",
			origin: 0,
			in:     []tlIn{{0, 0, 0}, {0, 20 * ms, 40 * ms}},
			want:   []tlOut{{0, 0, true}, {40 * ms, 40 * ms, true}},
		},
		{
			name:   "duplicate DTS is nudged forward",
			origin: 0,
			in:     []tlIn{{0, 0, 0}, {0, 40 * ms, 40 * ms}, {0, 40 * ms, 40 * ms}},
			want:   []tlOut{{0, 0, true}, {40 * ms, 40 * ms, true}, {41 * ms, 41 * ms, true}},
		},
		{
			name:   "clock reset continues after the latest unit",
			origin: 0,
			in: []tlIn{
				{0, 0, 0}, {0, 500 * ms, 500 * ms}, {0, 540 * ms, 540 * ms},
				{0, 0, 0}, {0, 40 * ms, 40 * ms}, // publisher restarted its clock
			},
			want: []tlOut{
				{0, 0, true}, {500 * ms, 500 * ms, true}, {540 * ms, 540 * ms, true},
				{580 * ms, 580 * ms, true}, {620 * ms, 620 * ms, true},
			},
			disc: 1,
		},
		{
			name:   "forward jump is closed",
			origin: 0,
			in:     []tlIn{{0, 0, 0}, {0, 40 * ms, 40 * ms}, {0, time.Hour, time.Hour}, {0, time.Hour + 40*ms, time.Hour + 40*ms}},
			want:   []tlOut{{0, 0, true}, {40 * ms, 40 * ms, true}, {80 * ms, 80 * ms, true}, {120 * ms, 120 * ms, true}},
			disc:   1,
		},
		{
			name:   "small backward jitter does not rebase",
			origin: 0,
			in:     []tlIn{{0, 0, 0}, {0, 100 * ms, 100 * ms}, {0, 90 * ms, 90 * ms}, {0, 200 * ms, 200 * ms}},
			want:   []tlOut{{0, 0, true}, {100 * ms, 100 * ms, true}, {101 * ms, 101 * ms, true}, {200 * ms, 200 * ms, true}},
		},
		{
			name:   "both tracks follow one rebase and stay in sync",
			origin: 5 * time.Second,
			in: []tlIn{
				{0, 5 * time.Second, 5 * time.Second}, {1, 5 * time.Second, 5 * time.Second},
				{0, 5*time.Second + 40*ms, 5*time.Second + 40*ms}, {1, 5*time.Second + 20*ms, 5*time.Second + 20*ms},
				{0, 0, 0}, {1, 0, 0}, // both clocks reset
				{0, 40 * ms, 40 * ms}, {1, 20 * ms, 20 * ms},
			},
			want: []tlOut{
				{0, 0, true}, {0, 0, true},
				{40 * ms, 40 * ms, true}, {20 * ms, 20 * ms, true},
				{80 * ms, 80 * ms, true}, {80 * ms, 80 * ms, true},
				{120 * ms, 120 * ms, true}, {100 * ms, 100 * ms, true},
			},
			disc: 1,
		},
		{
			name:   "32-bit RTMP millisecond wrap",
			origin: time.Duration(1<<32-100) * ms,
			in: []tlIn{
				{0, time.Duration(1<<32-100) * ms, time.Duration(1<<32-100) * ms},
				{0, time.Duration(1<<32-60) * ms, time.Duration(1<<32-60) * ms},
				{0, 4 * ms, 4 * ms}, // wrapped
				{0, 44 * ms, 44 * ms},
			},
			want: []tlOut{{0, 0, true}, {40 * ms, 40 * ms, true}, {80 * ms, 80 * ms, true}, {120 * ms, 120 * ms, true}},
			disc: 1,
		},
		{
			// found by FuzzTimeline: PTS - DTS overflowed into a PTS far below DTS
			name:   "absurd composition offsets are dropped",
			origin: 0,
			in:     []tlIn{{0, 0, 0}, {0, math.MaxInt64, 40 * ms}, {0, 80*ms + 11*time.Second, 80 * ms}},
			want:   []tlOut{{0, 0, true}, {40 * ms, 40 * ms, true}, {80 * ms, 80 * ms, true}},
		},
		{
			// found by FuzzTimeline: the gap of a paused track was taken
			// for its frame duration and repeated after a clock jump
			name:   "a jump after a pause continues at most a second later",
			origin: 0,
			in: []tlIn{
				{0, 0, 0}, {1, 0, 0},
				{1, 4 * time.Second, 4 * time.Second}, // audio paused 4 s
				{1, time.Hour, time.Hour},             // then jumped
			},
			want: []tlOut{{0, 0, true}, {0, 0, true}, {4 * time.Second, 4 * time.Second, true}, {5 * time.Second, 5 * time.Second, true}},
			disc: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewTimeline(2)
			if _, _, ok := tl.Map(0, 0, 0); ok {
				t.Fatal("Map before SetOrigin accepted a unit")
			}
			tl.SetOrigin(tt.origin)
			for i, in := range tt.in {
				pts, dts, ok := tl.Map(in.track, in.pts, in.dts)
				got := tlOut{pts, dts, ok}
				if !ok {
					got = tlOut{}
				}
				if got != tt.want[i] {
					t.Errorf("unit %d (track %d, pts %v, dts %v): got %+v, want %+v", i, in.track, in.pts, in.dts, got, tt.want[i])
				}
			}
			if got := tl.Discontinuities(); got != tt.disc {
				t.Errorf("discontinuities = %d, want %d", got, tt.disc)
			}
		})
	}
}

func TestRedactKey(t *testing.T) {
	tests := []struct{ key, want string }{
		{"", "…"},
		{"short", "…"},
		{"abcdef", "…"},
		{"live_8f3a9c2d1e", "liv…"},
	}
	for _, tt := range tests {
		if got := RedactKey(tt.key); got != tt.want {
			t.Errorf("RedactKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}
