package timeline

import (
	"testing"
	"time"
)

func TestConversions(t *testing.T) {
	for _, tc := range []struct {
		ns   int64
		ts   uint32
		want uint64
	}{
		{0, 90000, 0},
		{-5, 90000, 0},
		{1e9, 90000, 90000},
		{5555, 90000, 0}, // 0.4995 ticks rounds down
		{5556, 90000, 1}, // 0.50004 ticks rounds up
		{1_733_572_800_123_456_789, 48000, 83_211_494_405_926}, // 2024-12-07T12:00:00.123456789Z
	} {
		if got := TicksAt(tc.ns, tc.ts); got != tc.want {
			t.Errorf("TicksAt(%d, %d) = %d, want %d", tc.ns, tc.ts, got, tc.want)
		}
	}
	if got := SinceEpoch(90000*3+45000, 90000); got != 3500*time.Millisecond {
		t.Errorf("SinceEpoch = %v", got)
	}
	if got := Time(48000*86400, 48000); !got.Equal(time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", got)
	}
	for _, tc := range []struct {
		t        uint64
		from, to uint32
		want     uint64
	}{
		{180000, 90000, 48000, 96000},
		{1, 90000, 48000, 1}, // 0.533 rounds up
		{1, 48000, 90000, 2}, // 1.875 rounds up
		{7, 1000, 1000, 7},
		{1 << 62, 90000, 90000, 1 << 62},
		{1<<62 + 1, 90000, 48000, (1<<62+1)/90000*48000 + ((1<<62+1)%90000*48000+45000)/90000},
	} {
		if got := Rescale(tc.t, tc.from, tc.to); got != tc.want {
			t.Errorf("Rescale(%d, %d, %d) = %d, want %d", tc.t, tc.from, tc.to, got, tc.want)
		}
	}
}

// A round trip through ticks moves an instant by at most half a tick.
func TestRoundTrip(t *testing.T) {
	for ns := int64(1_700_000_000_000_000_000); ns < 1_700_000_000_000_000_000+1e6; ns += 777 {
		back := int64(SinceEpoch(TicksAt(ns, 90000), 90000))
		if d := back - ns; d < -5556 || d > 5556 {
			t.Fatalf("%d → %d: off by %d ns", ns, back, d)
		}
	}
}
