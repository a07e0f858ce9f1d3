package ingest_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
)

// feedInput reads fuzz bytes; reads past the end return zeros.
type feedInput struct{ b []byte }

func (in *feedInput) byte() byte {
	if len(in.b) == 0 {
		return 0
	}
	v := in.b[0]
	in.b = in.b[1:]
	return v
}

func (in *feedInput) bytes(n int) []byte {
	n = min(n, len(in.b))
	v := in.b[:n]
	in.b = in.b[n:]
	return v
}

func (in *feedInput) u32() uint32 {
	var b [4]byte
	copy(b[:], in.bytes(4))
	return binary.BigEndian.Uint32(b[:])
}

// feedOps encodes a header and units for FuzzFeed: each unit is a kind byte
// (even: video, odd: audio), a 4-byte millisecond DTS, a composition offset
// byte, then for video a NAL unit count and each NAL unit as a length byte
// and its bytes, for audio one frame the same way.
type feedOps struct{ b []byte }

func (o *feedOps) video(dts time.Duration, cto byte, au ...[]byte) *feedOps {
	o.b = binary.BigEndian.AppendUint32(append(o.b, 0), uint32(dts.Milliseconds()))
	o.b = append(o.b, cto, byte(len(au)))
	for _, n := range au {
		n = n[:min(len(n), 255)]
		o.b = append(append(o.b, byte(len(n))), n...)
	}
	return o
}

func (o *feedOps) audio(dts time.Duration, frame []byte) *feedOps {
	o.b = binary.BigEndian.AppendUint32(append(o.b, 1), uint32(dts.Milliseconds()))
	frame = frame[:min(len(frame), 255)]
	o.b = append(append(o.b, 0, byte(len(frame))), frame...)
	return o
}

// Whatever a publisher sends, in whatever order and with whatever
// timestamps and parameter sets (arbitrary SPS bytes included), the Feed
// never panics and its publication receives what the contract promises
// (ingesttest.Contract): complete tracks at Start, then per track strictly
// increasing DTS from 0 with PTS >= DTS.
//
// The header byte picks the tracks: bits 0-1 the video codec (none, H.264,
// H.265), bit 2 an audio track, bit 3 Opus rather than AAC, bit 4 video
// parameter sets known up front (as from an RTMP sequence header).
func FuzzFeed(f *testing.F) {
	h264 := ingesttest.H264Clip(f)
	h265 := ingesttest.H265Clip(f)
	aac, err := ingest.AACTrack(h264.Audio)
	if err != nil {
		f.Fatal(err)
	}
	// small seeds keep the fuzzer fast: NAL units are cut to 48 bytes
	// (their type and the parameter sets survive, picture data does not matter)
	seed := func(header byte, clip *ingesttest.Clip, n int) {
		ops := &feedOps{b: []byte{header}}
		for _, s := range clip.Samples[:min(n, len(clip.Samples))] {
			if s.Video {
				au := make([][]byte, len(s.AU))
				for i, nalu := range s.AU {
					au[i] = nalu[:min(len(nalu), 48)]
				}
				ops.video(s.DTS, byte((s.PTS - s.DTS).Milliseconds()), au...)
			} else {
				ops.audio(s.PTS, s.Frame[:min(len(s.Frame), 48)])
			}
		}
		f.Add(ops.b)
	}
	seed(0x01|0x04, h264, 16)      // H.264 + AAC, parameter sets in-band
	seed(0x01|0x04|0x10, h264, 16) // H.264 + AAC, parameter sets up front
	seed(0x02, h265, 8)            // H.265, in-band
	seed(0x04, h264, 12)           // audio only (the video samples land on no track)
	f.Add((&feedOps{b: []byte{0x01}}).
		video(0, 0, []byte{0x67, 0xff, 0xff, 0xff}, []byte{0x68, 0xce}, []byte{0x65, 0x88}). // SPS of garbage
		video(40*time.Millisecond, 0, []byte{0x65}).b)

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := feedFuzz(data, h264, h265, aac); err != nil {
			t.Fatal(err)
		}
	})
}

// feedFuzz runs FuzzFeed's input through a Feed and returns the first
// broken promise.
func feedFuzz(data []byte, h264, h265 *ingesttest.Clip, aac *media.Track) error {
	in := &feedInput{b: data}
	header := in.byte()
	var tracks []*media.Track
	videoIdx, audioIdx := -1, -1
	clip := h264
	switch header & 3 {
	case 1:
		tracks = append(tracks, &media.Track{Kind: media.Video, Codec: media.H264})
	case 2:
		tracks = append(tracks, &media.Track{Kind: media.Video, Codec: media.H265})
		clip = h265
	}
	if len(tracks) > 0 {
		videoIdx = 0
		if header&0x10 != 0 {
			tracks[0].VPS, tracks[0].SPS, tracks[0].PPS = clip.VPS, clip.SPS, clip.PPS
		}
	}
	if header&4 != 0 {
		a := *aac
		if header&8 != 0 {
			a = *ingest.OpusTrack(2)
		}
		audioIdx = len(tracks)
		tracks = append(tracks, &a)
	}
	if len(tracks) == 0 {
		return nil
	}
	pub := &ingesttest.Contract{}
	feed := ingest.NewFeed(pub, tracks)
	if err := feed.TryStart(); err != nil {
		return nil
	}
	for len(in.b) > 0 {
		kind := in.byte()
		dts := time.Duration(in.u32()) * time.Millisecond
		pts := dts + time.Duration(int8(in.byte()))*time.Millisecond
		n := int(in.byte())
		var err error
		if kind%2 == 0 {
			au := make([][]byte, 0, n%8)
			for range n % 8 {
				au = append(au, in.bytes(int(in.byte())))
			}
			if videoIdx >= 0 {
				err = feed.WriteVideo(videoIdx, pts, dts, au)
			}
		} else if frame := in.bytes(n); audioIdx >= 0 {
			err = feed.WriteAudio(audioIdx, pts, frame)
		}
		if err != nil {
			break // a listener ends the session here
		}
	}
	return pub.Err()
}
