package ingest

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"

	"github.com/ospreyvideo/osprey/internal/media"
)

// videoState follows the parameter sets of one H.264 or H.265 track and
// normalises its access units.
type videoState struct {
	codec media.Codec

	vps, sps, pps []byte   // latest seen, in-band or from the track
	carry         [][]byte // parameter sets received without a picture, for the next AU
}

func newVideoState(t *media.Track) *videoState {
	return &videoState{codec: t.Codec, vps: t.VPS, sps: t.SPS, pps: t.PPS}
}

// naluKind classifies a NAL unit of the state's codec.
type naluKind int

const (
	naluOther naluKind = iota
	naluVCL
	naluVPS
	naluSPS
	naluPPS
	naluAUD
)

func (v *videoState) kind(nalu []byte) naluKind {
	if v.codec == media.H265 {
		switch typ := h265.NALUType((nalu[0] >> 1) & 0x3f); {
		case typ <= 31:
			return naluVCL
		case typ == h265.NALUType_VPS_NUT:
			return naluVPS
		case typ == h265.NALUType_SPS_NUT:
			return naluSPS
		case typ == h265.NALUType_PPS_NUT:
			return naluPPS
		case typ == h265.NALUType_AUD_NUT:
			return naluAUD
		}
		return naluOther
	}
	switch typ := h264.NALUType(nalu[0] & 0x1f); {
	case typ >= h264.NALUTypeNonIDR && typ <= h264.NALUTypeIDR:
		return naluVCL
	case typ == h264.NALUTypeSPS:
		return naluSPS
	case typ == h264.NALUTypePPS:
		return naluPPS
	case typ == h264.NALUTypeAccessUnitDelimiter:
		return naluAUD
	}
	return naluOther
}

// process normalises an access unit: it drops access unit delimiters and
// empty NAL units, records parameter sets, and prepends those that arrived
// alone (an RTMP sequence header) to the next picture. It returns nil when
// the AU carries no picture, and whether the AU is a random access point.
func (v *videoState) process(au [][]byte) (nalus [][]byte, key bool) {
	out := make([][]byte, 0, len(v.carry)+len(au))
	out = append(out, v.carry...)
	hasVCL := false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch v.kind(n) {
		case naluAUD:
			continue
		case naluVCL:
			hasVCL = true
		case naluVPS:
			v.vps = n
		case naluSPS:
			v.sps = n
		case naluPPS:
			v.pps = n
		}
		out = append(out, n)
	}
	if !hasVCL {
		v.carry = out
		return nil, false
	}
	v.carry = nil
	return out, media.IsRandomAccess(v.codec, out)
}

// ready reports whether every parameter set the codec needs is known.
func (v *videoState) ready() bool {
	if v.codec == media.H265 && v.vps == nil {
		return false
	}
	return v.sps != nil && v.pps != nil
}

// fill copies the parameter sets into t and sets its coded size from the SPS.
func (v *videoState) fill(t *media.Track) error {
	t.VPS, t.SPS, t.PPS = v.vps, v.sps, v.pps
	w, h, err := videoSize(t.Codec, t.SPS)
	if err != nil {
		return err
	}
	t.Width, t.Height = w, h
	return nil
}

// videoSize reads the coded picture size (after cropping) from an SPS;
// impossible sizes are refused (media.MaxVideoSide).
func videoSize(codec media.Codec, sps []byte) (int, int, error) {
	w, h, err := media.VideoSize(codec, sps)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return w, h, nil
}
