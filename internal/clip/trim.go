package clip

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// errReordered: a segment has frames out of presentation order (B-frames),
// which cannot be cut between without re-encoding.
var errReordered = errors.New("frames out of presentation order")

// trimEnd cuts the clip's last segment at end, without re-encoding: in
// every rendition the samples that start before end are kept whole (at
// least one), the others dropped, and the segment is written again as one
// fragment. Live video has no B-frames (decode order is presentation
// order), so the frames kept decode. A segment with reordered frames is
// left whole (the clip then ends at the segment's end). It updates the
// entries' durations, sizes and counts.
func trimEnd(ctx context.Context, store storage.Store, v *manifest.View, dst string, end time.Time) error {
	last := v.Window[len(v.Window)-1]
	type cut struct {
		e    *manifest.Entry
		data []byte
	}
	var cuts []cut
	for i := range last.Entries {
		e := &last.Entries[i]
		endT := timeline.TicksAt(end.UnixNano(), e.TS)
		if e.Gap || e.T+e.D <= endT {
			continue
		}
		key := manifest.JoinKey(dst, manifest.SegmentKey(e.Name, last.N))
		data, err := read(ctx, store, key)
		if err != nil {
			return err
		}
		init, err := read(ctx, store, manifest.JoinKey(dst, manifest.InitKey(e.Name, last.InitV)))
		if err != nil {
			return err
		}
		out, d, n, err := trimSegment(data, init, endT)
		if errors.Is(err, errReordered) {
			return nil // every rendition stays whole: they end together
		}
		if err != nil {
			return fmt.Errorf("clip: cutting %s: %w", key, err)
		}
		cuts = append(cuts, cut{e, out})
		e.D, e.Size, e.Count = d-e.T, len(out), n
	}
	for _, c := range cuts {
		if err := put(ctx, store, manifest.JoinKey(dst, manifest.SegmentKey(c.e.Name, last.N)), c.data); err != nil {
			return err
		}
	}
	return nil
}

// trimSegment keeps the samples of a media segment that start before endT
// (in the track's timescale), at least one, as one fragment. It returns
// the segment, the end of its last sample and how many it has.
func trimSegment(data, init []byte, endT uint64) (out []byte, end uint64, count int, err error) {
	in, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil || in.Init == nil || in.Init.Moov.Mvex == nil {
		return nil, 0, 0, fmt.Errorf("decoding the init segment: %v", err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("decoding: %w", err)
	}
	var frags []*mp4.Fragment // a live segment may be several chunks (LL parts)
	for _, s := range f.Segments {
		frags = append(frags, s.Fragments...)
	}
	if len(frags) == 0 {
		return nil, 0, 0, errors.New("no fragment")
	}
	seg, first := f.Segments[0], frags[0]
	trackID := first.Moof.Traf.Tfhd.TrackID
	trex := in.Init.Moov.Mvex.Trex
	for _, t := range in.Init.Moov.Mvex.Trexs {
		if t.TrackID == trackID {
			trex = t
		}
	}
	var kept []mp4.FullSample
	for _, frag := range frags {
		ss, err := frag.GetFullSamples(trex)
		if err != nil {
			return nil, 0, 0, err
		}
		for _, s := range ss {
			if s.CompositionTimeOffset != 0 {
				return nil, 0, 0, errReordered
			}
			if len(kept) == 0 || s.DecodeTime < endT {
				kept = append(kept, s)
			}
		}
	}
	if len(kept) == 0 {
		return nil, 0, 0, errors.New("no samples")
	}
	frag, err := mp4.CreateFragment(first.Moof.Mfhd.SequenceNumber, trackID)
	if err != nil {
		return nil, 0, 0, err
	}
	for _, s := range kept {
		frag.AddFullSample(s)
	}
	ms := mp4.NewMediaSegmentWithoutStyp()
	if seg.Styp != nil {
		ms = mp4.NewMediaSegmentWithStyp(seg.Styp)
	}
	ms.AddFragment(frag)
	var buf bytes.Buffer
	if err := ms.Encode(&buf); err != nil {
		return nil, 0, 0, err
	}
	lastS := kept[len(kept)-1]
	return buf.Bytes(), lastS.DecodeTime + uint64(lastS.Dur), len(kept), nil
}

// rebase moves every fragment's decode time (tfdt) of a media segment
// back by shift ticks, patching the copy in place: every other byte
// (prft, emsg, sample offsets) stays as it is.
func rebase(data []byte, shift uint64) ([]byte, error) {
	out := bytes.Clone(data)
	n := 0
	err := eachBox(out, func(typ string, moof []byte) error {
		if typ != "moof" {
			return nil
		}
		return eachBox(moof, func(typ string, traf []byte) error {
			if typ != "traf" {
				return nil
			}
			return eachBox(traf, func(typ string, b []byte) error {
				if typ != "tfdt" {
					return nil
				}
				n++
				return shiftTfdt(b, shift)
			})
		})
	})
	if err == nil && n == 0 {
		err = errors.New("no tfdt box")
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachBox calls fn with the type and the payload of each box in b.
func eachBox(b []byte, fn func(typ string, payload []byte) error) error {
	for len(b) > 0 {
		if len(b) < 8 {
			return errors.New("truncated box header")
		}
		size, hdr := uint64(binary.BigEndian.Uint32(b)), uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return errors.New("truncated box header")
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return fmt.Errorf("box %q of %d bytes in %d", b[4:8], size, len(b))
		}
		if err := fn(string(b[4:8]), b[hdr:size]); err != nil {
			return err
		}
		b = b[size:]
	}
	return nil
}

// shiftTfdt moves a tfdt payload's baseMediaDecodeTime back by shift.
func shiftTfdt(b []byte, shift uint64) error {
	switch {
	case len(b) >= 12 && b[0] == 1:
		t := binary.BigEndian.Uint64(b[4:])
		if t < shift {
			return fmt.Errorf("decode time %d before the clip's start %d", t, shift)
		}
		binary.BigEndian.PutUint64(b[4:], t-shift)
	case len(b) >= 8 && b[0] == 0:
		t := uint64(binary.BigEndian.Uint32(b[4:]))
		if t < shift {
			return fmt.Errorf("decode time %d before the clip's start %d", t, shift)
		}
		binary.BigEndian.PutUint32(b[4:], uint32(t-shift))
	default:
		return errors.New("malformed tfdt box")
	}
	return nil
}
