package packager

import (
	"context"
	"testing"
	"time"
)

// nullStore discards objects, so the benchmark measures packaging alone.
type nullStore struct{ memStore }

func (*nullStore) Put(context.Context, string, []byte) error { return nil }

// BenchmarkWriteUnit measures the cost per unit of a 4-rendition ladder
// (720p, 480p, 360p, audio) with realistic payload sizes (~2.5 Mb/s total).
func BenchmarkWriteUnit(b *testing.B) {
	s := synth{gop: 60, rends: ladder(), payloadN: 4000}
	const span = 60 * time.Second
	us := s.units(0, span)
	// The clock follows media time, as it does live.
	var now time.Time
	cfg := Config{Now: func() time.Time { return now }}
	l, err := NewLive(context.Background(), &nullStore{*newMemStore()}, "live/ch", sessionStart, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Begin(s.rends); err != nil {
		b.Fatal(err)
	}
	var bytes int64
	for _, u := range us {
		for _, n := range u.u.NALUs {
			bytes += int64(len(n))
		}
		bytes += int64(len(u.u.Data))
	}
	b.SetBytes(bytes / int64(len(us)))
	b.ReportAllocs()
	b.ResetTimer()
	var shift time.Duration
	for i := 0; i < b.N; i++ {
		k := i % len(us)
		if k == 0 && i > 0 {
			shift += span
		}
		u := us[k].u
		u.PTS += shift
		u.DTS += shift
		now = sessionStart.Add(u.DTS)
		if err := l.WriteUnit(us[k].r, &u); err != nil {
			b.Fatal(err)
		}
	}
}
