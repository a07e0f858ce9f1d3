package cmaf

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/ospreyvideo/osprey/internal/media"
)

// HEVC parameter sets of a 320x240 stream made by ffmpeg/libx265.
const (
	vps240 = "40010c01ffff01600000030090000003000003003c959809"
	sps240 = "42010101600000030090000003000003003ca00a080f165959a4932bc05a020000030002000003003210"
	pps240 = "4401c172b46240"
)

// FuzzBuildInit parses arbitrary parameter sets and AudioSpecificConfigs
// as the transcoder's output may carry them: an error is fine, a panic is not.
func FuzzBuildInit(f *testing.F) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	f.Add(uint8(0), h(sps720), h(pps720), []byte(nil))
	f.Add(uint8(1), h(sps240), h(pps240), h(vps240))
	f.Add(uint8(2), []byte{0x11, 0x90}, []byte(nil), []byte(nil))
	f.Add(uint8(2), []byte{0xf8, 0xff, 0xff, 0xff}, []byte(nil), []byte(nil))
	f.Add(uint8(0), h(sps720)[:6], h(pps720), []byte(nil))
	f.Fuzz(func(t *testing.T, codec uint8, a, b, c []byte) {
		var tr media.Track
		switch codec % 3 {
		case 0:
			tr = media.Track{Kind: media.Video, Codec: media.H264, SPS: a, PPS: b}
		case 1:
			tr = media.Track{Kind: media.Video, Codec: media.H265, SPS: a, PPS: b, VPS: c}
		default:
			tr = media.Track{Kind: media.Audio, Codec: media.AAC, AudioConfig: a}
		}
		data, info, err := BuildInit(&tr)
		if err != nil {
			return
		}
		if len(data) == 0 || info.Timescale == 0 {
			t.Fatalf("init of %d bytes, timescale %d", len(data), info.Timescale)
		}
	})
}

// FuzzNALUs runs arbitrary length-prefixed NAL units through the paths
// that split them: parameter set search and sample writing.
func FuzzNALUs(f *testing.F) {
	h := func(s string) []byte { b, _ := hex.DecodeString(s); return b }
	f.Add(false, AppendNALUs(nil, media.H264, [][]byte{{0x09, 0xf0}, h(sps720), h(pps720), {0x65, 1, 2}}, false))
	f.Add(true, AppendNALUs(nil, media.H265, [][]byte{h(vps240), h(sps240), h(pps240), {0x26, 1, 2}}, false))
	f.Add(false, []byte{0xff, 0xff, 0xff, 0xff, 0x67})
	f.Fuzz(func(t *testing.T, hevc bool, avcc []byte) {
		codec := media.H264
		if hevc {
			codec = media.H265
		}
		_ = FindParamSetsAVCC(codec, avcc)
		out := AppendAVCC(nil, codec, avcc, true)
		if len(out) > len(avcc) {
			t.Fatalf("%d bytes out of %d", len(out), len(avcc))
		}
		fr := NewFragment(true, 0, 0)
		fr.AddVideoAVCC(codec, avcc, false, 3000, 0, true)
		seg := fr.Encode(1, 0)
		if !bytes.Equal(seg[len(seg)-fr.PayloadSize():], AppendAVCC(nil, codec, avcc, false)) {
			t.Fatal("mdat payload differs from the samples")
		}
	})
}
