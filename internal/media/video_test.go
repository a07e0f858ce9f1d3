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

// spsBits writes an H.264 SPS bit by bit: u(n) fields and ue(v) codes.
type spsBits struct {
	out  []byte
	bits int
}

func (b *spsBits) u(n int, v uint) {
	for i := n - 1; i >= 0; i-- {
		if b.bits%8 == 0 {
			b.out = append(b.out, 0)
		}
		if v>>uint(i)&1 == 1 {
			b.out[len(b.out)-1] |= 0x80 >> uint(b.bits%8)
		}
		b.bits++
	}
}

func (b *spsBits) ue(v uint) {
	n := 0
	for x := v + 1; x > 1; x >>= 1 {
		n++
	}
	b.u(n, 0)
	b.u(n+1, v+1)
}

// TestVideoSizeRejectsImpossibleCropping: an SPS whose cropping is larger
// than its 16x16 picture must not become a track of negative or huge size.
func TestVideoSizeRejectsImpossibleCropping(t *testing.T) {
	sps := func(cropRight uint) []byte {
		b := &spsBits{}
		b.u(8, 0x67)    // NAL header: SPS
		b.u(8, 66)      // profile_idc: baseline
		b.u(8, 0)       // constraint flags
		b.u(8, 30)      // level_idc
		b.ue(0)         // seq_parameter_set_id
		b.ue(0)         // log2_max_frame_num_minus4
		b.ue(2)         // pic_order_cnt_type
		b.ue(1)         // max_num_ref_frames
		b.u(1, 0)       // gaps_in_frame_num_value_allowed_flag
		b.ue(0)         // pic_width_in_mbs_minus1: 16 px
		b.ue(0)         // pic_height_in_map_units_minus1: 16 px
		b.u(1, 1)       // frame_mbs_only_flag
		b.u(1, 1)       // direct_8x8_inference_flag
		b.u(1, 1)       // frame_cropping_flag
		b.ue(0)         // frame_crop_left_offset
		b.ue(cropRight) // frame_crop_right_offset (2 px each)
		b.ue(0)         // frame_crop_top_offset
		b.ue(0)         // frame_crop_bottom_offset
		b.u(1, 0)       // vui_parameters_present_flag
		b.u(1, 1)       // rbsp_stop_one_bit
		return b.out
	}
	if w, h, err := VideoSize(H264, sps(2)); err != nil || w != 12 || h != 16 {
		t.Fatalf("cropped 16x16 SPS = %dx%d, %v; want 12x16", w, h, err)
	}
	if w, h, err := VideoSize(H264, sps(100)); !errors.Is(err, ErrParamSets) {
		t.Errorf("SPS cropped past its picture = %dx%d, %v; want ErrParamSets", w, h, err)
	}
}
