package cmaf

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/media"
)

type testSample struct {
	data []byte
	dur  uint32
	cto  int32
	sync bool
}

// testSamples returns n samples of a video (or audio) track with varied
// sizes, durations and composition offsets; video has keyframes at 0 and
// at n/2.
func testSamples(video bool, n int) []testSample {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	out := make([]testSample, n)
	for i := range out {
		s := testSample{dur: 1024, sync: true}
		size := 50 + r.IntN(400)
		if video {
			s.dur = 3000 + uint32(r.IntN(3))
			s.cto = int32(r.IntN(3)-1) * 3000
			s.sync = i == 0 || i == n/2
			s.data = append([]byte{0x41}, bytes.Repeat([]byte{byte(i)}, size)...)
			if s.sync {
				s.data[0] = 0x65
			}
		} else {
			s.data = bytes.Repeat([]byte{byte(i)}, size)
		}
		out[i] = s
	}
	return out
}

func (s *testSample) add(f *Fragment, video bool) {
	if video {
		f.AddVideo(media.H264, [][]byte{s.data}, false, s.dur, s.cto, s.sync)
	} else {
		f.AddAudio(s.data, s.dur)
	}
}

// decode reads every sample of a CMAF segment or chunk, with each
// fragment's mfhd sequence number and tfdt.
func decode(t *testing.T, data []byte) (f *mp4.File, samples []mp4.FullSample, seqs []uint32, tfdts []uint64) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			full, err := frag.GetFullSamples(nil)
			if err != nil {
				t.Fatal(err)
			}
			samples = append(samples, full...)
			seqs = append(seqs, frag.Moof.Mfhd.SequenceNumber)
			tfdts = append(tfdts, frag.Moof.Traf.Tfdt.BaseMediaDecodeTime())
		}
	}
	return f, samples, seqs, tfdts
}

// TestChunksAreTheSegment: a segment written in chunks is its chunks back
// to back, each chunk is a moof+mdat of its own (styp on the first only),
// mfhd sequence numbers rise, and every sample decodes as the whole-segment
// encoding has it: size, duration, flags, composition offset, decode time
// and data.
func TestChunksAreTheSegment(t *testing.T) {
	const base = uint64(1_700_000_000) * 90000
	tests := []struct {
		name  string
		video bool
		n     int
		cuts  []int // sample counts after which a chunk is cut
	}{
		{"video, a chunk per sample", true, 8, []int{1, 2, 3, 4, 5, 6, 7, 8}},
		{"video, 200 ms chunks at 30 fps", true, 60, []int{6, 12, 18, 24, 30, 36, 42, 48, 54, 60}},
		{"video, uneven chunks", true, 61, []int{1, 7, 30, 31, 60, 61}},
		{"video, one chunk", true, 10, []int{10}},
		{"audio, 200 ms chunks", false, 94, []int{9, 19, 28, 38, 47, 56, 66, 75, 84, 94}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			samples := testSamples(tc.video, tc.n)
			wholeF := NewFragment(tc.video, 0, 0)
			for i := range samples {
				samples[i].add(wholeF, tc.video)
			}
			whole := bytes.Clone(wholeF.Encode(100, base))

			// Small hints: the segment buffer grows while chunks are out.
			f := NewFragment(tc.video, 100, 2)
			var chunks [][]byte
			next := 0
			for k, cut := range tc.cuts {
				for ; next < cut; next++ {
					samples[next].add(f, tc.video)
				}
				var c []byte
				if k > 0 && k == len(tc.cuts)-1 {
					// Encode finishes a chunked fragment with a last chunk.
					seg := f.Encode(uint32(100+k), base)
					c = seg[len(bytes.Join(chunks, nil)):]
				} else {
					c = f.Chunk(uint32(100+k), base)
				}
				chunks = append(chunks, bytes.Clone(c))
			}
			seg := f.Segment()
			if !bytes.Equal(bytes.Join(chunks, nil), seg) {
				t.Fatal("the segment is not its chunks back to back")
			}
			if f.Chunks() != len(tc.cuts) || f.Len() != wholeF.Len() || f.Duration() != wholeF.Duration() || f.PayloadSize() != wholeF.PayloadSize() {
				t.Errorf("chunks=%d len=%d dur=%d payload=%d; whole len=%d dur=%d payload=%d",
					f.Chunks(), f.Len(), f.Duration(), f.PayloadSize(), wholeF.Len(), wholeF.Duration(), wholeF.PayloadSize())
			}
			for k, c := range chunks {
				if hasStyp := string(c[4:8]) == "styp"; hasStyp != (k == 0) {
					t.Errorf("chunk %d: styp %v", k, hasStyp)
				}
				_, cs, seqs, _ := decode(t, c)
				if len(seqs) != 1 || seqs[0] != uint32(100+k) {
					t.Errorf("chunk %d: fragments with mfhd %v", k, seqs)
				}
				if want := tc.cuts[k] - max(0, prevCut(tc.cuts, k)); len(cs) != want {
					t.Errorf("chunk %d: %d samples, want %d", k, len(cs), want)
				}
			}

			_, want, _, _ := decode(t, whole)
			file, got, seqs, tfdts := decode(t, seg)
			if len(file.Segments) != 1 || file.Segments[0].Styp == nil {
				t.Fatalf("want one segment with styp, got %d", len(file.Segments))
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
			first := 0
			for k := range seqs {
				if k > 0 && seqs[k] <= seqs[k-1] {
					t.Errorf("mfhd sequence numbers %v do not rise", seqs)
				}
				if tfdts[k] != got[first].DecodeTime {
					t.Errorf("chunk %d: tfdt %d, first sample at %d", k, tfdts[k], got[first].DecodeTime)
				}
				first = tc.cuts[k]
			}
		})
	}
}

func prevCut(cuts []int, k int) int {
	if k == 0 {
		return 0
	}
	return cuts[k-1]
}

// Chunks stay as they were written: Reset and the next segment's samples
// write elsewhere, a late SetLastDuration leaves a chunked sample alone,
// and an empty chunk is nothing.
func TestChunksStayValid(t *testing.T) {
	f := NewFragment(false, 1000, 10)
	if c := f.Chunk(1, 0); c != nil || f.Segment() != nil {
		t.Fatalf("chunk of nothing: %d bytes", len(c))
	}
	f.AddAudio(bytes.Repeat([]byte{1}, 300), AACFrameSamples)
	c1 := f.Chunk(1, 0)
	keep := bytes.Clone(c1)
	f.SetLastDuration(999)
	if f.Samples()[0].Dur != AACFrameSamples || f.Duration() != AACFrameSamples {
		t.Fatalf("SetLastDuration changed a chunked sample: %d", f.Samples()[0].Dur)
	}
	if c := f.Chunk(2, 0); c != nil {
		t.Fatal("a second chunk without new samples")
	}
	f.Reset(1000, 10)
	for range 20 {
		f.AddAudio(bytes.Repeat([]byte{2}, 300), AACFrameSamples)
	}
	f.Chunk(3, AACFrameSamples)
	whole := f.Encode(4, AACFrameSamples)
	if !bytes.Equal(c1, keep) {
		t.Fatal("the first segment's chunk was written over")
	}
	if f.Chunks() != 1 || !bytes.Equal(whole, f.Segment()) || f.Len() != 20 {
		t.Fatalf("Encode after the last chunk: %d chunks, %d samples", f.Chunks(), f.Len())
	}
}

// BenchmarkFragment compares writing a 2 s, 30 fps video segment of
// 500 kB in one piece (Encode) with writing it as ten 200 ms chunks. The
// packager's asynchronous writer owns a segment until it is stored, so
// each segment gets a new fragment ("whole, new buffer"); "whole, reused"
// is the synchronous path. Chunks reuse the fragment (only the samples
// since the last chunk are staged there) and allocate the segment buffer
// they are written to, which parts are served from.
func BenchmarkFragment(b *testing.B) {
	samples := testSamples(true, 60)
	for i := range samples {
		samples[i].data = append(samples[i].data, make([]byte, 8000)...)
	}
	b.Run("whole, new buffer", func(b *testing.B) {
		hint, n := 0, 0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f := NewFragment(true, hint, n)
			for j := range samples {
				samples[j].add(f, true)
			}
			f.Encode(uint32(i), 0)
			hint, n = f.PayloadSize(), f.Len()
		}
	})
	b.Run("whole, reused", func(b *testing.B) {
		f := NewFragment(true, 0, 0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.Reset(f.PayloadSize(), f.Len())
			for j := range samples {
				samples[j].add(f, true)
			}
			f.Encode(uint32(i), 0)
		}
	})
	b.Run("chunks", func(b *testing.B) {
		f := NewFragment(true, 0, 0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			f.Reset(f.PayloadSize(), f.Len())
			for j := range samples {
				samples[j].add(f, true)
				if (j+1)%6 == 0 {
					f.Chunk(uint32(i*10+j/6), 0)
				}
			}
			f.Encode(uint32(i*10+9), 0)
		}
	})
}
