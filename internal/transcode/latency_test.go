package transcode

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/probe"
)

// TestLiveArgsCutDelay: live runs decode on one thread, encode every rung
// with liveX264Params unless the ladder asks for Lookahead, and mux without
// holding packets back; file runs keep the preset's settings.
func TestLiveArgsCutDelay(t *testing.T) {
	t.Parallel()
	tracks := []*media.Track{
		{Kind: media.Video, Codec: media.H264, Width: 1280, Height: 720},
		{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 2},
	}
	mux := []string{"-max_interleave_delta", "1", "-omit_video_pes_length", "0", "-pes_payload_size", "0"}
	tests := []struct {
		name   string
		ladder Ladder
		params int // libx264 outputs (of 3) given liveX264Params
	}{
		{"default", testLadder, 3},
		{"passthrough", Ladder{Video: testLadder.Video, Passthrough: true}, 3},
		{"lookahead", Ladder{Video: testLadder.Video, Lookahead: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := NewPlan(tt.ladder, tracks)
			if err != nil {
				t.Fatal(err)
			}
			a := p.FFmpegArgs(tracks, 2*time.Second)
			in := slices.Index(a, "-i")
			if th := slices.Index(a, "-threads"); th < 0 || th > in || a[th+1] != "1" {
				t.Errorf("no -threads 1 before the input: %q", a)
			}
			var x264, params int
			for i, arg := range a {
				if arg == "libx264" {
					x264++
					n := strings.TrimPrefix(a[i-1], "-c:v:")
					if j := slices.Index(a, "-x264-params:v:"+n); j >= 0 && a[j+1] == liveX264Params {
						params++
					}
				}
			}
			if x264 != 3 || params != tt.params {
				t.Errorf("%d libx264 outputs, %d with liveX264Params; want 3, %d", x264, params, tt.params)
			}
			out := a[len(a)-len(mux)-3 : len(a)-3]
			if !slices.Equal(out, mux) || a[len(a)-1] != "pipe:1" {
				t.Errorf("muxer options %q, want %q before the output", out, mux)
			}
		})
	}
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		p, err := NewFilePlan(testLadder, probe.Source{Video: &probe.VideoStream{Width: 640, Height: 360, DisplayWidth: 640, DisplayHeight: 360, FrameRate: 30}})
		if err != nil {
			t.Fatal(err)
		}
		a := strings.Join(p.FileArgs("in.mp4", 2*time.Second), " ")
		for _, opt := range append([]string{"-x264-params", "-threads"}, mux...) {
			if strings.HasPrefix(opt, "-") && strings.Contains(a, opt+" ") {
				t.Errorf("file args carry the live option %s: %s", opt, a)
			}
		}
	})
}

// TestTSWriterDeclaresVideoPESLength: a video frame muxed for ffmpeg
// declares its PES length, so a demuxer has it without waiting for the next
// frame; a frame too large for the 16-bit field stays unbounded.
func TestTSWriterDeclaresVideoPESLength(t *testing.T) {
	t.Parallel()
	video := &media.Track{Kind: media.Video, Codec: media.H264, Width: 320, Height: 240,
		SPS: []byte{0x67, 0x42, 0xc0, 0x1e}, PPS: []byte{0x68, 0xce, 0x3c, 0x80}}
	tests := []struct {
		name    string
		size    int
		bounded bool
	}{
		{"small frame", 5000, true},
		{"one packet", 20, true},
		{"over 64 KiB", 70000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			tw, err := newTSWriter(&out, []*media.Track{video, aacTrack48k})
			if err != nil {
				t.Fatal(err)
			}
			slice := make([]byte, tt.size)
			slice[0] = 0x65
			for i := 1; i < len(slice); i++ {
				slice[i] = byte(i%250) + 1 // no start code inside
			}
			u := &media.Unit{Key: true, PTS: time.Second, DTS: time.Second, NALUs: [][]byte{slice}}
			if err := tw.write(0, u); err != nil {
				t.Fatal(err)
			}
			if err := tw.write(1, &media.Unit{Key: true, PTS: time.Second, DTS: time.Second, Data: []byte{1, 2, 3}}); err != nil {
				t.Fatal(err)
			}
			if err := tw.flush(); err != nil {
				t.Fatal(err)
			}
			// The reader ends with an error that is not EOF: the
			// demuxer returns the frame only if it knows it is complete.
			d := newTSDemuxer(io.MultiReader(strings.NewReader(out.String()), errReader{}))
			if _, err := d.readStreams(); err != nil {
				t.Fatal(err)
			}
			var got []int
			for {
				p, err := d.next()
				if err != nil {
					break
				}
				got = append(got, p.stream)
				if p.stream == 0 && !strings.HasSuffix(string(p.data), string(slice)) {
					t.Errorf("video payload of %d bytes does not end with the frame", len(p.data))
				}
			}
			if has := slices.Contains(got, 0); has != tt.bounded {
				t.Errorf("video frame demuxed before the next one began: %v, want %v (streams %v)", has, tt.bounded, got)
			}
		})
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("no more input yet") }

// TestLiveRungsKeepUpWithInput runs the real ffmpeg with a veryfast rung
// (whose preset alone holds over a dozen frames: lookahead, B-frames, frame
// threads) and stops feeding it: every frame but the last few it was given
// comes out, without the input going on, and no frame is reordered.
func TestLiveRungsKeepUpWithInput(t *testing.T) {
	tracks, units := makeInput(t, 3, "640x360")
	ladder := Ladder{Preset: "veryfast", Video: []Rung{{Name: "240p", Height: 240, Bitrate: 300_000}}}
	plan, err := NewPlan(ladder, tracks)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := Start(Config{SegmentDuration: time.Second}, plan, tracks, rec, slog.New(slog.DiscardHandler))
	defer closeInput(t, s)
	var last time.Duration // PTS of the last video frame given
	for _, u := range units {
		if u.unit.DTS > 2*time.Second {
			break
		}
		if err := s.WriteUnit(u.track, u.unit); err != nil {
			t.Fatal(err)
		}
		if u.track == 0 {
			last = max(last, u.unit.PTS)
		}
	}
	// ffmpeg's input parser holds a frame until the next one begins and
	// its muxer may hold the last packet: measured 3 frames held in all
	// (with the preset's lookahead, B-frames and frame threads: over 15).
	const frame = time.Second / 30
	want := last - 4*frame
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec.mu.Lock()
		var newest time.Duration = -1
		reordered := 0
		for _, u := range rec.units[0] {
			newest = max(newest, u.PTS)
			if u.PTS != u.DTS {
				reordered++
			}
		}
		rec.mu.Unlock()
		if reordered > 0 {
			t.Fatalf("%d frames with PTS != DTS: B-frames in a live rung", reordered)
		}
		if newest >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("output stopped at %v, %d frames behind the last input frame (%v)", newest, (last-newest)/frame, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTicks90kRoundTrips: a time converted from the 90 kHz clock, as
// demuxers do (truncated to the nanosecond), is muxed at its own tick.
func TestTicks90kRoundTrips(t *testing.T) {
	t.Parallel()
	for k := int64(0); k < 10*90000; k += 1001 { // 1001: 30000/1001 fps frames fall on every residue
		d := time.Duration(k) * time.Second / 90000
		if got := ticks90k(d) - ticks90k(0); got != k {
			t.Fatalf("tick %d: %v muxed at tick %d", k, d, got)
		}
	}
}
