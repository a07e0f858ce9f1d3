package thumbnail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/probe"
)

// sprites makes the sprite sheets with one ffmpeg run: keyframes only,
// one frame per interval from 0 (the last one repeated if the video ends
// early, so there are exactly n), scaled to square pixels at the
// thumbnail width, tiled cols x rows per sheet.
func sprites(ctx context.Context, opt Options, input string, g grid, pattern string) error {
	graph := spriteChain(opt, g)
	args := append([]string{"-skip_frame", "nokey"}, probe.InputArgs(input)...)
	return run(ctx, opt.FFmpeg, append(args,
		"-map", "0:V:0", "-vf", graph, "-fps_mode", "passthrough",
		"-q:v", "4", "-start_number", "0", "-f", "image2", pattern)...)
}

// poster writes one frame at 10 % of the duration (or the first frame, if
// the video stream ends before that), at display size capped at
// MaxPosterWidth wide.
func poster(ctx context.Context, ffmpeg, input string, duration time.Duration, path string) error {
	scale := posterScale()
	for _, at := range []time.Duration{duration / 10, 0} {
		args := append([]string{"-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64)}, probe.InputArgs(input)...)
		err := run(ctx, ffmpeg, append(args,
			"-map", "0:V:0", "-frames:v", "1", "-vf", scale, "-q:v", "2", "-update", "1", "-f", "image2", path)...)
		if err != nil {
			return err
		}
		if _, err := os.Stat(path); err == nil {
			return nil
		}
	}
	return errors.New("thumbnails: ffmpeg made no poster frame: the file has no decodable video")
}

// spriteChain is the filter chain from decoded video to sprite sheets:
// one frame per interval from 0 (the last one repeated if the video ends
// early, so there are exactly n), scaled to square pixels at the thumbnail
// width, tiled cols x rows per sheet.
func spriteChain(opt Options, g grid) string {
	return thumbChain(opt, g.n) + fmt.Sprintf(",tile=%dx%d", g.cols, g.rows)
}

// thumbChain is the filter chain from decoded video to thumbnails: one
// frame per interval from 0 (the last one repeated if the video ends
// early, so there are exactly n), scaled to square pixels at the thumbnail
// width.
func thumbChain(opt Options, n int) string {
	return fmt.Sprintf("fps=1000/%d:start_time=0:eof_action=pass,tpad=stop_mode=clone:stop=%d,trim=end_frame=%d,"+
		"scale=w=%d:h=max(2\\,trunc(ow/dar/2+0.5)*2),setsar=1",
		opt.Interval.Milliseconds(), n, n, opt.Width)
}

// posterScale scales a frame to display size (square pixels), at most
// MaxPosterWidth wide.
func posterScale() string {
	return fmt.Sprintf("scale=w='min(%d,max(2,trunc(iw*sar/2+0.5)*2))':h='max(2,trunc(ow/dar/2+0.5)*2)',setsar=1", MaxPosterWidth)
}

// run runs ffmpeg to completion; its error carries ffmpeg's last lines.
func run(ctx context.Context, ffmpeg string, args ...string) error {
	args = append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, args...)
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("thumbnails: ffmpeg: %w: %s", err, lastLines(stderr.String(), 4))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
