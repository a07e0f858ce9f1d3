package cmaf

import (
	"encoding/binary"

	"github.com/ospreyvideo/osprey/internal/media"
)

// NAL unit types that matter here.
const (
	h264SPS     = 7
	h264PPS     = 8
	h264AUD     = 9
	h264Filler  = 12
	h265VPS     = 32
	h265SPS     = 33
	h265PPS     = 34
	h265AUD     = 35
	h265Filler  = 38
	naluLenSize = 4
)

// ParamSets holds the parameter sets found in an access unit. The slices
// alias the access unit's memory.
type ParamSets struct {
	VPS, SPS, PPS []byte
}

// Empty reports whether no parameter set was found.
func (p ParamSets) Empty() bool { return p.SPS == nil && p.PPS == nil && p.VPS == nil }

func naluKind(codec media.Codec, n []byte) (ps, drop bool, which int) {
	if len(n) == 0 {
		return false, true, 0
	}
	if codec == media.H265 {
		switch t := (n[0] >> 1) & 0x3f; t {
		case h265VPS, h265SPS, h265PPS:
			return true, false, int(t)
		case h265AUD, h265Filler:
			return false, true, 0
		}
		return false, false, 0
	}
	switch t := n[0] & 0x1f; t {
	case h264SPS, h264PPS:
		return true, false, int(t)
	case h264AUD, h264Filler:
		return false, true, 0
	}
	return false, false, 0
}

func (p *ParamSets) add(which int, n []byte) {
	switch which {
	case h264SPS, h265SPS:
		if p.SPS == nil {
			p.SPS = n
		}
	case h264PPS, h265PPS:
		if p.PPS == nil {
			p.PPS = n
		}
	case h265VPS:
		if p.VPS == nil {
			p.VPS = n
		}
	}
}

// FindParamSets returns the first VPS, SPS and PPS among nalus.
func FindParamSets(codec media.Codec, nalus [][]byte) ParamSets {
	var p ParamSets
	for _, n := range nalus {
		if ps, _, which := naluKind(codec, n); ps {
			p.add(which, n)
		}
	}
	return p
}

// FindParamSetsAVCC is FindParamSets for length-prefixed NAL units.
func FindParamSetsAVCC(codec media.Codec, avcc []byte) ParamSets {
	var p ParamSets
	forEachAVCC(avcc, func(n []byte) {
		if ps, _, which := naluKind(codec, n); ps {
			p.add(which, n)
		}
	})
	return p
}

func forEachAVCC(avcc []byte, fn func(n []byte)) {
	for len(avcc) >= naluLenSize {
		l := int(binary.BigEndian.Uint32(avcc))
		avcc = avcc[naluLenSize:]
		if l > len(avcc) {
			return
		}
		fn(avcc[:l])
		avcc = avcc[l:]
	}
}

// AppendNALUs appends nalus to dst as 4-byte length-prefixed NAL units,
// dropping access unit delimiters and filler data, and parameter sets too
// when dropPS is set.
func AppendNALUs(dst []byte, codec media.Codec, nalus [][]byte, dropPS bool) []byte {
	for _, n := range nalus {
		ps, drop, _ := naluKind(codec, n)
		if drop || (ps && dropPS) {
			continue
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(n)))
		dst = append(dst, n...)
	}
	return dst
}

// AppendAVCC is AppendNALUs for NAL units that are already length-prefixed.
func AppendAVCC(dst []byte, codec media.Codec, avcc []byte, dropPS bool) []byte {
	forEachAVCC(avcc, func(n []byte) {
		ps, drop, _ := naluKind(codec, n)
		if drop || (ps && dropPS) {
			return
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(n)))
		dst = append(dst, n...)
	})
	return dst
}
