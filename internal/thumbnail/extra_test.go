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
