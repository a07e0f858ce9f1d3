package probe

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ffmpeg makes a test file in dir with the given arguments (before the
// output name) and returns its path.
func ffmpeg(t *testing.T, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	out, err := exec.Command("ffmpeg", append(full, path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("making %s: %v: %s", name, err, out)
	}
	return path
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	testVideo = []string{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"}
	testAudio = []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"}
)

func args(parts ...[]string) []string {
	var a []string
	for _, p := range parts {
		a = append(a, p...)
	}
	return a
}

func TestProbeGoodFiles(t *testing.T) {
	tests := []struct {
		name  string
		make  func(t *testing.T) string
		check func(t *testing.T, s Source)
	}{
		{
			name: "h264 aac mp4",
			make: func(t *testing.T) string {
				return ffmpeg(t, "a.mp4", args(testVideo, testAudio, []string{"-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
					"-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2", "-metadata:s:a:0", "language=fra"})...)
			},
			check: func(t *testing.T, s Source) {
				if !strings.Contains(s.Format, "mp4") {
					t.Errorf("format = %q", s.Format)
				}
				v := s.Video
				if v == nil || v.Codec != "h264" || v.Width != 320 || v.Height != 240 || v.DisplayWidth != 320 || v.DisplayHeight != 240 ||
					v.Rotation != 0 || v.FrameRate != 30 || v.VariableFrameRate || v.PixFmt != "yuv420p" || v.Index != 0 {
					t.Errorf("video = %+v", v)
				}
				if len(s.Audio) != 1 {
					t.Fatalf("audio = %+v", s.Audio)
				}
				a := s.Audio[0]
				if a.Index != 1 || a.Codec != "aac" || a.Channels != 2 || a.SampleRate != 44100 || a.Language != "fra" || !a.Default {
					t.Errorf("audio = %+v", a)
				}
				if s.Duration < 1990*time.Millisecond || s.Duration > 2100*time.Millisecond {
					t.Errorf("duration = %v, want about 2s", s.Duration)
				}
				if s.Size <= 0 || s.Bitrate <= 0 {
					t.Errorf("size %d bitrate %d", s.Size, s.Bitrate)
				}
				if got := s.Summary(); !strings.HasPrefix(got, "h264 320x240 30fps, aac 2ch fra, 2.0s") {
					t.Errorf("summary = %q", got)
				}
			},
		},
		{
			name: "hevc mkv, two audio tracks",
			make: func(t *testing.T) string {
				return ffmpeg(t, "a.mkv", args(testVideo, testAudio, testAudio, []string{"-map", "0", "-map", "1", "-map", "2", "-t", "1",
					"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-c:a", "libopus",
					"-metadata:s:a:1", "language=deu", "-metadata:s:a:1", "title=Deutsch", "-disposition:a:0", "0", "-disposition:a:1", "default"})...)
			},
			check: func(t *testing.T, s Source) {
				if s.Format != "matroska,webm" || s.Video == nil || s.Video.Codec != "hevc" || s.Video.DisplayWidth != 320 {
					t.Errorf("source = %+v video %+v", s, s.Video)
				}
				if len(s.Audio) != 2 || s.Audio[0].Index != 1 || s.Audio[1].Index != 2 || s.Audio[1].Language != "deu" || s.Audio[1].Title != "Deutsch" ||
					s.Audio[0].Default || !s.Audio[1].Default || s.Audio[0].Codec != "opus" {
					t.Errorf("audio = %+v", s.Audio)
				}
			},
		},
		{
			name: "vp9 opus webm",
			make: func(t *testing.T) string {
				return ffmpeg(t, "a.webm", args(testVideo, testAudio, []string{"-t", "1", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"})...)
			},
			check: func(t *testing.T, s Source) {
				if s.Video == nil || s.Video.Codec != "vp9" || len(s.Audio) != 1 || s.Audio[0].Codec != "opus" || s.Audio[0].SampleRate != 48000 {
					t.Errorf("source = %+v video %+v", s, s.Video)
				}
				// WebM gives the duration on the container only.
				if s.Duration < 900*time.Millisecond || s.Duration > 1100*time.Millisecond {
					t.Errorf("duration = %v", s.Duration)
				}
			},
		},
		{
			name: "audio-only m4a with cover art",
			make: func(t *testing.T) string {
				cover := ffmpeg(t, "cover.png", "-f", "lavfi", "-i", "color=c=red:size=64x64", "-frames:v", "1")
				return ffmpeg(t, "a.m4a", args(testAudio, []string{"-i", cover, "-map", "0:a", "-map", "1:v", "-t", "1.5", "-c:a", "aac",
					"-c:v", "png", "-disposition:v", "attached_pic"})...)
			},
			check: func(t *testing.T, s Source) {
				if s.Video != nil {
					t.Errorf("video = %+v, want nil (cover art is not video)", s.Video)
				}
				if len(s.Audio) != 1 || s.Audio[0].Channels != 1 || s.Data != 1 {
					t.Errorf("audio %+v data %d", s.Audio, s.Data)
				}
				if got := s.Summary(); !strings.HasPrefix(got, "aac 1ch, 1 other, 1.5s") {
					t.Errorf("summary = %q", got)
				}
			},
		},
		{
			name: "portrait by rotation metadata",
			make: func(t *testing.T) string {
				land := ffmpeg(t, "land.mp4", args(testVideo, []string{"-t", "1", "-c:v", "libx264", "-preset", "ultrafast"})...)
				return ffmpeg(t, "rot.mp4", "-i", land, "-c", "copy", "-metadata:s:v", "rotate=90")
			},
			check: func(t *testing.T, s Source) {
				v := s.Video
				if v == nil || v.Width != 320 || v.Height != 240 || v.DisplayWidth != 240 || v.DisplayHeight != 320 || v.Rotation%180 != 90 {
					t.Errorf("video = %+v, want 320x240 coded shown as 240x320", v)
				}
			},
		},
		{
			name: "anamorphic",
			make: func(t *testing.T) string {
				return ffmpeg(t, "ana.mkv", args(testVideo, []string{"-t", "0.5", "-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast"})...)
			},
			check: func(t *testing.T, s Source) {
				if v := s.Video; v == nil || v.DisplayWidth != 426 || v.DisplayHeight != 240 {
					t.Errorf("video = %+v, want 320x240 at 4:3 pixels shown as 426x240", v)
				}
			},
		},
		{
			name: "variable frame rate",
			make: func(t *testing.T) string {
				// 30 fps for 2 s, then every third frame: 80 frames in 4 s.
				return ffmpeg(t, "vfr.mp4", args(testVideo, []string{"-t", "4", "-vf", `select=lt(n\,60)+not(mod(n\,3))`, "-fps_mode", "vfr",
					"-c:v", "libx264", "-preset", "ultrafast"})...)
			},
			check: func(t *testing.T, s Source) {
				if v := s.Video; v == nil || !v.VariableFrameRate || v.FrameRate < 19 || v.FrameRate > 21.5 {
					t.Errorf("video = %+v, want variable at about 20 fps", v)
				}
				if !strings.Contains(s.Summary(), "(variable)") {
					t.Errorf("summary = %q", s.Summary())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.make(t)
			s, err := Probe(context.Background(), "ffprobe", path)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			tt.check(t, s)
		})
	}
}

func TestProbeRefusesBadFiles(t *testing.T) {
	goodMP4 := func(t *testing.T) []byte {
		p := ffmpeg(t, "good.mp4", args(testVideo, testAudio, []string{"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"})...)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		make   func(t *testing.T) string
		reason string // exact, or a prefix ending in "…"
	}{
		{"empty", func(t *testing.T) string { return writeFile(t, "empty.mp4", nil) }, reasonEmpty},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nothing.mp4") }, reasonMissing},
		{"text named mp4", func(t *testing.T) string {
			return writeFile(t, "notes.mp4", []byte("Dear diary, today I uploaded a text file.\n"))
		}, reasonNotMedia},
		{"text named mkv", func(t *testing.T) string {
			return writeFile(t, "notes.mkv", []byte(strings.Repeat("not a video\n", 100)))
		}, reasonNotMedia},
		{"truncated mp4", func(t *testing.T) string {
			b := goodMP4(t)
			return writeFile(t, "cut.mp4", b[:len(b)/2])
		}, reasonNoMoov},
		{"too wide", func(t *testing.T) string {
			return ffmpeg(t, "wide.mp4", "-f", "lavfi", "-i", "color=c=blue:size=9000x16", "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast")
		}, "the video frame size 9000x16 is too large: the limit is 8192 pixels on a side and 35389440 pixels (8192x4320) in all"},
		{"too many pixels", func(t *testing.T) string {
			return ffmpeg(t, "big.mp4", "-f", "lavfi", "-i", "color=c=blue:size=8192x4352", "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast")
		}, "the video frame size 8192x4352 is too large: …"},
		{"subtitles only", func(t *testing.T) string {
			srt := writeFile(t, "s.srt", []byte("1\n00:00:00,000 --> 00:00:01,000\nhello\n"))
			return ffmpeg(t, "subs.mkv", "-i", srt)
		}, reasonNoStreams},
		{"data only", func(t *testing.T) string {
			// A timecode (tmcd) data track and nothing else.
			withTC := ffmpeg(t, "tc.mov", args(testVideo, []string{"-t", "0.5", "-timecode", "00:00:00:00", "-c:v", "libx264", "-preset", "ultrafast"})...)
			return ffmpeg(t, "data.mov", "-i", withTC, "-map", "0:d", "-c", "copy")
		}, reasonNoStreams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.make(t)
			s, err := Probe(context.Background(), "ffprobe", path)
			if err == nil {
				t.Fatalf("Probe = %+v, want an error", s)
			}
			var pe *Error
			if !errors.As(err, &pe) || !IsPermanent(err) {
				t.Fatalf("error %v (%T) is not permanent", err, err)
			}
			if prefix, ok := strings.CutSuffix(tt.reason, "…"); ok {
				if !strings.HasPrefix(err.Error(), prefix) {
					t.Errorf("reason = %q, want it to start %q", err.Error(), prefix)
				}
			} else if err.Error() != tt.reason {
				t.Errorf("reason = %q, want %q", err.Error(), tt.reason)
			}
		})
	}
}

func TestProbeFailuresOfFFprobeAreNotPermanent(t *testing.T) {
	good := ffmpeg(t, "good.mp4", args(testVideo, []string{"-t", "0.2", "-c:v", "libx264", "-preset", "ultrafast"})...)
	dir := t.TempDir()
	crash := filepath.Join(dir, "ffprobe-crash")
	if err := os.WriteFile(crash, []byte("#!/bin/sh\necho 'Segmentation fault' >&2\nkill -SEGV $$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	hang := filepath.Join(dir, "ffprobe-hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ffprobe string
		timeout time.Duration
	}{
		{"missing binary", filepath.Join(dir, "no-such-ffprobe"), 0},
		{"crash", crash, 0},
		{"hang, cancelled", hang, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			_, err := Probe(ctx, tt.ffprobe, good)
			if err == nil || IsPermanent(err) {
				t.Fatalf("err = %v, want a non-permanent error", err)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

func TestParse(t *testing.T) {
	// ffprobe output as older versions print it (rotate tag) and with
	// the fields containers leave out.
	const out = `{"streams":[
		{"index":0,"codec_name":"mjpeg","codec_type":"video","width":600,"height":600,"disposition":{"attached_pic":1}},
		{"index":1,"codec_name":"h264","codec_type":"video","width":1920,"height":1080,"sample_aspect_ratio":"0:1",
		 "avg_frame_rate":"0/0","r_frame_rate":"30000/1001","tags":{"rotate":"-90"},"duration":"61.5"},
		{"index":2,"codec_name":"ac3","codec_type":"audio","sample_rate":"48000","channels":6,"tags":{"language":"und"}},
		{"index":3,"codec_type":"data"},
		{"index":4,"codec_name":"h264","codec_type":"video","width":320,"height":240}],
	 "format":{"format_name":"mpegts","duration":"N/A"}}`
	s, err := parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	v := s.Video
	if v == nil || v.Index != 1 || v.Rotation != 270 || v.DisplayWidth != 1080 || v.DisplayHeight != 1920 ||
		v.FrameRate < 29.96 || v.FrameRate > 29.98 || v.VariableFrameRate {
		t.Errorf("video = %+v", v)
	}
	if len(s.Audio) != 1 || s.Audio[0].Language != "" || s.Audio[0].Channels != 6 {
		t.Errorf("audio = %+v", s.Audio)
	}
	if s.Data != 3 || s.Duration != 61500*time.Millisecond {
		t.Errorf("data %d duration %v", s.Data, s.Duration)
	}
	if got, want := s.Summary(), "h264 1080x1920 29.97fps (rotated 270), ac3 6ch, 3 other, 61.5s"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if _, err := parse([]byte("{")); err == nil {
		t.Error("parse accepted broken JSON")
	}
}
