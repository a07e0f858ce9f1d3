package thumbnail

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fadeClip makes a clip that fades from black to white over its whole
// length, a keyframe every second: a frame's brightness tells its time.
func fadeClip(t *testing.T, seconds int, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "fade.mp4")
	s := strconv.Itoa(seconds)
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "color=c=white:size=320x240:rate=25", "-t", s, "-vf", "fade=in:st=0:d=" + s,
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", path}
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("making the clip: %v: %s", err, out)
	}
	if len(extra) > 0 {
		out := filepath.Join(dir, "out.mp4")
		args := append(append([]string{"-hide_banner", "-loglevel", "error", "-y", "-i", path}, extra...), out)
		if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
			t.Fatalf("remuxing the clip: %v: %s", err, b)
		}
		path = out
	}
	return path
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	return img
}

// luma is the mean brightness (0–255) of r in img, a few pixels in from
// its edges.
func luma(img image.Image, r image.Rectangle) float64 {
	r = r.Inset(3)
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c, _, _, _ := img.At(x, y).RGBA()
			sum += float64(c >> 8)
			n++
		}
	}
	return sum / n
}

type cue struct {
	start, end string
	sheet      string
	x, y, w, h int
}

var cueRE = regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)\n(sprite-\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$`)

func readVTT(t *testing.T, path string) []cue {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(strings.TrimSpace(string(b)), "\n\n")
	if blocks[0] != "WEBVTT" {
		t.Fatalf("track starts %q", blocks[0])
	}
	var cues []cue
	for _, bl := range blocks[1:] {
		m := cueRE.FindStringSubmatch(bl)
		if m == nil {
			t.Fatalf("bad cue %q", bl)
		}
		n := func(s string) int { v, _ := strconv.Atoi(s); return v }
		cues = append(cues, cue{m[1], m[2], m[3], n(m[4]), n(m[5]), n(m[6]), n(m[7])})
	}
	return cues
}

func TestGenerateDefaults(t *testing.T) {
	in := fadeClip(t, 25)
	dir := t.TempDir()
	res, err := Generate(context.Background(), Options{}, in, 25*time.Second, dir)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	// 25 s / 100 is below the 1 s minimum: 25 thumbnails, 10 per row, 3 rows.
	if res.Poster != "poster.jpg" || res.VTT != "thumbnails.vtt" || len(res.Sprites) != 1 || res.Sprites[0] != "sprite-0.jpg" ||
		res.Width != 160 || res.Height != 120 || res.Interval != time.Second {
		t.Fatalf("result = %+v", res)
	}
	poster := decode(t, filepath.Join(dir, res.Poster))
	if b := poster.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("poster is %v, want 320x240", b)
	}
	// At 10 %: 2.5 s into a 25 s fade, about a tenth of the way to white.
	if l := luma(poster, poster.Bounds()); l < 15 || l > 45 {
		t.Errorf("poster brightness %.0f, want about 26 (a frame at 2.5 s)", l)
	}
	sheet := decode(t, filepath.Join(dir, "sprite-0.jpg"))
	if b := sheet.Bounds(); b.Dx() != 1600 || b.Dy() != 360 {
		t.Fatalf("sprite sheet is %v, want 1600x360", b)
	}
	cues := readVTT(t, filepath.Join(dir, res.VTT))
	if len(cues) != 25 {
		t.Fatalf("%d cues, want 25", len(cues))
	}
	for i, c := range cues {
		want := cue{
			start: fmt.Sprintf("00:00:%02d.000", i), end: fmt.Sprintf("00:00:%02d.000", i+1),
			sheet: "sprite-0.jpg", x: i % 10 * 160, y: i / 10 * 120, w: 160, h: 120,
		}
		if c != want {
			t.Errorf("cue %d = %+v, want %+v", i, c, want)
		}
		// The tile shows the frame at the cue's start.
		l := luma(sheet, image.Rect(c.x, c.y, c.x+c.w, c.y+c.h))
		if wantL := 255 * float64(i) / 25; l < wantL-8 || l > wantL+8 {
			t.Errorf("tile %d brightness %.0f, want about %.0f (a frame at %d s)", i, l, wantL, i)
		}
	}
	// The rest of the grid is empty.
	if l := luma(sheet, image.Rect(5*160, 2*120, 1600, 360)); l > 20 {
		t.Errorf("unused tiles have brightness %.0f", l)
	}
}

func TestGenerateRotatedSeveralSheets(t *testing.T) {
	// 12 s of portrait video (coded landscape, rotation metadata) in an
	// asset that lasts 13 s (its audio runs longer).
	in := fadeClip(t, 12, "-c", "copy", "-metadata:s:v", "rotate=90")
	dir := t.TempDir()
	opt := Options{Interval: 2 * time.Second, Width: 100, Columns: 3, Rows: 2}
	res, err := Generate(context.Background(), opt, in, 13*time.Second, dir)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	// 100 wide, 100*320/240 = 133.3 high, rounded to even: 134.
	if res.Width != 100 || res.Height != 134 || len(res.Sprites) != 2 {
		t.Fatalf("result = %+v, want 2 sheets of 100x134 thumbnails", res)
	}
	if b := decode(t, filepath.Join(dir, res.Poster)).Bounds(); b.Dx() != 240 || b.Dy() != 320 {
		t.Errorf("poster is %v, want 240x320", b)
	}
	for _, name := range res.Sprites {
		if b := decode(t, filepath.Join(dir, name)).Bounds(); b.Dx() != 300 || b.Dy() != 268 {
			t.Errorf("%s is %v, want 300x268", name, b)
		}
	}
	cues := readVTT(t, filepath.Join(dir, res.VTT))
	want := []cue{
		{"00:00:00.000", "00:00:02.000", "sprite-0.jpg", 0, 0, 100, 134},
		{"00:00:02.000", "00:00:04.000", "sprite-0.jpg", 100, 0, 100, 134},
		{"00:00:04.000", "00:00:06.000", "sprite-0.jpg", 200, 0, 100, 134},
		{"00:00:06.000", "00:00:08.000", "sprite-0.jpg", 0, 134, 100, 134},
		{"00:00:08.000", "00:00:10.000", "sprite-0.jpg", 100, 134, 100, 134},
		{"00:00:10.000", "00:00:12.000", "sprite-0.jpg", 200, 134, 100, 134},
		{"00:00:12.000", "00:00:13.000", "sprite-1.jpg", 0, 0, 100, 134},
	}
	if fmt.Sprint(cues) != fmt.Sprint(want) {
		t.Errorf("cues = %v\nwant   %v", cues, want)
	}
	// The thumbnail past the video's end repeats its last frame.
	last := decode(t, filepath.Join(dir, "sprite-1.jpg"))
	if l := luma(last, image.Rect(0, 0, 100, 134)); l < 200 {
		t.Errorf("last thumbnail brightness %.0f, want the nearly white last frame", l)
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Generate(context.Background(), Options{}, filepath.Join(dir, "missing.mp4"), 10*time.Second, dir); err == nil ||
		!strings.Contains(err.Error(), "ffmpeg") {
		t.Errorf("missing input: err = %v, want ffmpeg's error", err)
	}
	in := fadeClip(t, 3)
	if _, err := Generate(context.Background(), Options{}, in, 0, dir); err == nil {
		t.Error("unknown duration: want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Options{}, in, 3*time.Second, dir); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
}

func TestVTTTime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                       "00:00:00.000",
		1500 * time.Millisecond: "00:00:01.500",
		3*time.Hour + 2*time.Minute + 999*time.Millisecond + 600*time.Microsecond: "03:02:01.000",
	} {
		if got := vttTime(d); got != want {
			t.Errorf("vttTime(%v) = %s, want %s", d, got, want)
		}
	}
}

// TestGenerateRefusesPlaylist checks that the thumbnail runs open their
// input with the whitelists: a .mp4 that is an HLS playlist naming a real
// local video gives no images.
func TestGenerateRefusesPlaylist(t *testing.T) {
	real := fadeClip(t, 2)
	dir := t.TempDir()
	evil := filepath.Join(dir, "evil.mp4")
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nfile://" + real + "\n#EXT-X-ENDLIST\n"
	if err := os.WriteFile(evil, []byte(playlist), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err := Generate(context.Background(), Options{}, evil, 2*time.Second, out)
	if err == nil || !strings.Contains(err.Error(), "not on whitelist") {
		t.Fatalf("Generate = %v, want ffmpeg's whitelist refusal", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("images made from the playlist: %v", entries)
	}
}
