package cmaf

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/ospreyvideo/osprey/internal/media"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// SPS/PPS of a 1280x720 High profile stream made by ffmpeg/libx264.
const (
	sps720 = "6764001facd9405005bb0110000003001000000303c0f1831960"
	pps720 = "68ebe3cb22c0"
)

func TestBuildInit(t *testing.T) {
	tests := []struct {
		name   string
		track  media.Track
		codecs string
		ts     uint32
		hdlr   string
		w, h   int
	}{
		{"h264", media.Track{Kind: media.Video, Codec: media.H264, SPS: mustHex(t, sps720), PPS: mustHex(t, pps720)},
			"avc1.64001F", 90000, "vide", 1280, 720},
		{"aac", media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 2, AudioConfig: []byte{0x11, 0x90}},
			"mp4a.40.2", 48000, "soun", 0, 0},
		{"opus", media.Track{Kind: media.Audio, Codec: media.Opus, SampleRate: 48000, Channels: 2},
			"opus", 48000, "soun", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, info, err := BuildInit(&tc.track)
			if err != nil {
				t.Fatal(err)
			}
			if info.Codecs != tc.codecs || info.Timescale != tc.ts || info.Width != tc.w || info.Height != tc.h {
				t.Fatalf("info = %+v", info)
			}
			f, err := mp4.DecodeFile(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if f.Init == nil || len(f.Init.Moov.Traks) != 1 {
				t.Fatal("no single-track init")
			}
			if got := f.Init.Ftyp.MajorBrand(); got != "cmfc" {
				t.Errorf("major brand %q", got)
			}
			if !bytes.Contains(data, []byte("iso6")) {
				t.Error("iso6 brand missing")
			}
			trak := f.Init.Moov.Trak
			if trak.Tkhd.TrackID != 1 || trak.Mdia.Mdhd.Timescale != tc.ts || trak.Mdia.Hdlr.HandlerType != tc.hdlr {
				t.Errorf("trak id=%d ts=%d hdlr=%s", trak.Tkhd.TrackID, trak.Mdia.Mdhd.Timescale, trak.Mdia.Hdlr.HandlerType)
			}
			if f.Init.Moov.Mvex == nil || f.Init.Moov.Mvex.Trex == nil || f.Init.Moov.Mvex.Trex.TrackID != 1 {
				t.Error("mvex/trex missing")
			}
			if tc.name == "h264" {
				avcC := trak.Mdia.Minf.Stbl.Stsd.AvcX.AvcC
				if !bytes.Equal(avcC.SPSnalus[0], tc.track.SPS) || !bytes.Equal(avcC.PPSnalus[0], tc.track.PPS) {
					t.Error("avcC does not carry the track's SPS/PPS")
				}
			}
			if tc.name == "aac" {
				esds := trak.Mdia.Minf.Stbl.Stsd.Mp4a.Esds
				if !bytes.Equal(esds.DecConfigDescriptor.DecSpecificInfo.DecConfig, []byte{0x11, 0x90}) {
					t.Error("esds does not carry the AudioSpecificConfig")
				}
			}
		})
	}
}

func TestBuildInitErrors(t *testing.T) {
	for _, tr := range []*media.Track{
		nil,
		{Kind: media.Video, Codec: media.H264},
		{Kind: media.Audio, Codec: media.AAC},
		{Kind: media.Video, Codec: "vp9"},
	} {
		if _, _, err := BuildInit(tr); err == nil {
			t.Errorf("BuildInit(%+v) succeeded", tr)
		}
	}
}

func TestFragmentRoundTrip(t *testing.T) {
	type in struct {
		nalus [][]byte
		dur   uint32
		cto   int32
		sync  bool
	}
	aud := []byte{0x09, 0xf0}
	sps, pps := mustHex(t, sps720), mustHex(t, pps720)
	idr := append([]byte{0x65}, bytes.Repeat([]byte{0xaa}, 1000)...)
	p := append([]byte{0x41}, bytes.Repeat([]byte{0xbb}, 300)...)
	b := append([]byte{0x01}, bytes.Repeat([]byte{0xcc}, 100)...)
	sei := []byte{0x06, 0x05, 0x01, 0x80}
	samples := []in{
		{[][]byte{aud, sps, pps, sei, idr}, 3000, 0, true},
		{[][]byte{aud, p}, 3000, 6000, false},
		{[][]byte{aud, b}, 3000, -3000, false},
		{[][]byte{aud, b}, 3001, -3000, false},
	}
	// Small hints force the re-allocation path once; big hints use the reserved room.
	for _, hint := range []int{0, 100} {
		f := NewFragment(true, 16, hint)
		for _, s := range samples {
			f.AddVideo(media.H264, s.nalus, true, s.dur, s.cto, s.sync)
		}
		f.SetLastDuration(2999)
		const base = uint64(1_700_000_000) * 90000
		data := f.Encode(42, base)
		file, err := mp4.DecodeFile(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if len(file.Segments) != 1 || len(file.Segments[0].Fragments) != 1 {
			t.Fatal("want one segment with one fragment")
		}
		if file.Segments[0].Styp == nil {
			t.Error("no styp")
		}
		frag := file.Segments[0].Fragments[0]
		if frag.Moof.Mfhd.SequenceNumber != 42 {
			t.Errorf("mfhd seq %d", frag.Moof.Mfhd.SequenceNumber)
		}
		tfdt := frag.Moof.Traf.Tfdt
		if tfdt.Version != 1 || tfdt.BaseMediaDecodeTime() != base {
			t.Errorf("tfdt v%d %d", tfdt.Version, tfdt.BaseMediaDecodeTime())
		}
		full, err := frag.GetFullSamples(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(full) != len(samples) {
			t.Fatalf("%d samples", len(full))
		}
		wantDur := []uint32{3000, 3000, 3000, 2999}
		dts := base
		for i, s := range full {
			want := AppendNALUs(nil, media.H264, samples[i].nalus, true)
			if !bytes.Equal(s.Data, want) {
				t.Errorf("sample %d payload differs", i)
			}
			if s.Dur != wantDur[i] || s.CompositionTimeOffset != samples[i].cto || s.DecodeTime != dts {
				t.Errorf("sample %d dur=%d cto=%d dts=%d", i, s.Dur, s.CompositionTimeOffset, s.DecodeTime)
			}
			if s.IsSync() != samples[i].sync {
				t.Errorf("sample %d sync=%v", i, s.IsSync())
			}
			dts += uint64(s.Dur)
		}
		if f.Duration() != 3000*3+2999 {
			t.Errorf("Duration %d", f.Duration())
		}
		// The first sample lost its AUD and parameter sets but kept SEI and IDR.
		if got, want := len(full[0].Data), 4+len(sei)+4+len(idr); got != want {
			t.Errorf("first sample %d bytes, want %d", got, want)
		}
	}
}

func TestFragmentAudio(t *testing.T) {
	f := NewFragment(false, 1000, 100)
	for i := range 94 {
		f.AddAudio(bytes.Repeat([]byte{byte(i)}, 300+i), AACFrameSamples)
	}
	data := f.Encode(7, 81_600_000_000_000)
	file, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	frag := file.Segments[0].Fragments[0]
	full, err := frag.GetFullSamples(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 94 {
		t.Fatalf("%d samples", len(full))
	}
	for i, s := range full {
		if s.Dur != 1024 || len(s.Data) != 300+i || s.Data[0] != byte(i) || !s.IsSync() {
			t.Fatalf("sample %d: dur=%d len=%d sync=%v", i, s.Dur, len(s.Data), s.IsSync())
		}
		if s.DecodeTime != 81_600_000_000_000+uint64(i)*1024 {
			t.Fatalf("sample %d dts %d", i, s.DecodeTime)
		}
	}
}

func TestAVCCHelpers(t *testing.T) {
	sps, pps := mustHex(t, sps720), mustHex(t, pps720)
	nalus := [][]byte{{0x09, 0xf0}, sps, pps, {0x65, 1, 2, 3}}
	avcc := AppendNALUs(nil, media.H264, nalus, false)
	ps := FindParamSetsAVCC(media.H264, avcc)
	if !bytes.Equal(ps.SPS, sps) || !bytes.Equal(ps.PPS, pps) {
		t.Fatal("param sets not found in AVCC")
	}
	if got := FindParamSets(media.H264, nalus); !bytes.Equal(got.SPS, sps) {
		t.Fatal("param sets not found")
	}
	if got, want := AppendAVCC(nil, media.H264, avcc, true), AppendNALUs(nil, media.H264, nalus, true); !bytes.Equal(got, want) {
		t.Fatal("AppendAVCC and AppendNALUs disagree")
	}
	if !FindParamSets(media.H264, [][]byte{{0x41}}).Empty() {
		t.Fatal("found param sets in a P slice")
	}
	// H.265: VPS/SPS/PPS/AUD types.
	h265 := [][]byte{{35 << 1, 1}, {32 << 1, 1}, {33 << 1, 1}, {34 << 1, 1}, {19 << 1, 1, 9}}
	p := FindParamSets(media.H265, h265)
	if p.VPS == nil || p.SPS == nil || p.PPS == nil {
		t.Fatal("h265 param sets not found")
	}
	if got := AppendNALUs(nil, media.H265, h265, true); len(got) != 4+3 {
		t.Fatalf("h265 filtered to %d bytes", len(got))
	}
}

// Reset writes the next fragment over the buffer Encode returned when it is
// large enough, and allocates a new one when it is not; either way the
// next Encode holds only the new samples.
func TestFragmentResetReusesTheBuffer(t *testing.T) {
	tests := []struct {
		name      string
		nextBytes int
		reused    bool
	}{
		{"fits", 200, true},
		{"larger than the buffer", 1 << 16, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFragment(false, 1000, 10)
			f.AddAudio(bytes.Repeat([]byte{1}, 500), AACFrameSamples)
			first := f.Encode(1, 0)
			f.Reset(1000, 10)
			f.AddAudio(bytes.Repeat([]byte{2}, tt.nextBytes), AACFrameSamples)
			second := f.Encode(2, AACFrameSamples)
			if got := &first[:1][0] == &second[:1][0]; got != tt.reused {
				t.Fatalf("buffer reused = %v, want %v", got, tt.reused)
			}
			if f.Len() != 1 || f.PayloadSize() != tt.nextBytes {
				t.Fatalf("after Reset: %d samples, %d payload bytes; want 1, %d", f.Len(), f.PayloadSize(), tt.nextBytes)
			}
			if !bytes.HasSuffix(second, bytes.Repeat([]byte{2}, tt.nextBytes)) || bytes.Contains(second, []byte{1, 1, 1, 1}) {
				t.Fatal("the second fragment holds bytes of the first")
			}
		})
	}
}
