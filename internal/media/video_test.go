package media

import (
	"encoding/hex"
	"errors"
	"testing"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Parameter sets of one 320x240 frame encoded by ffmpeg's libx264 and libx265.
var (
	h264SPS = unhex("6742c00dda0507ec0440000003004000000c83c50aa8")
	h264PPS = unhex("68ce0fc8")
	h264IDR = []byte{0x65, 0x88, 0x84, 0x00}
	h264P   = []byte{0x41, 0x9a, 0x02}
	h265VPS = unhex("40010c01ffff01600000030090000003000003003c959409")
	h265SPS = unhex("42010101600000030090000003000003003ca00a080f16595952930bc05a020000030002000003003210")
	h265PPS = unhex("4401c073c189")
	h265IDR = []byte{0x26, 0x01, 0xaf} // IDR_W_RADL
	h265TRL = []byte{0x02, 0x01, 0xd0} // TRAIL_R
)

func TestVideoTrack(t *testing.T) {
	tests := []struct {
		name   string
		codec  Codec
		au     [][]byte
		key    bool
		w, h   int
		errors bool
	}{
		{"h264 keyframe", H264, [][]byte{h264SPS, h264PPS, h264IDR}, true, 320, 240, false},
		{"h264 keyframe without parameter sets", H264, [][]byte{h264IDR}, true, 0, 0, true},
		{"h264 P frame", H264, [][]byte{h264P}, false, 0, 0, true},
		{"h265 keyframe", H265, [][]byte{h265VPS, h265SPS, h265PPS, h265IDR}, true, 320, 240, false},
		{"h265 keyframe without VPS", H265, [][]byte{h265SPS, h265PPS, h265IDR}, true, 0, 0, true},
		{"h265 trailing frame", H265, [][]byte{h265TRL}, false, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRandomAccess(tt.codec, tt.au); got != tt.key {
				t.Errorf("IsRandomAccess = %v, want %v", got, tt.key)
			}
			tr, err := VideoTrack(tt.codec, tt.au)
			if tt.errors {
				if !errors.Is(err, ErrParamSets) {
					t.Fatalf("err = %v, want ErrParamSets", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Kind != Video || tr.Codec != tt.codec || tr.Width != tt.w || tr.Height != tt.h || tr.SPS == nil || tr.PPS == nil {
				t.Errorf("track = %+v", tr)
			}
		})
	}
}

func TestVideoSizeRejectsGarbage(t *testing.T) {
	if _, _, err := VideoSize(H264, []byte{0x67, 0xff}); !errors.Is(err, ErrParamSets) {
		t.Errorf("H.264 garbage: %v", err)
	}
	if _, _, err := VideoSize(AAC, h264SPS); !errors.Is(err, ErrParamSets) {
		t.Errorf("audio codec: %v", err)
	}
}
