package ingesttest

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// FFmpegPublish runs the real ffmpeg CLI as publisher: 3 s of a 640x360
// 30 fps test pattern (a keyframe every 30 frames) with a 44.1 kHz mono tone,
// sent in real time to url in the given container ("flv", "mpegts"). It
// waits for the publication on h to end cleanly, checks its tracks and that
// its units form a valid session timeline (the video keyframe first at 0,
// DTS increasing per track, PTS at or after DTS, keyframes where ffmpeg put
// them), and returns how many video and audio units arrived, for the caller
// to judge against what its protocol may lose.
func FFmpegPublish(t *testing.T, h *Handler, format, url string, timeout time.Duration) (video, audio int) {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg is required for this test: %v", err)
	}
	cmd := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100",
		"-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ac", "1", "-f", format, url)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	pub := h.NextPublication(t, timeout)
	tracks := pub.WaitStarted(t, timeout)
	if len(tracks) != 2 || tracks[0].String() != "h264 640x360" || tracks[1].String() != "aac 44100Hz 1ch" {
		t.Errorf("tracks = %v, want [h264 640x360, aac 44100Hz 1ch]", tracks)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("ffmpeg did not finish\n%s", out)
	}
	if cause := pub.WaitClosed(t, timeout); cause != nil {
		t.Errorf("cause = %v, want nil when ffmpeg ends the stream", cause)
	}
	last := map[int]time.Duration{0: -1, 1: -1}
	for i, u := range pub.Units() {
		if i == 0 && (u.Track != 0 || !u.Key || u.DTS != 0) {
			t.Errorf("first unit: track %d key %v dts %v, want the video key frame at 0", u.Track, u.Key, u.DTS)
		}
		if u.DTS <= last[u.Track] || u.PTS < u.DTS {
			t.Fatalf("unit %d (track %d): dts %v after %v, pts %v", i, u.Track, u.DTS, last[u.Track], u.PTS)
		}
		last[u.Track] = u.DTS
		if tracks[u.Track].Kind == media.Video {
			video++
			if u.Key != (video%30 == 1) {
				t.Errorf("video unit %d: key %v", video-1, u.Key)
			}
		} else {
			audio++
		}
	}
	pub.CheckContract(t)
	return video, audio
}
