package transcode

import (
	"bufio"
	"fmt"
	"io"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/substructs"

	"github.com/ospreyvideo/osprey/internal/media"
)

// tsWriter muxes input units into MPEG-TS for ffmpeg's stdin.
type tsWriter struct {
	bw     *bufio.Writer
	w      *mpegts.Writer
	input  []*media.Track
	tracks []*mpegts.Track // nil where the input track is not muxed
}

func newTSWriter(out io.Writer, input []*media.Track) (*tsWriter, error) {
	tw := &tsWriter{bw: bufio.NewWriterSize(out, 64*1024), input: input}
	var muxed []*mpegts.Track
	for _, t := range input {
		var c mcodecs.Codec
		switch t.Codec {
		case media.H264:
			c = &mcodecs.H264{}
		case media.H265:
			c = &mcodecs.H265{}
		case media.AAC:
			var conf mpeg4audio.AudioSpecificConfig
			if err := conf.Unmarshal(t.AudioConfig); err != nil {
				return nil, fmt.Errorf("input AAC config: %w", err)
			}
			c = &mcodecs.MPEG4Audio{Config: conf}
		case media.Opus:
			// Channel configuration codes 1-8 are plain channel counts
			// (ETSI TS Opus 0.1.3 table 4-3).
			c = &mcodecs.Opus{Desc: &substructs.OpusAudioDescriptor{ChannelConfigCode: uint8(t.Channels)}}
		}
		var mt *mpegts.Track
		if c != nil {
			mt = &mpegts.Track{Codec: c}
			muxed = append(muxed, mt)
		}
		tw.tracks = append(tw.tracks, mt)
	}
	if len(muxed) == 0 {
		return nil, fmt.Errorf("no input track ffmpeg can read")
	}
	tw.w = &mpegts.Writer{W: tw.bw, Tracks: muxed}
	if err := tw.w.Initialize(); err != nil {
		return nil, fmt.Errorf("mpegts writer: %w", err)
	}
	return tw, nil
}

// ticks90k converts a session time to the 90 kHz MPEG-TS clock, offset.
func ticks90k(d time.Duration) int64 {
	d += tsOffset
	return int64(d/time.Second)*90000 + int64(d%time.Second)*90000/int64(time.Second)
}

// write muxes one unit. Video keyframes get the track's parameter sets
// prepended when they do not carry them, so ffmpeg can start decoding at any
// keyframe (RTMP sends them once, out of band).
func (tw *tsWriter) write(track int, u *media.Unit) error {
	mt := tw.tracks[track]
	if mt == nil {
		return nil
	}
	t := tw.input[track]
	pts, dts := ticks90k(u.PTS), ticks90k(u.DTS)
	switch t.Codec {
	case media.H264, media.H265:
		au := u.NALUs
		if u.Key && t.SPS != nil {
			if _, sps, _ := media.ParamSets(t.Codec, au); sps == nil {
				ps := [][]byte{t.SPS, t.PPS}
				if t.Codec == media.H265 {
					ps = [][]byte{t.VPS, t.SPS, t.PPS}
				}
				au = append(ps, au...)
			}
		}
		if t.Codec == media.H265 {
			return tw.w.WriteH265(mt, pts, dts, au)
		}
		return tw.w.WriteH264(mt, pts, dts, au)
	case media.AAC:
		return tw.w.WriteMPEG4Audio(mt, pts, [][]byte{u.Data})
	case media.Opus:
		return tw.w.WriteOpus(mt, pts, [][]byte{u.Data})
	}
	return nil
}

func (tw *tsWriter) flush() error { return tw.bw.Flush() }
