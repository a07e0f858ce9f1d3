package transcode

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/probe"
	"github.com/ospreyvideo/osprey/internal/thumbnail"
)

// TestRunFileTruncatedSource checks that the first third of a faststart
// MP4 (its index intact, two thirds of its data missing) fails with a
// permanent reason a person understands, although ffmpeg itself ends with
// status 0; the whole file passes the same check.
func TestRunFileTruncatedSource(t *testing.T) {
	full := makeFile(t, "full.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=9",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=9",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-movflags", "+faststart")
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.mp4")
	if err := os.WriteFile(cut, b[:len(b)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	cutSrc := probeFile(t, cut) // the index survived: it still says 9 s
	if d := cutSrc.Declared(); d < 8*time.Second {
		t.Fatalf("the cut file declares %s; the test needs an intact index", d)
	}
	plan := filePlan(t, cutSrc)
	run := func(input string, withThumbs bool) error {
		job := FileJob{FFmpeg: "ffmpeg", Input: input, Plan: plan, Segment: time.Second,
			Output: &collector{t: t}, Expected: cutSrc.Declared()}
		if withThumbs {
			// Their output is padded to the declared duration: it must
			// not hide the missing media.
			x, err := thumbnail.PlanExtra(thumbnail.Options{}, cutSrc.Declared(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			job.Extra = x
		}
		return RunFile(context.Background(), job)
	}
	for _, withThumbs := range []bool{false, true} {
		err = run(cut, withThumbs)
		if !probe.IsPermanent(err) || !strings.HasPrefix(err.Error(), "the file is cut short: it says it lasts 9.0 s, but only the first ") {
			t.Fatalf("RunFile(cut, thumbnails %v) = %v, want a permanent \"the file is cut short\" error", withThumbs, err)
		}
		if err := run(full, withThumbs); err != nil {
			t.Fatalf("RunFile(full, thumbnails %v) = %v", withThumbs, err)
		}
	}
}

func TestShortBy(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		decoded, expected time.Duration
		want              bool
	}{
		{3 * s, 9 * s, true},
		{9 * s, 9 * s, false},
		{8500 * time.Millisecond, 9 * s, false}, // under the slack
		{1 * s, 2 * s, false},                   // a tenth, but under 2 s
		{80 * s, 100 * s, true},
		{95 * s, 100 * s, false},
		{0, 0, false}, // nothing declared
	}
	for _, tt := range tests {
		if got := shortBy(tt.decoded, tt.expected); got != tt.want {
			t.Errorf("shortBy(%s, %s) = %v, want %v", tt.decoded, tt.expected, got, tt.want)
		}
	}
}

// TestRunFileRefusesPlaylist checks that a .mp4 that is really an HLS
// playlist naming a local file is refused by ffmpeg's whitelists with a
// permanent, readable reason, without reading what it names.
func TestRunFileRefusesPlaylist(t *testing.T) {
	good := makeFile(t, "good.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast")
	plan := filePlan(t, probeFile(t, good))
	secret := makeFile(t, "secret.ts", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts")
	evil := filepath.Join(t.TempDir(), "evil.mp4")
	playlist := fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile://%s\n#EXT-X-ENDLIST\n", secret)
	if err := os.WriteFile(evil, []byte(playlist), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t}
	err := runFile(t, context.Background(), evil, plan, c, nil)
	if !probe.IsPermanent(err) || !strings.HasPrefix(err.Error(), "the file is a playlist (hls)") {
		t.Fatalf("RunFile = %v, want a permanent playlist refusal", err)
	}
	if c.begins != 0 {
		t.Error("ffmpeg produced output from the playlist")
	}
}
