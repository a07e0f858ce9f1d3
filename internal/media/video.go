package media

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// ErrParamSets is returned (wrapped) when parameter sets are missing or invalid.
var ErrParamSets = errors.New("bad video parameter sets")

// IsRandomAccess reports whether a video access unit can start decoding:
// an IDR picture for H.264, an IRAP picture for H.265.
func IsRandomAccess(codec Codec, au [][]byte) bool {
	switch codec {
	case H264:
		return h264.IsRandomAccess(au)
	case H265:
		return h265.IsRandomAccess(au)
	}
	return false
}

// ParamSets returns the parameter sets an access unit carries in band
// (VPS is H.265 only); nil where absent.
func ParamSets(codec Codec, au [][]byte) (vps, sps, pps []byte) {
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch codec {
		case H264:
			switch h264.NALUType(n[0] & 0x1f) {
			case h264.NALUTypeSPS:
				sps = n
			case h264.NALUTypePPS:
				pps = n
			}
		case H265:
			switch h265.NALUType((n[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT:
				vps = n
			case h265.NALUType_SPS_NUT:
				sps = n
			case h265.NALUType_PPS_NUT:
				pps = n
			}
		}
	}
	return vps, sps, pps
}

// VideoSize reads the picture size (after cropping) from an SPS; sizes
// outside 1..MaxVideoSide are refused.
func VideoSize(codec Codec, sps []byte) (width, height int, err error) {
	switch codec {
	case H264:
		var s h264.SPS
		if err := s.Unmarshal(sps); err != nil {
			return 0, 0, fmt.Errorf("%w: H.264 SPS: %w", ErrParamSets, err)
		}
		return checkSize(codec, s.Width(), s.Height())
	case H265:
		var s h265.SPS
		if err := s.Unmarshal(sps); err != nil {
			return 0, 0, fmt.Errorf("%w: H.265 SPS: %w", ErrParamSets, err)
		}
		return checkSize(codec, s.Width(), s.Height())
	}
	return 0, 0, fmt.Errorf("%w: %q is not a video codec", ErrParamSets, codec)
}

// MaxVideoSide bounds a plausible picture width or height: an SPS whose
// cropping exceeds its picture decodes to sizes like 4294967285x0.
const MaxVideoSide = 16384

// checkSize refuses picture sizes no encoder produces.
func checkSize(codec Codec, w, h int) (int, int, error) {
	if w <= 0 || h <= 0 || w > MaxVideoSide || h > MaxVideoSide {
		return 0, 0, fmt.Errorf("%w: %s SPS gives an impossible picture size %dx%d", ErrParamSets, codec, w, h)
	}
	return w, h, nil
}

// VideoTrack describes a video track from the parameter sets of a keyframe.
func VideoTrack(codec Codec, keyframe [][]byte) (*Track, error) {
	vps, sps, pps := ParamSets(codec, keyframe)
	if sps == nil || pps == nil || (codec == H265 && vps == nil) {
		return nil, fmt.Errorf("%w: keyframe without its parameter sets", ErrParamSets)
	}
	w, h, err := VideoSize(codec, sps)
	if err != nil {
		return nil, err
	}
	return &Track{Kind: Video, Codec: codec, Width: w, Height: h, VPS: vps, SPS: sps, PPS: pps}, nil
}
