package ingest

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// tlOp is one decoded fuzz operation: a unit of a track with source
// timestamps.
type tlOp struct {
	track    int
	pts, dts time.Duration
}

// decodeTimelineOps turns fuzz bytes into a track count and units. Each unit
// takes 8 bytes: track, mode, then a DTS as a delta (mode 0), an absolute
// millisecond time (mode 1, the RTMP range) or raw nanoseconds (mode 2,
// anything at all), then a composition offset in milliseconds.
func decodeTimelineOps(data []byte) (int, []tlOp) {
	if len(data) == 0 {
		return 1, nil
	}
	n := 1 + int(data[0]%3)
	data = data[1:]
	var ops []tlOp
	last := make([]time.Duration, n)
	for len(data) >= 8 {
		track := int(data[0]) % n
		v := int32(binary.BigEndian.Uint32(data[2:6]))
		var dts time.Duration
		switch data[1] % 4 {
		case 0: // delta in 0.1 ms steps, mostly forward
			dts = last[track] + time.Duration(int16(v))*100*time.Microsecond
		case 1:
			dts = time.Duration(uint32(v)) * time.Millisecond
		case 2:
			dts = time.Duration(int64(v) * int64(v) * int64(data[1]|1))
		case 3:
			dts = time.Duration(int64(v) << (data[1] % 40))
		}
		cto := time.Duration(int16(binary.BigEndian.Uint16(data[6:8]))) * time.Millisecond
		if data[1]&0x80 != 0 {
			cto = time.Duration(math.MaxInt64 - int64(data[6])) // absurd PTS
		}
		ops = append(ops, tlOp{track: track, pts: dts + cto, dts: dts})
		last[track] = dts
		data = data[8:]
	}
	return n, ops
}

func tlBytes(n int, ops ...[8]byte) []byte {
	b := []byte{byte(n - 1)}
	for _, op := range ops {
		b = append(b, op[:]...)
	}
	return b
}

// The timeline's promises hold whatever the publisher's clock does: DTS
// strictly increasing per track and never negative, PTS at or after DTS and
// at most maxCompositionOffset later, and no unit leaping more than
// maxForwardJump ahead of everything before it.
func FuzzTimeline(f *testing.F) {
	f.Add(tlBytes(1, [8]byte{0, 1, 0, 0, 0, 0, 0, 0}, [8]byte{0, 0, 0, 0, 1, 144, 0, 0}))
	f.Add(tlBytes(2,
		[8]byte{0, 1, 0, 0, 39, 16, 0, 80}, [8]byte{1, 1, 0, 0, 39, 6, 0, 0}, // video, audio at 10 s
		[8]byte{0, 0, 0, 0, 1, 144, 0, 80}, [8]byte{1, 0, 0, 0, 0, 213, 0, 0},
		[8]byte{0, 1, 0, 0, 0, 0, 0, 0}, [8]byte{1, 1, 0, 0, 0, 5, 0, 0}, // clock reset
	))
	f.Add(tlBytes(3, [8]byte{2, 2, 127, 255, 255, 255, 0, 0}, [8]byte{1, 3, 255, 255, 255, 255, 255, 255}, [8]byte{0, 0x81, 1, 2, 3, 4, 5, 6}))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, ops := decodeTimelineOps(data)
		if len(ops) == 0 {
			return
		}
		tl := NewTimeline(n)
		tl.SetOrigin(ops[0].dts)
		last := make([]time.Duration, n)
		seen := make([]bool, n)
		var maxDTS time.Duration
		for i, op := range ops {
			pts, dts, ok := tl.Map(op.track, op.pts, op.dts)
			if !ok {
				continue
			}
			switch {
			case i == 0 && dts != 0:
				t.Fatalf("origin unit at %s, want 0", dts)
			case dts < 0:
				t.Fatalf("unit %d at DTS %s, before the origin", i, dts)
			case seen[op.track] && dts <= last[op.track]:
				t.Fatalf("unit %d, track %d: DTS %s after %s", i, op.track, dts, last[op.track])
			case pts < dts:
				t.Fatalf("unit %d: PTS %s below DTS %s", i, pts, dts)
			case pts-dts > maxCompositionOffset:
				t.Fatalf("unit %d: PTS %s is %s after DTS", i, pts, pts-dts)
			case dts > maxDTS+maxForwardJump:
				t.Fatalf("unit %d, track %d: DTS %s leaps past %s", i, op.track, dts, maxDTS)
			}
			last[op.track], seen[op.track] = dts, true
			maxDTS = max(maxDTS, dts)
		}
	})
}
