package cmaf

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/media"
)

// boxTypes lists the top-level boxes of an mp4ff-decoded file.
func boxTypes(f *mp4.File) string {
	var s []string
	for _, c := range f.Children {
		s = append(s, c.Type())
	}
	return strings.Join(s, " ")
}

// prfts returns the prft boxes of a decoded file, in order.
func prfts(f *mp4.File) []*mp4.PrftBox {
	var out []*mp4.PrftBox
	for _, c := range f.Children {
		if p, ok := c.(*mp4.PrftBox); ok {
			out = append(out, p)
		}
	}
	return out
}

// wantInstant is the wall-clock instant epoch + media/ts, computed apart
// from the package's helper.
func wantInstant(epoch time.Time, media uint64, ts uint32) time.Time {
	sec := media / uint64(ts)
	ns := (media % uint64(ts)) * 1_000_000_000 / uint64(ts)
	return epoch.Add(time.Duration(sec) * time.Second).Add(time.Duration(ns))
}

// checkNTP asserts that an NTP timestamp is the instant want: seconds since
// 1900 in the high word, the fraction of a second (to the nanosecond) in
// the low word, and that mp4ff reads it back as want.
func checkNTP(t *testing.T, what string, got mp4.NTP64, want time.Time) {
	t.Helper()
	if sec := uint64(got) >> 32; sec != uint64(want.Unix())+2208988800 {
		t.Errorf("%s: NTP seconds %d, want %d", what, sec, uint64(want.Unix())+2208988800)
	}
	ns := (uint64(got) & 0xffffffff) * 1_000_000_000 >> 32
	if d := int64(ns) - int64(want.Nanosecond()); d < -1 || d > 1 {
		t.Errorf("%s: NTP fraction is %d ns, want %d", what, ns, want.Nanosecond())
	}
	if d := got.Time().Sub(want); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("%s: mp4ff reads %v, want %v", what, got.Time(), want)
	}
}

// TestProducerTime: with a producer clock every chunk (and a segment
// written in one piece) carries a version 1 prft before its moof (after
// styp on the first), for track 1, with the presentation time of the
// moof's first sample and that instant on the clock as an NTP timestamp;
// the samples are those of the fragment without prft.
func TestProducerTime(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	const base = uint64(1_765_000_000)*90000 + 1234 // a decode time in 2025, not on a second
	tests := []struct {
		name  string
		video bool
		ts    uint32
		flags uint32
		cuts  []int // nil: Encode in one piece
	}{
		{"video, 200 ms chunks", true, 90000, PrftEncoderInput, []int{6, 12, 18, 24, 30}},
		{"video, one piece", true, 90000, PrftCaptured, nil},
		{"audio, chunks", false, 48000, PrftEncoderInput, []int{9, 19, 28}},
		{"audio, one piece", false, 48000, PrftEncoderInput, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := 30
			if tc.cuts != nil {
				n = tc.cuts[len(tc.cuts)-1]
			}
			b := base
			if !tc.video {
				b = uint64(1_765_000_000)*48000 + 777
			}
			samples := testSamples(tc.video, n)
			plain := NewFragment(tc.video, 0, 0)
			for i := range samples {
				samples[i].add(plain, tc.video)
			}
			_, want, _, _ := decode(t, bytes.Clone(plain.Encode(7, b)))

			f := NewFragment(tc.video, 0, 0)
			f.SetProducerTime(&ProducerTime{Epoch: epoch, Timescale: tc.ts, Flags: tc.flags})
			f.Reset(0, 0)
			var seg []byte
			var chunks [][]byte
			if tc.cuts == nil {
				for i := range samples {
					samples[i].add(f, tc.video)
				}
				seg = f.Encode(7, b)
			} else {
				next := 0
				for k, cut := range tc.cuts {
					for ; next < cut; next++ {
						samples[next].add(f, tc.video)
					}
					chunks = append(chunks, bytes.Clone(f.Chunk(uint32(7+k), b)))
				}
				seg = f.Segment()
			}

			file, got, _, tfdts := decode(t, seg)
			var order []string
			for k := range tfdts {
				if k == 0 {
					order = append(order, "styp")
				}
				order = append(order, "prft", "moof", "mdat")
			}
			if boxTypes(file) != strings.Join(order, " ") {
				t.Fatalf("boxes %q, want %q", boxTypes(file), strings.Join(order, " "))
			}
			if len(got) != len(want) {
				t.Fatalf("%d samples, want %d", len(got), len(want))
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.Size != w.Size || g.Dur != w.Dur || g.Flags != w.Flags || g.CompositionTimeOffset != w.CompositionTimeOffset ||
					g.DecodeTime != w.DecodeTime || !bytes.Equal(g.Data, w.Data) {
					t.Fatalf("sample %d: got %+v, want %+v", i, g.Sample, w.Sample)
				}
			}

			ps := prfts(file)
			first := 0
			for k, p := range ps {
				s := got[first]
				media := uint64(int64(s.DecodeTime) + int64(s.CompositionTimeOffset))
				if p.Version != 1 || p.Flags != tc.flags || p.ReferenceTrackID != 1 || p.MediaTime != media {
					t.Errorf("prft %d: version %d flags %d track %d media %d; want 1 %d 1 %d",
						k, p.Version, p.Flags, p.ReferenceTrackID, p.MediaTime, tc.flags, media)
				}
				checkNTP(t, "prft", p.NTPTimestamp, wantInstant(epoch, media, tc.ts))
				if tc.cuts != nil {
					first = tc.cuts[k]
				}
			}
			// Each chunk decodes alone with its own prft (a player joining
			// at a part or chunk reads one).
			for k, c := range chunks {
				cf, _, _, _ := decode(t, c)
				if len(prfts(cf)) != 1 {
					t.Errorf("chunk %d: boxes %s", k, boxTypes(cf))
				}
			}
		})
	}
}

// TestProducerTimeNegativeOffset: the media time is the first sample's
// presentation time, decode time plus a negative composition offset.
func TestProducerTimeNegativeOffset(t *testing.T) {
	f := NewFragment(true, 0, 0)
	f.SetProducerTime(&ProducerTime{Epoch: time.Unix(0, 0), Timescale: 90000})
	f.AddVideo(media.H264, [][]byte{{0x41, 1, 2}}, false, 3000, -3000, false)
	f.AddVideo(media.H264, [][]byte{{0x41, 3, 4}}, false, 3000, 6000, false)
	file, _, _, _ := decode(t, f.Encode(1, 900000))
	ps := prfts(file)
	if len(ps) != 1 || ps[0].MediaTime != 900000-3000 {
		t.Fatalf("prft %+v, want media time %d", ps, 900000-3000)
	}
	checkNTP(t, "prft", ps[0].NTPTimestamp, time.Unix(9, 966_666_666))
}

// TestProducerTimeOff: without a producer clock (never set, nil, or a zero
// timescale) the bytes are what they were before prft existed; with one,
// the room Reset keeps holds the box, so Encode still does not copy.
func TestProducerTimeOff(t *testing.T) {
	samples := testSamples(true, 20)
	encode := func(p *ProducerTime, set bool) []byte {
		f := NewFragment(true, 0, 0)
		if set {
			f.SetProducerTime(p)
		}
		for i := range samples {
			samples[i].add(f, true)
		}
		return bytes.Clone(f.Encode(3, 42))
	}
	never := encode(nil, false)
	for _, p := range []*ProducerTime{nil, {Epoch: time.Now()}} {
		if got := encode(p, true); !bytes.Equal(got, never) {
			t.Errorf("SetProducerTime(%+v) changed the segment", p)
		}
	}
	if with := encode(&ProducerTime{Timescale: 90000}, true); len(with) != len(never)+32 {
		t.Errorf("with prft: %d bytes, want %d", len(with), len(never)+32)
	}

	f := NewFragment(true, 0, 0)
	f.SetProducerTime(&ProducerTime{Epoch: time.Unix(0, 0), Timescale: 90000})
	f.Reset(20_000, 30)
	for i := range samples {
		samples[i].add(f, true)
	}
	allocs := testing.AllocsPerRun(10, func() { f.Encode(3, 42) })
	if allocs != 0 {
		t.Errorf("Encode with prft allocated %.0f times", allocs)
	}
}

// TestPrftMatchesMP4FF: the box is byte for byte what mp4ff encodes for the
// same fields.
func TestPrftMatchesMP4FF(t *testing.T) {
	f := NewFragment(false, 0, 0)
	epoch := time.Date(2001, 2, 3, 4, 5, 6, 789_000_000, time.UTC)
	f.SetProducerTime(&ProducerTime{Epoch: epoch, Timescale: 48000, Flags: PrftCaptured})
	f.AddAudio([]byte{1, 2, 3}, AACFrameSamples)
	seg := f.Encode(1, 48000*3/2)
	box := seg[stypSize : stypSize+prftSize]

	want := mp4.CreatePrftBox(1, PrftCaptured, 1, mp4.NTP64(NTPTime(epoch.Add(1500*time.Millisecond))), 72000)
	var buf bytes.Buffer
	if err := want.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(box, buf.Bytes()) {
		t.Fatalf("prft\n%x, mp4ff writes\n%x", box, buf.Bytes())
	}
}

func TestNTPTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Unix(0, 0), 2208988800 << 32},
		{time.Unix(1, 500_000_000), (2208988801 << 32) | 0x80000000},
		{time.Unix(1_765_000_000, 250_000_000), (1_765_000_000+2208988800)<<32 | 0x40000000},
		{time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	} {
		if got := NTPTime(tc.t); got != tc.want {
			t.Errorf("NTPTime(%v) = %#x, want %#x", tc.t, got, tc.want)
		}
	}
	// mp4ff's float conversion agrees to the microsecond.
	now := time.Date(2026, 12, 7, 18, 0, 0, 123_456_789, time.UTC)
	checkNTP(t, "now", mp4.NTP64(NTPTime(now)), now)
	if d := int64(mp4.NewNTP64(float64(now.UnixNano())/1e9)) - int64(NTPTime(now)); d < -1<<13 || d > 1<<13 {
		t.Errorf("mp4ff.NewNTP64 differs by %d fraction units", d)
	}
}
