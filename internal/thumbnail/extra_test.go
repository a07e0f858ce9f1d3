package thumbnail

import (
	"bytes"
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// runWithExtra runs one ffmpeg that decodes input into a null "rendition"
// and, from the same decode, the Extra outputs: what the VoD transcode does.
func runWithExtra(t *testing.T, input string, e Extra) {
	t.Helper()
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", "file:" + input,
		"-filter_complex", "[0:V:0]split=2[rung][thumbs];" + e.Graph("thumbs"),
		"-map", "[rung]", "-f", "null", "-"}
	args = append(args, e.OutputArgs("thumbs")...)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %q: %v: %s", args, err, out)
	}
}

// TestExtraMatchesGenerate checks that thumbnails made as extra outputs of
// another run are those Generate makes in runs of its own: same poster
// moment, same sheets and tile sizes, the same track.
func TestExtraMatchesGenerate(t *testing.T) {
	in := fadeClip(t, 25)
	genDir, extraDir := t.TempDir(), t.TempDir()
	want, err := Generate(context.Background(), Options{}, in, 25*time.Second, genDir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := PlanExtra(Options{}, 25*time.Second, extraDir)
	if err != nil {
		t.Fatal(err)
	}
	runWithExtra(t, in, e)
	got, err := e.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Poster != want.Poster || got.VTT != want.VTT || len(got.Sprites) != len(want.Sprites) ||
		got.Width != want.Width || got.Height != want.Height || got.Interval != want.Interval {
		t.Fatalf("Extra made %+v, Generate %+v", got, want)
	}
	for _, name := range []string{want.VTT} {
		a, _ := os.ReadFile(filepath.Join(genDir, name))
		b, _ := os.ReadFile(filepath.Join(extraDir, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs:\n%s\nwant\n%s", name, b, a)
		}
	}
	// The poster is the frame at 10 %: 2.5 s into the 25 s fade.
	poster := decode(t, filepath.Join(extraDir, got.Poster))
	if b := poster.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("poster is %v, want 320x240", b)
	}
	if l := luma(poster, poster.Bounds()); l < 15 || l > 45 {
		t.Errorf("poster brightness %.0f, want about 26", l)
	}
	// Every tile shows the frame at its cue's start, as Generate's do.
	sheet := decode(t, filepath.Join(extraDir, "sprite-0.jpg"))
	for i := range 25 {
		r := image.Rect(i%10*160, i/10*120, i%10*160+160, i/10*120+120)
		if l, wantL := luma(sheet, r), 255*float64(i)/25; l < wantL-8 || l > wantL+8 {
			t.Errorf("tile %d brightness %.0f, want about %.0f", i, l, wantL)
		}
	}
}

// TestExtraPosterFallback: a video stream that ends before its poster time
// (audio runs longer) gets its first frame as the poster.
func TestExtraPosterFallback(t *testing.T) {
	in := fadeClip(t, 2)
	dir := t.TempDir()
	e, err := PlanExtra(Options{}, 40*time.Second, dir) // the container says 40 s; the video has 2
	if err != nil {
		t.Fatal(err)
	}
	runWithExtra(t, in, e)
	res, err := e.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, res.Poster)); err != nil {
		t.Fatalf("no poster: %v", err)
	}
}

// TestLayout checks how thumbnails are laid out in sheets, the one place
// Generate and PlanExtra take it from.
func TestLayout(t *testing.T) {
	tests := []struct {
		duration, interval time.Duration
		want               grid
	}{
		{20 * time.Second, time.Second, grid{n: 20, cols: 10, rows: 2, sheets: 1}},
		{3 * time.Second, time.Second, grid{n: 3, cols: 3, rows: 1, sheets: 1}},
		{2500 * time.Millisecond, time.Second, grid{n: 3, cols: 3, rows: 1, sheets: 1}}, // the last one shorter
		{100 * time.Second, time.Second, grid{n: 100, cols: 10, rows: 10, sheets: 1}},
		{101 * time.Second, time.Second, grid{n: 101, cols: 10, rows: 10, sheets: 2}},
		{2000 * time.Second, 10 * time.Second, grid{n: 200, cols: 10, rows: 10, sheets: 2}},
	}
	for _, tt := range tests {
		opt := Options{Interval: tt.interval}
		opt.setDefaults(tt.duration)
		if got := layout(opt, tt.duration); got != tt.want {
			t.Errorf("layout(%v every %v) = %+v, want %+v", tt.duration, tt.interval, got, tt.want)
		}
		e, err := PlanExtra(Options{Interval: tt.interval}, tt.duration, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if e.grid != tt.want {
			t.Errorf("PlanExtra(%v every %v) lays out %+v, want %+v", tt.duration, tt.interval, e.grid, tt.want)
		}
	}
}
