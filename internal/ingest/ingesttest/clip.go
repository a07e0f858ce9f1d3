package ingesttest

import (
	"bytes"
	"embed"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"github.com/ospreyvideo/osprey/internal/media"
)

// The clips were made with:
//
//	ffmpeg -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
//	  -t 2 -c:v libx264 -preset veryfast -crf 38 -g 25 -bf 2 -pix_fmt yuv420p \
//	  -c:a aac -b:a 48k -ac 2 -f mpegts clip.ts
//	ffmpeg -f lavfi -i testsrc2=size=256x144:rate=25 -t 1 -c:v libx265 -preset ultrafast \
//	  -x265-params keyint=25 -crf 40 -f mpegts hevc.ts
//
//go:embed testdata/clip.ts testdata/hevc.ts
var clips embed.FS

// Sample is one access unit of a clip, in file (muxing) order.
type Sample struct {
	Video    bool
	PTS, DTS time.Duration // from the first video DTS of the clip
	AU       [][]byte      // video: NAL units
	Frame    []byte        // audio: one raw AAC access unit
}

// Clip is a short test stream.
type Clip struct {
	Codec         media.Codec // video codec
	VPS, SPS, PPS []byte
	Width, Height int
	Audio         *mpeg4audio.AudioSpecificConfig // nil without audio
	Samples       []Sample
}

// H264Clip is 2 s of 320x240 25 fps H.264 High (B-frames, a key frame every
// second) with 48 kHz stereo AAC-LC.
func H264Clip(t testing.TB) *Clip { return loadClip(t, "testdata/clip.ts") }

// H265Clip is 1 s of 256x144 25 fps H.265 Main, without audio.
func H265Clip(t testing.TB) *Clip { return loadClip(t, "testdata/hevc.ts") }

// ToDuration converts a 90 kHz MPEG-TS time to a duration.
func ToDuration(ticks int64) time.Duration {
	return time.Duration(ticks/90000)*time.Second + time.Duration(ticks%90000)*time.Second/90000
}

// ToTicks converts a duration to the 90 kHz MPEG-TS clock, rounding to the
// nearest tick so that ToTicks(ToDuration(t)) == t.
func ToTicks(d time.Duration) int64 {
	return int64(d/time.Second)*90000 + (int64(d%time.Second)*90000+int64(time.Second)/2)/int64(time.Second)
}

func loadClip(t testing.TB, name string) *Clip {
	t.Helper()
	raw, err := clips.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	r := &mpegts.Reader{R: bytes.NewReader(raw)}
	if err := r.Initialize(); err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	c := &Clip{}
	var samples []Sample
	for _, tr := range r.Tracks() {
		switch codec := tr.Codec.(type) {
		case *mcodecs.H264:
			c.Codec = media.H264
			r.OnDataH264(tr, func(pts, dts int64, au [][]byte) error {
				for _, n := range au {
					switch h264.NALUType(n[0] & 0x1f) {
					case h264.NALUTypeSPS:
						c.SPS = n
					case h264.NALUTypePPS:
						c.PPS = n
					}
				}
				samples = append(samples, Sample{Video: true, PTS: ToDuration(pts), DTS: ToDuration(dts), AU: au})
				return nil
			})
		case *mcodecs.H265:
			c.Codec = media.H265
			r.OnDataH265(tr, func(pts, dts int64, au [][]byte) error {
				for _, n := range au {
					switch h265.NALUType((n[0] >> 1) & 0x3f) {
					case h265.NALUType_VPS_NUT:
						c.VPS = n
					case h265.NALUType_SPS_NUT:
						c.SPS = n
					case h265.NALUType_PPS_NUT:
						c.PPS = n
					}
				}
				samples = append(samples, Sample{Video: true, PTS: ToDuration(pts), DTS: ToDuration(dts), AU: au})
				return nil
			})
		case *mcodecs.MPEG4Audio:
			conf := codec.Config
			c.Audio = &conf
			frame := int64(mpeg4audio.SamplesPerAccessUnit) * 90000 / int64(conf.SampleRate)
			r.OnDataMPEG4Audio(tr, func(pts int64, aus [][]byte) error {
				for i, au := range aus {
					p := ToDuration(pts + int64(i)*frame)
					samples = append(samples, Sample{PTS: p, DTS: p, Frame: au})
				}
				return nil
			})
		}
	}
	for {
		err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
	}

	var origin time.Duration
	for _, s := range samples {
		if s.Video {
			origin = s.DTS
			break
		}
	}
	for i := range samples {
		samples[i].PTS -= origin
		samples[i].DTS -= origin
	}
	c.Samples = samples
	// the sizes the clips were made with (see the ffmpeg commands above)
	switch c.Codec {
	case media.H264:
		c.Width, c.Height = 320, 240
	case media.H265:
		c.Width, c.Height = 256, 144
	}
	return c
}

// VideoSamples returns the video samples only.
func (c *Clip) VideoSamples() []Sample {
	var out []Sample
	for _, s := range c.Samples {
		if s.Video {
			out = append(out, s)
		}
	}
	return out
}

// AudioSamples returns the audio samples only.
func (c *Clip) AudioSamples() []Sample {
	var out []Sample
	for _, s := range c.Samples {
		if !s.Video {
			out = append(out, s)
		}
	}
	return out
}
