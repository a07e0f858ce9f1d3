package transcode

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/probe"
)

func TestNewFilePlan(t *testing.T) {
	video := func(w, h int, fps float64) *probe.VideoStream {
		return &probe.VideoStream{Index: 0, Codec: "h264", Width: w, Height: h, DisplayWidth: w, DisplayHeight: h, FrameRate: fps}
	}
	stereo := []probe.AudioStream{{Index: 1, Codec: "aac", Channels: 2, SampleRate: 44100}}
	capped := Ladder{Video: []Rung{
		{Name: "720p", Height: 720, Bitrate: 2_800_000},
		{Name: "360p", Height: 360, Bitrate: 800_000, MaxFPS: 30},
	}}
	withPass := fourRungs
	withPass.Passthrough = true
	tests := []struct {
		name   string
		ladder Ladder
		src    probe.Source
		want   string // name:WxH[@fps] or name:ch[:lang][:label][*default], cfr first if any
	}{
		{"1080p gets every rung", fourRungs, probe.Source{Video: video(1920, 1080, 30), Audio: stereo},
			"1080p:1920x1080 720p:1280x720 480p:854x480 360p:640x360 audio:2ch*"},
		{"640x360 is never upscaled", fourRungs, probe.Source{Video: video(640, 360, 25), Audio: stereo},
			"360p:640x360 audio:2ch*"},
		{"rotated to portrait by display size", fourRungs, probe.Source{Video: &probe.VideoStream{Width: 1280, Height: 720,
			DisplayWidth: 720, DisplayHeight: 1280, Rotation: 90, FrameRate: 30}},
			"720p:720x1280 480p:480x854 360p:360x640"},
		{"anamorphic by display size", fourRungs, probe.Source{Video: &probe.VideoStream{Width: 720, Height: 576,
			DisplayWidth: 1024, DisplayHeight: 576, FrameRate: 25}},
			"480p:854x480 360p:640x360"},
		{"smaller than every rung: its own size", fourRungs, probe.Source{Video: video(320, 181, 30)},
			"180p:318x180"},
		{"passthrough ladder is planned without it", withPass, probe.Source{Video: video(1280, 720, 30)},
			"720p:1280x720 480p:854x480 360p:640x360"},
		{"frame rate capped per rung", capped, probe.Source{Video: video(1280, 720, 60)},
			"720p:1280x720 360p:640x360@30"},
		{"59.94 capped to 29.97", capped, probe.Source{Video: video(1280, 720, 60000.0/1001)},
			"720p:1280x720 360p:640x360@30000/1001"},
		{"variable rate made constant", capped, probe.Source{Video: &probe.VideoStream{Width: 640, Height: 360,
			DisplayWidth: 640, DisplayHeight: 360, FrameRate: 20.3389, VariableFrameRate: true}},
			"cfr=20.3389 360p:640x360"},
		{"audio streams: names, languages, first default, never upmixed", fourRungs, probe.Source{Audio: []probe.AudioStream{
			{Index: 0, Codec: "ac3", Channels: 6, Language: "eng", Title: "Main"},
			{Index: 2, Codec: "aac", Channels: 1, Language: "fra", Default: true},
			{Index: 3, Codec: "opus", Channels: 2},
		}}, "audio:2ch:eng:Main* audio-1:1ch:fra audio-2:2ch"},
		{"video only, ladder without video", Ladder{}, probe.Source{Video: video(640, 360, 30), Audio: stereo},
			"audio:2ch*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewFilePlan(tt.ladder, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if p.cfr != "" {
				got = append(got, "cfr="+p.cfr)
			}
			for _, r := range p.Renditions {
				var s string
				if r.Track.Kind == media.Video {
					s = fmt.Sprintf("%s:%dx%d", r.Name, r.Track.Width, r.Track.Height)
					if r.fps != "" {
						s += "@" + r.fps
					}
					if r.Track.Codec != media.H264 || r.passthrough {
						t.Errorf("%s: codec %s passthrough %v", r.Name, r.Track.Codec, r.passthrough)
					}
				} else {
					s = fmt.Sprintf("%s:%dch", r.Name, r.Track.Channels)
					for _, x := range []string{r.Language, r.Label} {
						if x != "" {
							s += ":" + x
						}
					}
					if r.Default {
						s += "*"
					}
					if r.Track.SampleRate != 48000 || r.Bitrate != 128000 {
						t.Errorf("%s: %d Hz %d bit/s", r.Name, r.Track.SampleRate, r.Bitrate)
					}
				}
				got = append(got, s)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("plan = %s\nwant   %s", s, tt.want)
			}
		})
	}
}

func TestNewFilePlanRefuses(t *testing.T) {
	for name, src := range map[string]probe.Source{
		"nothing":        {},
		"no usable size": {Video: &probe.VideoStream{Width: 1, Height: 1, DisplayWidth: 1, DisplayHeight: 1}},
	} {
		if p, err := NewFilePlan(fourRungs, src); err == nil {
			t.Errorf("%s: plan %+v, want an error", name, p)
		}
	}
}

func TestCapRate(t *testing.T) {
	tests := []struct {
		fps  float64
		max  int
		want string
	}{
		{30, 0, ""}, {30, 30, ""}, {29.97, 30, ""}, {24, 30, ""},
		{60, 30, "30"}, {60000.0 / 1001, 30, "30000/1001"}, {50, 30, "25"}, {120, 30, "30"},
		{25, 24, "24"}, {40, 30, "30"}, {48, 24, "24"}, {100, 60, "50"},
	}
	for _, tt := range tests {
		if got := capRate(tt.fps, tt.max); got != tt.want {
			t.Errorf("capRate(%g, %d) = %q, want %q", tt.fps, tt.max, got, tt.want)
		}
	}
	for f, want := range map[float64]string{30: "30", 24000.0 / 1001: "24000/1001", 30000.0 / 2002: "15000/1001", 12.5: "12.5000"} {
		if got := rateExpr(f); got != want {
			t.Errorf("rateExpr(%g) = %q, want %q", f, got, want)
		}
	}
}

func TestFileArgs(t *testing.T) {
	ladder := Ladder{Preset: "faster", Tune: "film", Video: []Rung{
		{Name: "720p", Height: 720, Bitrate: 2_000_000, MaxBitrate: 3_000_000},
		{Name: "360p", Height: 360, Bitrate: 600_000, Profile: "main", MaxFPS: 30},
	}}
	src := probe.Source{
		Video: &probe.VideoStream{Index: 1, Width: 1280, Height: 720, DisplayWidth: 1280, DisplayHeight: 720, FrameRate: 60, VariableFrameRate: true},
		Audio: []probe.AudioStream{{Index: 0, Channels: 2}, {Index: 2, Channels: 1}},
	}
	p, err := NewFilePlan(ladder, src)
	if err != nil {
		t.Fatal(err)
	}
	args := p.FileArgs("/media/a:b.mp4", 4*time.Second)
	joined := strings.Join(args, " ")
	val := func(flag string) string {
		i := slices.Index(args, flag)
		if i < 0 || i+1 >= len(args) {
			t.Errorf("no %s in %s", flag, joined)
			return ""
		}
		return args[i+1]
	}
	checks := map[string]string{
		"-i":                    "file:/media/a:b.mp4",
		"-filter_complex":       "[0:1]fps=60,split=2[s0][s1];[s0]scale=1280:720,setsar=1,format=yuv420p[v0];[s1]fps=30,scale=640:360,setsar=1,format=yuv420p[v1]",
		"-preset:v:0":           "faster",
		"-profile:v:1":          "main",
		"-maxrate:v:0":          "3000000",
		"-bufsize:v:1":          "1320000",
		"-tune:v:1":             "film",
		"-force_key_frames:v:1": "expr:if(isnan(prev_forced_t),1,gte(t,(floor(prev_forced_t/4+0.001)+1)*4))",
		"-ac:a:1":               "1",
		"-ar:a:0":               "48000",
		"-sc_threshold":         "0",
		"-f":                    "mpegts",
		"-protocol_whitelist":   "file",
		"-format_whitelist":     probe.Formats,
	}
	for flag, want := range checks {
		if got := val(flag); got != want {
			t.Errorf("%s = %q, want %q", flag, got, want)
		}
	}
	if !strings.Contains(joined, "-map [v0] -c:v:0 libx264") || !strings.Contains(joined, "-map 0:0 -c:a:0 aac") ||
		!strings.Contains(joined, "-map 0:2 -c:a:1 aac") || !strings.HasSuffix(joined, "pipe:1") {
		t.Errorf("maps: %s", joined)
	}
	if i, j := slices.Index(args, "-format_whitelist"), slices.Index(args, "-i"); i > j {
		t.Errorf("-format_whitelist comes after -i, so it does not apply to the input: %s", joined)
	}
	if strings.Contains(joined, "copyts") || strings.Contains(joined, "-re ") {
		t.Errorf("file runs need neither -copyts nor -re: %s", joined)
	}

	// One rung, no resampling: no split, no fps filter.
	one, err := NewFilePlan(ladder, probe.Source{Video: &probe.VideoStream{Width: 640, Height: 360, DisplayWidth: 640, DisplayHeight: 360, FrameRate: 25}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := one.fileGraph([]int{0}, nil), "[0:0]scale=640:360,setsar=1,format=yuv420p[v0]"; got != want {
		t.Errorf("graph = %q, want %q", got, want)
	}
	one.cfr = "24"
	if got, want := one.fileGraph([]int{0}, nil), "[0:0]fps=24,scale=640:360,setsar=1,format=yuv420p[v0]"; got != want {
		t.Errorf("graph = %q, want %q", got, want)
	}
}
