// Package thumbnail makes the still images of a video asset with ffmpeg: a
// poster frame, sprite sheets of small thumbnails at a regular interval,
// and the WebVTT thumbnails track that tells players which tile of which
// sheet shows each moment (the "#xywh=" media fragment convention).
//
// It decodes as little as it can: the sprites come from the keyframes only
// (-skip_frame nokey), the poster from a fast seek. So a thumbnail shows
// the keyframe nearest its time: exact for sources with a keyframe at
// least every interval, up to half a GOP off otherwise. Rotation is
// honoured (ffmpeg's autorotate) and non-square pixels are scaled to square.
//
// When another ffmpeg decodes the video anyway (the VoD transcode), Extra
// makes the same files as extra outputs of that run instead, from every
// decoded frame (so each thumbnail is the exact frame at its time): a
// scale and a JPEG per thumbnail, tiled into sheets afterwards in Go.
package thumbnail

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of the sprite sheets
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Options tunes Generate. Zero values take the defaults.
type Options struct {
	FFmpeg   string        // ffmpeg binary; default "ffmpeg"
	Interval time.Duration // between thumbnails; 0: duration/100 within [1 s, 10 s]
	Width    int           // thumbnail width; default 160 (height keeps the aspect, even)
	// Tiles per sprite sheet; default 10x10. A video with fewer
	// thumbnails than a sheet holds gets a sheet of as many rows as it needs.
	Columns, Rows int
}

// Result names the files Generate wrote, relative to its directory.
type Result struct {
	Poster        string   // "poster.jpg": display size, at most 1280 wide
	Sprites       []string // "sprite-0.jpg", "sprite-1.jpg", ...
	VTT           string   // "thumbnails.vtt"
	Width, Height int      // of one thumbnail
	Interval      time.Duration
}

// File names Generate writes.
const (
	PosterName = "poster.jpg"
	VTTName    = "thumbnails.vtt"
)

// MaxPosterWidth caps the poster's width; narrower video keeps its size.
const MaxPosterWidth = 1280

func (o *Options) setDefaults(duration time.Duration) {
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Interval <= 0 {
		o.Interval = min(max(duration/100, time.Second), 10*time.Second)
	}
	if o.Width <= 0 {
		o.Width = 160
	}
	o.Width = max(o.Width&^1, 2)
	if o.Columns <= 0 {
		o.Columns = 10
	}
	if o.Rows <= 0 {
		o.Rows = 10
	}
}

// Generate writes the poster, sprite sheets and thumbnails track of the
// video at input (a local file of the given duration) into dir, with two
// ffmpeg runs side by side. The track's cues cover [0, duration) exactly.
func Generate(ctx context.Context, opt Options, input string, duration time.Duration, dir string) (Result, error) {
	if duration <= 0 {
		return Result{}, errors.New("thumbnails: the video's duration is unknown")
	}
	opt.setDefaults(duration)
	g := layout(opt, duration)

	var wg sync.WaitGroup
	var posterErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		posterErr = poster(ctx, opt.FFmpeg, input, duration, filepath.Join(dir, PosterName))
	}()
	spriteErr := sprites(ctx, opt, input, g, filepath.Join(dir, "sprite-%d.jpg"))
	wg.Wait()
	if err := errors.Join(spriteErr, posterErr); err != nil {
		return Result{}, err
	}

	return finish(opt, dir, duration, g)
}

// grid is how the thumbnails of a video are laid out in sprite sheets.
type grid struct {
	n          int // thumbnails, one per interval from 0, the last one possibly shorter
	cols, rows int // tiles per sheet
	sheets     int
}

// perSheet is the number of tiles a sheet holds.
func (g grid) perSheet() int { return g.cols * g.rows }

// layout lays out the thumbnails of a video of the given duration (> 0)
// with opt's defaults set: one per interval, cols x rows per sheet, or
// fewer rows when fewer are needed. Generate and PlanExtra both use it.
func layout(opt Options, duration time.Duration) grid {
	g := grid{n: int((duration + opt.Interval - 1) / opt.Interval)}
	g.cols = min(opt.Columns, g.n)
	g.rows = min(opt.Rows, (g.n+g.cols-1)/g.cols)
	g.sheets = (g.n + g.perSheet() - 1) / g.perSheet()
	return g
}

// finish checks the sprite sheets ffmpeg wrote into dir and writes the
// thumbnails track beside them.
func finish(opt Options, dir string, duration time.Duration, g grid) (Result, error) {
	cols, rows, sheets := g.cols, g.rows, g.sheets
	res := Result{Poster: PosterName, VTT: VTTName, Interval: opt.Interval}
	for i := range sheets {
		res.Sprites = append(res.Sprites, "sprite-"+strconv.Itoa(i)+".jpg")
	}
	// The tile size is what ffmpeg made of the display aspect ratio: read
	// it back from the first sheet (tile adds no margin or padding).
	w, h, err := imageSize(filepath.Join(dir, res.Sprites[0]))
	if err != nil {
		return Result{}, fmt.Errorf("thumbnails: %w", err)
	}
	if w != cols*opt.Width || h%rows != 0 {
		return Result{}, fmt.Errorf("thumbnails: sprite sheet is %dx%d, want %d columns of %d pixels and %d rows", w, h, cols, opt.Width, rows)
	}
	res.Width, res.Height = opt.Width, h/rows
	for _, name := range res.Sprites[1:] {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return Result{}, fmt.Errorf("thumbnails: ffmpeg made fewer sprite sheets than %d: %w", sheets, err)
		}
	}
	vtt := buildVTT(g.n, cols, g.perSheet(), res.Width, res.Height, opt.Interval, duration, res.Sprites)
	if err := os.WriteFile(filepath.Join(dir, VTTName), vtt, 0o644); err != nil {
		return Result{}, fmt.Errorf("thumbnails: %w", err)
	}
	return res, nil
}

func imageSize(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("reading %s: %w", filepath.Base(path), err)
	}
	return cfg.Width, cfg.Height, nil
}
