package transcode

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/thumbnail"
)

// TestRunFileWithThumbnails makes the poster and sprites as extra outputs
// of the transcode: the renditions are as complete as without them, and
// the thumbnails are there when RunFile returns.
func TestRunFileWithThumbnails(t *testing.T) {
	in := makeFile(t, "in.mp4", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")
	src := probeFile(t, in)
	plan := filePlan(t, src)
	dir := t.TempDir()
	extra, err := thumbnail.PlanExtra(thumbnail.Options{}, src.Duration, dir)
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Join(plan.fileArgs(in, time.Second, extra), " "); !strings.Contains(args, "split=3[s0][s1][xv];") ||
		!strings.Contains(args, "[xv]split=2") || !strings.HasSuffix(args, filepath.Join(dir, "thumb-%d.jpg")) {
		t.Fatalf("args: %s", args)
	}
	with, without := &collector{t: t}, &collector{t: t}
	if err := RunFile(context.Background(), FileJob{FFmpeg: "ffmpeg", Input: in, Plan: plan, Segment: time.Second,
		Output: with, Extra: extra}); err != nil {
		t.Fatalf("RunFile with thumbnails: %v", err)
	}
	if err := RunFile(context.Background(), FileJob{FFmpeg: "ffmpeg", Input: in, Plan: plan, Segment: time.Second,
		Output: without}); err != nil {
		t.Fatalf("RunFile: %v", err)
	}
	for i := range plan.Renditions {
		if len(with.units[i]) != len(without.units[i]) {
			t.Errorf("rendition %d: %d units with thumbnails, %d without", i, len(with.units[i]), len(without.units[i]))
		}
	}
	res, err := extra.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{res.Poster, res.VTT}, res.Sprites...) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if res.Width != 160 || res.Height != 90 {
		t.Errorf("thumbnails %dx%d, want 160x90", res.Width, res.Height)
	}

	// Audio only: no video to take thumbnails from, and no extra outputs.
	audio := makeFile(t, "a.m4a", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "2", "-c:a", "aac")
	ap := filePlan(t, probeFile(t, audio))
	if args := strings.Join(ap.fileArgs(audio, time.Second, extra), " "); strings.Contains(args, "sprite") {
		t.Errorf("audio-only args carry the thumbnails: %s", args)
	}
}

// TestRunFileWithThumbnailsReportsProgress: ffmpeg reports no progress
// until every output has started, so the thumbnail outputs must start at
// once, not when their first sprite sheet or the poster's moment comes.
// The input is read at its native rate (-re): 4 s of reports.
func TestRunFileWithThumbnailsReportsProgress(t *testing.T) {
	in := makeFile(t, "in.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	src := probeFile(t, in)
	plan := filePlan(t, src)
	extra, err := thumbnail.PlanExtra(thumbnail.Options{}, src.Duration, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	realTime := filepath.Join(t.TempDir(), "ffmpeg-re.sh")
	if err := os.WriteFile(realTime, []byte("#!/bin/sh\nexec ffmpeg -re \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var first time.Duration = -1
	err = RunFile(context.Background(), FileJob{FFmpeg: realTime, Input: in, Plan: plan, Segment: time.Second,
		Output: &collector{t: t}, Extra: extra, Progress: func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if first < 0 {
				first = d
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if first < 0 || first > 2500*time.Millisecond {
		t.Fatalf("first progress report at %v of 4 s, want one in the first half", first)
	}
}
