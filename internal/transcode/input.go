package transcode

import (
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
//
// It buffers what it muxes until flush (or until a unit takes the buffer
// past tsFlushSize) and gives every video PES packet its length, which the
// MPEG-TS writer leaves at 0 ("unbounded", allowed for video only): ffmpeg's
// demuxer then hands a frame on as soon as its last packet arrives instead
// of waiting for the next frame to begin, one frame interval later.
type tsWriter struct {
	out    io.Writer
	buf    []byte
	w      *mpegts.Writer
	input  []*media.Track
	tracks []*mpegts.Track // nil where the input track is not muxed
}

func newTSWriter(out io.Writer, input []*media.Track) (*tsWriter, error) {
	tw := &tsWriter{out: out, input: input}
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
	tw.w = &mpegts.Writer{W: (*tsBuffer)(&tw.buf), Tracks: muxed}
	if err := tw.w.Initialize(); err != nil {
		return nil, fmt.Errorf("mpegts writer: %w", err)
	}
	return tw, nil
}

// ticks90k converts a session time to the 90 kHz MPEG-TS clock, offset.
// It rounds to the nearest tick, so that a time converted from the 90 kHz
// clock (truncated to the nanosecond) gets its tick back: the passthrough
// rung then keeps the input's timestamps exactly.
func ticks90k(d time.Duration) int64 {
	d += tsOffset
	return int64(d/time.Second)*90000 + (int64(d%time.Second)*90000+int64(time.Second)/2)/int64(time.Second)
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
		start := len(tw.buf)
		var err error
		if t.Codec == media.H265 {
			err = tw.w.WriteH265(mt, pts, dts, au)
		} else {
			err = tw.w.WriteH264(mt, pts, dts, au)
		}
		if err != nil {
			return err
		}
		setPESLength(tw.buf[start:], mt.PID)
		return tw.spill()
	case media.AAC:
		if err := tw.w.WriteMPEG4Audio(mt, pts, [][]byte{u.Data}); err != nil {
			return err
		}
	case media.Opus:
		if err := tw.w.WriteOpus(mt, pts, [][]byte{u.Data}); err != nil {
			return err
		}
	}
	return tw.spill()
}

// tsFlushSize is how much muxed input may wait in the buffer.
const tsFlushSize = 64 << 10

// spill writes the buffer out once it holds tsFlushSize bytes or more.
func (tw *tsWriter) spill() error {
	if len(tw.buf) < tsFlushSize {
		return nil
	}
	return tw.flush()
}

// flush writes out what is buffered.
func (tw *tsWriter) flush() error {
	if len(tw.buf) == 0 {
		return nil
	}
	_, err := tw.out.Write(tw.buf)
	tw.buf = tw.buf[:0]
	return err
}

// tsBuffer is the io.Writer the MPEG-TS writer writes into: tsWriter's buffer.
type tsBuffer []byte

func (b *tsBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// setPESLength sets the PES packet length of the one PES packet of pid in
// the TS packets b, when it fits the 16-bit field; else it is left at 0
// (unbounded). Packets of other PIDs (tables) are skipped.
func setPESLength(b []byte, pid uint16) {
	var header []byte // the PES header, from its start code
	n := 0            // PES bytes after the length field
	for ; len(b) >= 188; b = b[188:] {
		p := b[:188]
		if p[0] != 0x47 || uint16(p[1]&0x1f)<<8|uint16(p[2]) != pid || p[3]&0x10 == 0 {
			continue
		}
		off := 4
		if p[3]&0x20 != 0 {
			off += 1 + int(p[4])
		}
		if off >= 188 {
			continue
		}
		payload := p[off:]
		if p[1]&0x40 != 0 { // payload unit start: the PES header
			if header != nil || len(payload) < 6 || payload[0] != 0 || payload[1] != 0 || payload[2] != 1 {
				return // not one PES packet as expected: leave it unbounded
			}
			header = payload
			n = len(payload) - 6
			continue
		}
		n += len(payload)
	}
	if header == nil || n > 0xffff || header[4] != 0 || header[5] != 0 {
		return
	}
	header[4], header[5] = byte(n>>8), byte(n)
}
