package transcode

import (
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// The queue wakes feed for video, for audio spanning audioFlushSpan and for
// any unit of input without video, and not for audio alone; it keeps its
// bounds, and take hands out every unit in order; their bytes count until released.
func TestUnitQueue(t *testing.T) {
	unit := func(track int, dts time.Duration, size int64) queued {
		return queued{track: track, unit: &media.Unit{DTS: dts}, size: size}
	}
	type push struct {
		u        queued
		accepted bool
		wakes    bool
	}
	tests := []struct {
		name   string
		video  []bool
		pushes []push
	}{
		{"audio waits for video", []bool{true, false}, []push{
			{unit(1, 0, 10), true, false},
			{unit(1, 21*time.Millisecond, 10), true, false},
			{unit(0, 30*time.Millisecond, 10), true, true},
		}},
		{"audio spanning audioFlushSpan", []bool{true, false}, []push{
			{unit(1, 0, 10), true, false},
			{unit(1, 21*time.Millisecond, 10), true, false},
			{unit(1, 42*time.Millisecond, 10), true, true},
		}},
		{"input without video", []bool{false}, []push{
			{unit(0, 0, 10), true, true},
			{unit(0, 21*time.Millisecond, 10), true, true},
		}},
		{"count bound", []bool{true}, []push{
			{unit(0, 0, 1), true, true}, {unit(0, 1, 1), true, true}, {unit(0, 2, 1), true, true},
			{unit(0, 3, 1), true, true}, {unit(0, 4, 1), false, false},
		}},
		{"byte bound", []bool{true}, []push{
			{unit(0, 0, 60), true, true}, {unit(0, 1, 41), false, false}, {unit(0, 2, 40), true, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newUnitQueue(4, 100, tt.video)
			var want []queued
			var bytes int64
			for i, p := range tt.pushes {
				if got := q.push(p.u); got != p.accepted {
					t.Fatalf("push %d accepted = %v, want %v", i, got, p.accepted)
				}
				if p.accepted {
					want, bytes = append(want, p.u), bytes+p.u.size
				}
				woke := false
				select {
				case <-q.ready:
					woke = true
				default:
				}
				if woke != p.wakes {
					t.Fatalf("push %d woke feed = %v, want %v", i, woke, p.wakes)
				}
			}
			if got := q.queuedBytes(); got != bytes {
				t.Fatalf("%d bytes queued, want %d", got, bytes)
			}
			got := q.take(nil)
			if len(got) != len(want) {
				t.Fatalf("took %d units, want %d", len(got), len(want))
			}
			for i := range got {
				if got[i].unit != want[i].unit {
					t.Fatalf("unit %d out of order", i)
				}
			}
			// Taken units still count until they are released (written).
			if q.queuedBytes() != bytes {
				t.Fatalf("%d bytes counted after take, want %d until released", q.queuedBytes(), bytes)
			}
			if bytes > 0 && q.push(unit(0, time.Second, 100)) {
				t.Fatal("a full-size unit was queued while taken units held the bytes")
			}
			for _, u := range got {
				q.release(u.size)
			}
			if q.queuedBytes() != 0 || len(q.take(got)) != 0 {
				t.Fatal("units or bytes left after take and release")
			}
			if !q.push(unit(0, time.Second, 100)) {
				t.Fatal("a full-size unit was refused after the taken units were released")
			}
			if n := q.drop(); n != 1 || q.queuedBytes() != 0 {
				t.Fatalf("drop: %d units, %d bytes left; want 1, 0", n, q.queuedBytes())
			}
		})
	}
}
