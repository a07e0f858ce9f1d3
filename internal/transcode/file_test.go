package transcode

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/probe"
)

// collector is an Output that keeps what it gets and checks the call order.
type collector struct {
	t          *testing.T
	begins     int
	renditions []Rendition
	units      [][]*media.Unit
	order      []int // rendition of each unit, in arrival order
	onUnit     func(n int) error
}

func (c *collector) Begin(rs []Rendition) error {
	c.begins++
	c.renditions = rs
	c.units = make([][]*media.Unit, len(rs))
	return nil
}

func (c *collector) WriteUnit(i int, u *media.Unit) error {
	if c.renditions == nil {
		c.t.Errorf("WriteUnit before Begin")
	}
	c.units[i] = append(c.units[i], u)
	c.order = append(c.order, i)
	if c.onUnit != nil {
		return c.onUnit(len(c.order))
	}
	return nil
}

// makeFile encodes a test file with ffmpeg.
func makeFile(t *testing.T, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	if out, err := exec.Command("ffmpeg", append(full, path)...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v: %s", name, err, out)
	}
	return path
}

func probeFile(t *testing.T, path string) probe.Source {
	t.Helper()
	src, err := probe.Probe(context.Background(), "ffprobe", path)
	if err != nil {
		t.Fatalf("probing %s: %v", path, err)
	}
	return src
}

var twoRungs = Ladder{Preset: "ultrafast", Video: []Rung{
	{Name: "360p", Height: 360, Bitrate: 600_000},
	{Name: "240p", Height: 240, Bitrate: 300_000, Profile: "main"},
	{Name: "720p", Height: 720, Bitrate: 2_000_000}, // above the source: skipped
}}

func runFile(t *testing.T, ctx context.Context, input string, plan Plan, out Output, progress func(time.Duration)) error {
	t.Helper()
	return RunFile(ctx, FileJob{FFmpeg: "ffmpeg", Input: input, Plan: plan, Segment: time.Second, Output: out, Progress: progress})
}

// filePlan plans the twoRungs ladder for src.
func filePlan(t *testing.T, src probe.Source) Plan {
	t.Helper()
	plan, err := NewFilePlan(twoRungs, src)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// transcodeFile runs plan over input into a new collector, failing the
// test if RunFile fails.
func transcodeFile(t *testing.T, input string, plan Plan) *collector {
	t.Helper()
	c := &collector{t: t}
	if err := runFile(t, context.Background(), input, plan, c, nil); err != nil {
		t.Fatalf("RunFile: %v", err)
	}
	return c
}

func TestRunFileLadder(t *testing.T) {
	in := makeFile(t, "in.mp4", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "250", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-metadata:s:a:0", "language=eng")
	src := probeFile(t, in)
	plan := filePlan(t, src)
	c := &collector{t: t}
	var mu sync.Mutex
	var reports []time.Duration
	err := runFile(t, context.Background(), in, plan, c, func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, d)
	})
	if err != nil {
		t.Fatalf("RunFile: %v", err)
	}
	if c.begins != 1 || len(c.renditions) != 3 {
		t.Fatalf("Begin called %d times with %d renditions, want once with 3", c.begins, len(c.renditions))
	}
	// The mono source stays mono.
	want := []string{"360p h264 640x360", "240p h264 426x240", "audio aac 48000Hz 1ch"}
	for i, r := range c.renditions {
		if got := r.Name + " " + r.Track.String(); got != want[i] {
			t.Errorf("rendition %d = %s, want %s", i, got, want[i])
		}
	}
	if v := c.renditions[0].Track; v.SPS == nil || v.PPS == nil {
		t.Error("video track without parameter sets")
	}
	if a := c.renditions[2]; a.Track.AudioConfig == nil || a.Language != "eng" || !a.Default {
		t.Errorf("audio rendition = %+v", a)
	}

	// Keyframes on the 1 s grid, the same in both rungs, the first at 0.
	var keys [2][]time.Duration
	for ri := range 2 {
		us := c.units[ri]
		if n := len(us); n < 115 || n > 125 {
			t.Errorf("%s: %d frames, want 120", c.renditions[ri].Name, n)
		}
		for i, u := range us {
			if i > 0 && u.DTS <= us[i-1].DTS {
				t.Fatalf("%s: DTS not increasing at frame %d", c.renditions[ri].Name, i)
			}
			if u.Key {
				keys[ri] = append(keys[ri], u.PTS)
			}
		}
	}
	wantKeys := []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}
	for ri := range 2 {
		if len(keys[ri]) != len(wantKeys) {
			t.Fatalf("%s keyframes at %v, want %v", c.renditions[ri].Name, keys[ri], wantKeys)
		}
		for i, k := range keys[ri] {
			if d := k - wantKeys[i]; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("%s keyframes at %v, want %v", c.renditions[ri].Name, keys[ri], wantKeys)
				break
			}
		}
	}
	// The end reaches the source's duration.
	lastVideo := c.units[0][len(c.units[0])-1].PTS
	for _, u := range c.units[0] {
		lastVideo = max(lastVideo, u.PTS)
	}
	audio := c.units[2]
	lastAudio := audio[len(audio)-1].PTS
	if d := src.Duration - lastVideo; d < 0 || d > 100*time.Millisecond {
		t.Errorf("last video frame at %v, source lasts %v", lastVideo, src.Duration)
	}
	// AAC frames overhang the end by up to a frame and the encoder's delay.
	if d := src.Duration - lastAudio; d < -60*time.Millisecond || d > 60*time.Millisecond {
		t.Errorf("last audio frame at %v, source lasts %v", lastAudio, src.Duration)
	}
	if audio[0].PTS < -50*time.Millisecond || audio[0].PTS > 50*time.Millisecond {
		t.Errorf("first audio frame at %v, want about 0", audio[0].PTS)
	}
	// Interleaved by DTS: no unit far behind one delivered before it.
	var newest time.Duration
	pos := make([]int, 3)
	for _, ri := range c.order {
		u := c.units[ri][pos[ri]]
		pos[ri]++
		if u.DTS < newest-time.Second {
			t.Fatalf("unit of %s at DTS %v arrives after one at %v", c.renditions[ri].Name, u.DTS, newest)
		}
		newest = max(newest, u.DTS)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) == 0 || reports[len(reports)-1] < 3500*time.Millisecond {
		t.Errorf("progress reports %v, want the last near 4s", reports)
	}
}

func TestRunFileRotatedIsPortrait(t *testing.T) {
	land := makeFile(t, "land.mp4", "-f", "lavfi", "-i", "testsrc=size=480x360:rate=25", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	in := makeFile(t, "rot.mp4", "-i", land, "-c", "copy", "-metadata:s:v", "rotate=90")
	src := probeFile(t, in)
	c := transcodeFile(t, in, filePlan(t, src))
	// The encoded size (from the SPS) is what the plan said: portrait.
	var got []string
	for _, r := range c.renditions {
		got = append(got, r.Name+" "+r.Track.String())
	}
	if want := []string{"360p h264 360x480", "240p h264 240x320"}; !slices.Equal(got, want) {
		t.Errorf("renditions = %v, want %v", got, want)
	}
	if n := len(c.units[0]); n < 48 || n > 52 {
		t.Errorf("%d frames, want 50", n)
	}
}

func TestRunFileVariableFrameRateBecomesConstant(t *testing.T) {
	// 30 fps for 2 s, then every third frame: about 20 fps on average.
	in := makeFile(t, "vfr.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "4",
		"-vf", `select=lt(n\,60)+not(mod(n\,3))`, "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast")
	src := probeFile(t, in)
	if !src.Video.VariableFrameRate {
		t.Fatalf("test source is not variable-rate: %+v", src.Video)
	}
	c := transcodeFile(t, in, filePlan(t, src))
	us := c.units[0]
	pts := make([]time.Duration, len(us))
	for i, u := range us {
		pts[i] = u.PTS
	}
	slices.Sort(pts)
	step := time.Duration(float64(time.Second) / src.Video.FrameRate)
	for i := 1; i < len(pts); i++ {
		if d := pts[i] - pts[i-1]; d < step-2*time.Millisecond || d > step+2*time.Millisecond {
			t.Fatalf("frame %d comes %v after the previous one, want a constant %v", i, d, step)
		}
	}
}

func TestRunFileAudioOnly(t *testing.T) {
	in := makeFile(t, "two.m4a", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-map", "0", "-map", "1", "-t", "3",
		"-c:a", "aac", "-ac:a:1", "2", "-metadata:s:a:1", "language=spa")
	src := probeFile(t, in)
	c := transcodeFile(t, in, filePlan(t, src))
	var got []string
	for _, r := range c.renditions {
		got = append(got, r.Name+" "+r.Track.String()+" "+r.Language)
	}
	if want := []string{"audio aac 48000Hz 1ch ", "audio-1 aac 48000Hz 2ch spa"}; !slices.Equal(got, want) {
		t.Errorf("renditions = %v, want %v", got, want)
	}
	for i, us := range c.units {
		if len(us) == 0 {
			t.Fatalf("rendition %d: no units", i)
		}
		first, last := us[0].PTS, us[len(us)-1].PTS
		if i == 0 && first != 0 {
			t.Errorf("first unit at %v, want 0", first)
		}
		if d := src.Duration - last; d < -60*time.Millisecond || d > 60*time.Millisecond {
			t.Errorf("rendition %d: last unit at %v, source lasts %v", i, last, src.Duration)
		}
	}
}

func TestRunFileCancel(t *testing.T) {
	in := makeFile(t, "long.mp4", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-t", "30",
		"-c:v", "libx264", "-preset", "ultrafast")
	plan := filePlan(t, probeFile(t, in))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var cancelled time.Time
	c := &collector{t: t, onUnit: func(n int) error {
		if n == 10 {
			cancelled = time.Now()
			cancel()
		}
		return nil
	}}
	err := runFile(t, ctx, in, plan, c, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("RunFile = %v, want context.Canceled", err)
	}
	if cancelled.IsZero() {
		t.Fatal("no unit arrived")
	}
	if took := time.Since(cancelled); took > 2*time.Second {
		t.Errorf("RunFile returned %v after the cancel", took)
	}
	// Nothing is delivered after the cancel, though the pipe held more.
	if n := len(c.order); n != 10 {
		t.Errorf("%d units delivered, want 10 (none after the cancel)", n)
	}
}

func TestRunFileOutputErrorStopsFFmpeg(t *testing.T) {
	in := makeFile(t, "long.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "30",
		"-c:v", "libx264", "-preset", "ultrafast")
	plan := filePlan(t, probeFile(t, in))
	full := errors.New("disk full")
	c := &collector{t: t, onUnit: func(n int) error {
		if n == 5 {
			return full
		}
		return nil
	}}
	if err := runFile(t, context.Background(), in, plan, c, nil); !errors.Is(err, full) {
		t.Fatalf("RunFile = %v, want the Output's error", err)
	}
	if len(c.order) != 5 {
		t.Errorf("%d units delivered, want 5 (none after the error)", len(c.order))
	}
}

func TestRunFileCorruptInput(t *testing.T) {
	good := makeFile(t, "good.mp4", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=30", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast")
	plan := filePlan(t, probeFile(t, good))
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "cut.mp4")
	if err := os.WriteFile(bad, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t}
	err = runFile(t, context.Background(), bad, plan, c, nil)
	if err == nil || !strings.Contains(err.Error(), "moov atom not found") || !strings.Contains(err.Error(), "exit status") {
		t.Fatalf("RunFile = %v, want ffmpeg's exit with its message", err)
	}
	if c.begins != 0 {
		t.Error("Begin called for a file ffmpeg cannot read")
	}

	// ffmpeg that cannot start.
	err = RunFile(context.Background(), FileJob{FFmpeg: filepath.Join(t.TempDir(), "no-ffmpeg"), Input: good, Plan: plan, Output: c})
	if err == nil {
		t.Fatal("RunFile with a missing ffmpeg succeeded")
	}
}
