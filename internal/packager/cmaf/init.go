// Package cmaf builds the CMAF objects of one track: the init segment
// (ftyp+moov, one track with track ID 1) and media segments (styp+moof+mdat)
// whose payload is written once, straight into the buffer that is stored.
//
// Video samples are AVCC/HVCC: 4-byte length-prefixed NAL units, without
// access unit delimiters and, by default, without in-band parameter sets
// (they live in the init segment's avcC/hvcC).
package cmaf

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/media"
)

// VideoTimescale is the timescale of every video track (MPEG-TS ticks).
const VideoTimescale = 90000

// AACFrameSamples is the duration of one AAC-LC access unit in samples.
const AACFrameSamples = 1024

// Info describes a track as manifests need it.
type Info struct {
	Kind      media.Kind
	Codec     media.Codec
	Codecs    string // RFC 6381 codecs parameter, e.g. "avc1.64001F" or "mp4a.40.2"
	Timescale uint32

	// Video.
	Width, Height int
	SarW, SarH    int // sample aspect ratio, 1:1 when the SPS does not say

	// Audio.
	SampleRate int
	Channels   int
}

// Timescale returns the media timescale used for a track.
func Timescale(t *media.Track) uint32 {
	if t.Kind == media.Video {
		return VideoTimescale
	}
	if t.Codec == media.Opus {
		return 48000
	}
	if t.SampleRate > 0 {
		return uint32(t.SampleRate)
	}
	return 48000
}

// BuildInit returns the CMAF header (init segment) for t and the track's
// description. For video, the parameter sets are taken from t.VPS/SPS/PPS.
func BuildInit(t *media.Track) ([]byte, Info, error) {
	if t == nil {
		return nil, Info{}, errors.New("cmaf: nil track")
	}
	init := mp4.NewMP4Init()
	init.AddChild(mp4.NewFtyp("cmfc", 0, []string{"cmfc", "iso6", "dash"}))
	moov := mp4.NewMoovBox()
	init.AddChild(moov)
	moov.AddChild(mp4.CreateMvhd())
	moov.AddChild(mp4.NewMvexBox())

	info := Info{Kind: t.Kind, Codec: t.Codec, Timescale: Timescale(t), SarW: 1, SarH: 1}
	var err error
	switch t.Codec {
	case media.H264:
		err = initAVC(init, t, &info)
	case media.H265:
		err = initHEVC(init, t, &info)
	case media.AAC:
		err = initAAC(init, t, &info)
	case media.Opus:
		err = initOpus(init, t, &info)
	default:
		err = fmt.Errorf("unsupported codec %q", t.Codec)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("cmaf: building %s init: %w", t.Codec, err)
	}
	var buf bytes.Buffer
	buf.Grow(int(init.Size()))
	if err := init.Encode(&buf); err != nil {
		return nil, Info{}, fmt.Errorf("cmaf: encoding init: %w", err)
	}
	return buf.Bytes(), info, nil
}

func initAVC(init *mp4.InitSegment, t *media.Track, info *Info) error {
	if len(t.SPS) == 0 || len(t.PPS) == 0 {
		return errors.New("missing SPS or PPS")
	}
	sps, err := avc.ParseSPSNALUnit(t.SPS, false)
	if err != nil {
		return fmt.Errorf("parsing SPS: %w", err)
	}
	trak := init.AddEmptyTrack(VideoTimescale, "video", "und")
	if err := trak.SetAVCDescriptor("avc1", [][]byte{t.SPS}, [][]byte{t.PPS}, true); err != nil {
		return err
	}
	info.Codecs = avc.CodecString("avc1", sps)
	info.Width, info.Height = int(sps.Width), int(sps.Height)
	if sps.VUI != nil && sps.VUI.SampleAspectRatioWidth > 0 && sps.VUI.SampleAspectRatioHeight > 0 {
		info.SarW, info.SarH = int(sps.VUI.SampleAspectRatioWidth), int(sps.VUI.SampleAspectRatioHeight)
	}
	return nil
}

func initHEVC(init *mp4.InitSegment, t *media.Track, info *Info) error {
	if len(t.VPS) == 0 || len(t.SPS) == 0 || len(t.PPS) == 0 {
		return errors.New("missing VPS, SPS or PPS")
	}
	sps, err := hevc.ParseSPSNALUnit(t.SPS)
	if err != nil {
		return fmt.Errorf("parsing SPS: %w", err)
	}
	trak := init.AddEmptyTrack(VideoTimescale, "video", "und")
	if err := trak.SetHEVCDescriptor("hvc1", [][]byte{t.VPS}, [][]byte{t.SPS}, [][]byte{t.PPS}, nil, true); err != nil {
		return err
	}
	info.Codecs = hevc.CodecString("hvc1", sps)
	w, h := sps.ImageSize()
	info.Width, info.Height = int(w), int(h)
	if sps.VUI != nil && sps.VUI.SampleAspectRatioWidth > 0 && sps.VUI.SampleAspectRatioHeight > 0 {
		info.SarW, info.SarH = int(sps.VUI.SampleAspectRatioWidth), int(sps.VUI.SampleAspectRatioHeight)
	}
	return nil
}

func initAAC(init *mp4.InitSegment, t *media.Track, info *Info) error {
	if len(t.AudioConfig) < 2 {
		return errors.New("missing AudioSpecificConfig")
	}
	hdr, err := aac.DecodeAudioSpecificConfigHeader(bytes.NewReader(t.AudioConfig))
	if err != nil {
		return fmt.Errorf("parsing AudioSpecificConfig: %w", err)
	}
	rate := t.SampleRate
	if rate == 0 {
		rate = hdr.SamplingFrequency
	}
	ch := t.Channels
	if ch == 0 {
		ch = int(hdr.ChannelConfiguration)
	}
	if rate <= 0 || rate > 65535 {
		return fmt.Errorf("unsupported sample rate %d", rate)
	}
	info.SampleRate, info.Channels = rate, ch
	info.Timescale = uint32(rate)
	info.Codecs = fmt.Sprintf("mp4a.40.%d", hdr.ObjectType)
	trak := init.AddEmptyTrack(uint32(rate), "audio", "und")
	esds := mp4.CreateEsdsBox(t.AudioConfig)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("mp4a", uint16(ch), 16, uint16(rate), esds))
	return nil
}

func initOpus(init *mp4.InitSegment, t *media.Track, info *Info) error {
	ch := t.Channels
	if ch <= 0 {
		ch = 2
	}
	if ch > 2 {
		return fmt.Errorf("opus with %d channels is not supported", ch)
	}
	info.SampleRate, info.Channels, info.Timescale = 48000, ch, 48000
	info.Codecs = "opus"
	trak := init.AddEmptyTrack(48000, "audio", "und")
	dops := &mp4.DopsBox{OutputChannelCount: byte(ch), PreSkip: 312, InputSampleRate: 48000}
	trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("Opus", uint16(ch), 16, 48000, dops))
	return nil
}
