package packager

import (
	"context"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
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

// BenchmarkLiveSecond measures what a live 720p30 channel costs the
// packager per second of media with the default ladder (720p 2.8 Mb/s,
// 480p 1.4 Mb/s, 360p 0.8 Mb/s, AAC 128 kb/s: 90 video frames and ~47
// audio frames a second, 2 s segments, a 6-segment window): cutting, CMAF
// encoding, manifest rendering, state.json and writing every object. One
// op is one second of media, so ns/op is the CPU a channel takes per
// second (1e9 would be a whole core). The store is the filesystem backend
// in a temporary folder ("fs", as osprey serve uses) or one that discards
// objects ("null", packaging alone).
func BenchmarkLiveSecond(b *testing.B) {
	for _, tc := range []struct {
		name  string
		store func(b *testing.B) storage.Store
	}{
		{"null", func(*testing.B) storage.Store { return &nullStore{*newMemStore()} }},
		{"fs", func(b *testing.B) storage.Store {
			st, err := fs.New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	} {
		b.Run(tc.name, func(b *testing.B) { benchLiveSecond(b, tc.store(b)) })
	}
}

func benchLiveSecond(b *testing.B, st storage.Store) {
	// Frame sizes from the ladder's bitrates at 30 fps (keyframes are 8x).
	s := synth{gop: 60, rends: ladder(), payloads: []int{10_500, 5_200, 3_000}}
	s.rends[1].Bitrate, s.rends[2].Bitrate = 1_400_000, 800_000
	const span = 60 * time.Second
	us := s.units(0, span)
	perSecond := len(us) / int(span/time.Second)
	var now time.Time
	cfg := Config{Now: func() time.Time { return now }}
	l, err := NewLive(context.Background(), st, "live/ch", sessionStart, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := l.Begin(s.rends); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var shift time.Duration
	k := 0
	for i := 0; i < b.N; i++ {
		for j := 0; j < perSecond; j++ {
			if k == len(us) {
				k, shift = 0, shift+span
			}
			u := us[k].u
			u.PTS += shift
			u.DTS += shift
			now = sessionStart.Add(u.DTS)
			if err := l.WriteUnit(us[k].r, &u); err != nil {
				b.Fatal(err)
			}
			k++
		}
	}
	b.StopTimer()
	// CPU time (user+system, GC included) is steadier than wall time on a
	// shared machine.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
	if stats := l.Stats(); stats.StoreErrors != 0 || stats.SegmentsPublished == 0 && b.N > 4 {
		b.Fatalf("stats %+v", stats)
	}
}
