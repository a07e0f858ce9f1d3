package cmaf

import (
	"encoding/binary"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Sample flags (ISO/IEC 14496-12 8.8.3.1).
const (
	SyncSampleFlags    uint32 = 0x02000000 // sample_depends_on=2: an I picture, a random access point
	NonSyncSampleFlags uint32 = 0x01010000 // sample_depends_on=1, sample_is_non_sync_sample=1
)

const (
	stypSize         = 8 + 8 + 4*3
	moofFixed        = 8 + 16 + 8 + 20 + 20 // moof, mfhd, traf, tfdt, trun without samples
	tfhdSize         = 16
	mdatHdrSize      = 8
	trunVideo        = 0x000f01 // data offset, duration, size, flags, composition offset
	trunAudio        = 0x000301 // data offset, duration, size
	tfhdBaseIsMoof   = 0x020000
	tfhdDefaultFlags = 0x000020
)

// Fragment accumulates the samples of one CMAF fragment (one segment here)
// of one track. Sample payloads are written once, straight into the buffer
// that Encode returns; room for the headers is kept in front of them.
//
// A fragment can instead be written as a run of CMAF chunks (chunk.go),
// one per LL-HLS part: buf then only holds the samples added since the
// last chunk.
type Fragment struct {
	video   bool
	buf     []byte // buf[:reserve] is room for styp+moof+mdat header
	reserve int
	samples []mp4.Sample
	dur     uint64

	producer *ProducerTime // prft before each moof when set (prft.go)

	chunked
}

// NewFragment returns an empty fragment for a video or audio track. The
// hints size the first buffer (payload bytes and sample count).
func NewFragment(video bool, payloadHint, samplesHint int) *Fragment {
	f := &Fragment{video: video}
	f.Reset(payloadHint, samplesHint)
	return f
}

func (f *Fragment) perSample() int {
	if f.video {
		return 16
	}
	return 8
}

// headerSize is the size of styp, prft (if any), moof and the mdat header
// for n samples.
func (f *Fragment) headerSize(n int) int {
	return stypSize + f.prftSize() + f.moofSize(n) + mdatHdrSize
}

// moofSize is the size of the moof for n samples.
func (f *Fragment) moofSize(n int) int {
	h := moofFixed + tfhdSize + n*f.perSample()
	if !f.video {
		h += 4 // tfhd default_sample_flags
	}
	return h
}

// Reset empties the fragment for the next one. The buffer Encode returned
// last is written over when it is large enough (which saves allocating and
// zeroing one per segment), so the caller must be done with it; the hints
// size a new buffer otherwise.
func (f *Fragment) Reset(payloadHint, samplesHint int) {
	if samplesHint < 8 {
		samplesHint = 8
	}
	f.reserve = f.headerSize(samplesHint + samplesHint/4 + 4)
	want := f.reserve + payloadHint + payloadHint/8 + 1024
	if cap(f.buf) >= want {
		f.buf = f.buf[:f.reserve]
	} else {
		f.buf = make([]byte, f.reserve, want)
	}
	f.samples = f.samples[:0]
	f.dur = 0
	f.chunked = chunked{segHint: want}
}

// Len is the number of samples.
func (f *Fragment) Len() int { return len(f.samples) }

// PayloadSize is the number of mdat payload bytes so far.
func (f *Fragment) PayloadSize() int { return f.chunkedBytes + len(f.buf) - f.reserve }

// Duration is the sum of the sample durations.
func (f *Fragment) Duration() uint64 { return f.dur }

// Samples returns the samples' metadata (aliased; do not keep).
func (f *Fragment) Samples() []mp4.Sample { return f.samples }

// LastDuration returns the duration of the last sample, 0 if there is none.
func (f *Fragment) LastDuration() uint32 {
	if len(f.samples) == 0 {
		return 0
	}
	return f.samples[len(f.samples)-1].Dur
}

// SetLastDuration sets the duration of the last sample, once the next
// sample's decode time is known. A sample already written in a chunk keeps
// the duration it was written with.
func (f *Fragment) SetLastDuration(d uint32) {
	if len(f.samples) == f.chunkedSamples {
		return
	}
	s := &f.samples[len(f.samples)-1]
	f.dur += uint64(d) - uint64(s.Dur)
	s.Dur = d
}

func (f *Fragment) add(start int, dur uint32, cto int32, sync bool) {
	flags := NonSyncSampleFlags
	if sync {
		flags = SyncSampleFlags
	}
	f.samples = append(f.samples, mp4.Sample{
		Flags: flags, Dur: dur, Size: uint32(len(f.buf) - start), CompositionTimeOffset: cto,
	})
	f.dur += uint64(dur)
}

// AddVideo appends a video access unit given as NAL units without start
// codes (see AppendNALUs for what is dropped).
func (f *Fragment) AddVideo(codec media.Codec, nalus [][]byte, dropPS bool, dur uint32, cto int32, sync bool) {
	start := len(f.buf)
	f.buf = AppendNALUs(f.buf, codec, nalus, dropPS)
	f.add(start, dur, cto, sync)
}

// AddVideoAVCC appends a video access unit given as length-prefixed NAL units.
func (f *Fragment) AddVideoAVCC(codec media.Codec, avcc []byte, dropPS bool, dur uint32, cto int32, sync bool) {
	start := len(f.buf)
	f.buf = AppendAVCC(f.buf, codec, avcc, dropPS)
	f.add(start, dur, cto, sync)
}

// AddAudio appends one audio frame.
func (f *Fragment) AddAudio(data []byte, dur uint32) {
	start := len(f.buf)
	f.buf = append(f.buf, data...)
	f.add(start, dur, 0, true)
}

// Encode returns the media segment: styp, moof (mfhd with seq, tfhd,
// tfdt version 1 with baseDecodeTime, trun) and mdat. The returned slice
// shares the fragment's buffer; call Reset before adding samples again.
//
// A fragment written in chunks (Chunk) is not encoded again: Encode writes
// the samples added since the last chunk as a last chunk (with seq) and
// returns Segment.
func (f *Fragment) Encode(seq uint32, baseDecodeTime uint64) []byte {
	if f.chunks > 0 {
		f.Chunk(seq, baseDecodeTime)
		return f.Segment()
	}
	n := len(f.samples)
	h := f.headerSize(n)
	payload := f.buf[f.reserve:]
	var out []byte
	if h <= f.reserve {
		out = f.buf[f.reserve-h:]
	} else {
		out = make([]byte, h+len(payload))
		copy(out[h:], payload)
	}
	hdr := f.appendHeader(out[:0:h], true, seq, baseDecodeTime, f.samples, len(payload))
	if len(hdr) != h {
		panic("cmaf: header size mismatch")
	}
	return out
}

// appendHeader appends styp (when styp is set), prft (when the fragment
// has a producer clock), moof for samples (their data offset pointing past
// the mdat header that follows) and the header of an mdat of payload bytes.
func (f *Fragment) appendHeader(hdr []byte, styp bool, seq uint32, baseDecodeTime uint64, samples []mp4.Sample, payload int) []byte {
	n := len(samples)
	if styp {
		hdr = appendBox(hdr, stypSize, "styp")
		hdr = append(hdr, "msdh"...)
		hdr = binary.BigEndian.AppendUint32(hdr, 0)
		hdr = append(hdr, "msdhcmfscmff"...)
	}
	if f.producer != nil {
		var cto int32
		if n > 0 {
			cto = samples[0].CompositionTimeOffset
		}
		hdr = f.appendPrft(hdr, baseDecodeTime, cto)
	}

	moofSize := f.moofSize(n)
	hdr = appendBox(hdr, moofSize, "moof")
	hdr = appendBox(hdr, 16, "mfhd")
	hdr = binary.BigEndian.AppendUint32(hdr, 0)
	hdr = binary.BigEndian.AppendUint32(hdr, seq)
	hdr = appendBox(hdr, moofSize-8-16, "traf")
	if f.video {
		hdr = appendBox(hdr, tfhdSize, "tfhd")
		hdr = binary.BigEndian.AppendUint32(hdr, tfhdBaseIsMoof)
		hdr = binary.BigEndian.AppendUint32(hdr, 1)
	} else {
		hdr = appendBox(hdr, tfhdSize+4, "tfhd")
		hdr = binary.BigEndian.AppendUint32(hdr, tfhdBaseIsMoof|tfhdDefaultFlags)
		hdr = binary.BigEndian.AppendUint32(hdr, 1)
		hdr = binary.BigEndian.AppendUint32(hdr, SyncSampleFlags)
	}
	hdr = appendBox(hdr, 20, "tfdt")
	hdr = binary.BigEndian.AppendUint32(hdr, 1<<24)
	hdr = binary.BigEndian.AppendUint64(hdr, baseDecodeTime)
	hdr = appendBox(hdr, 20+n*f.perSample(), "trun")
	if f.video {
		hdr = binary.BigEndian.AppendUint32(hdr, 1<<24|trunVideo)
	} else {
		hdr = binary.BigEndian.AppendUint32(hdr, trunAudio)
	}
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(n))
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(moofSize+mdatHdrSize))
	for i := range samples {
		s := &samples[i]
		hdr = binary.BigEndian.AppendUint32(hdr, s.Dur)
		hdr = binary.BigEndian.AppendUint32(hdr, s.Size)
		if f.video {
			hdr = binary.BigEndian.AppendUint32(hdr, s.Flags)
			hdr = binary.BigEndian.AppendUint32(hdr, uint32(s.CompositionTimeOffset))
		}
	}
	return appendBox(hdr, mdatHdrSize+payload, "mdat")
}

func appendBox(b []byte, size int, typ string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(size))
	return append(b, typ...)
}
