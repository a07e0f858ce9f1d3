package cmaf

// chunked is the state of a fragment written as CMAF chunks.
type chunked struct {
	seg            []byte // the chunks so far, back to back
	segHint        int    // capacity of seg when the first chunk allocates it
	chunks         int
	chunkedSamples int    // samples written in chunks
	chunkedBytes   int    // their payload bytes
	chunkedDur     uint64 // their duration
}

// Chunk returns the CMAF chunk of the samples added since the previous
// chunk (or Reset): styp (first chunk only, as Encode writes it), prft
// (every chunk, when the fragment has a producer clock: SetProducerTime), moof
// (mfhd with seq, tfdt with baseDecodeTime plus the duration of the
// earlier chunks) and mdat. baseDecodeTime is the fragment's, as given to
// Encode; seq must rise from chunk to chunk (and segment to segment).
// Without new samples it returns nil and writes nothing.
//
// The chunks of a fragment, back to back, are a valid CMAF segment
// (Segment): the same samples, with the same timing and flags, as Encode
// writes in one moof. So the same bytes serve the LL-HLS parts, LL-DASH's
// chunked transfer and the whole segment. The durations written are final:
// a chunk should be cut once the sample after it is known (SetLastDuration
// does not change a chunked sample).
//
// The returned slice is the chunk's part of Segment's buffer, which is
// never written over: it stays valid after Reset, while the part is served.
// Payload bytes are copied once, from the fragment's buffer to it.
func (f *Fragment) Chunk(seq uint32, baseDecodeTime uint64) []byte {
	pending := f.samples[f.chunkedSamples:]
	if len(pending) == 0 {
		return nil
	}
	payload := f.buf[f.reserve:]
	first := f.chunks == 0
	h := f.headerSize(len(pending))
	if !first {
		h -= stypSize
	}
	if f.seg == nil {
		f.seg = make([]byte, 0, max(f.segHint, h+len(payload)))
	}
	start := len(f.seg)
	f.seg = f.appendHeader(f.seg, first, seq, baseDecodeTime+f.chunkedDur, pending, len(payload))
	if len(f.seg)-start != h {
		panic("cmaf: chunk header size mismatch")
	}
	f.seg = append(f.seg, payload...)
	for i := range pending {
		f.chunkedDur += uint64(pending[i].Dur)
	}
	f.chunks++
	f.chunkedSamples = len(f.samples)
	f.chunkedBytes += len(payload)
	f.buf = f.buf[:f.reserve]
	return f.seg[start:len(f.seg):len(f.seg)]
}

// Chunks is the number of chunks written since Reset.
func (f *Fragment) Chunks() int { return f.chunks }

// Segment returns the chunks written since Reset back to back: the media
// segment once the last chunk is written. Nil before the first chunk.
func (f *Fragment) Segment() []byte { return f.seg[:len(f.seg):len(f.seg)] }
