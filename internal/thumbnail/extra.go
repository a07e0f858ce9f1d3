package thumbnail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Extra is the poster and sprite sheets planned as extra outputs of an
// ffmpeg run that decodes the video anyway (the VoD transcode): they cost a
// scale and a JPEG per thumbnail instead of two more passes over the
// source. Attach Graph to a pad of the decoded, autorotated video, add
// OutputArgs after the run's other outputs, and call Finish when it has
// exited.
type Extra struct {
	opt      Options
	duration time.Duration
	dir      string
	grid     grid
	// posterAt is the output time of the poster frame: 10 % of the duration.
	posterAt time.Duration
}

// PlanExtra plans the thumbnails of a video of the given duration, to be
// written into dir (which must exist and be empty).
func PlanExtra(opt Options, duration time.Duration, dir string) (Extra, error) {
	if duration <= 0 {
		return Extra{}, errors.New("thumbnails: the video's duration is unknown")
	}
	opt.setDefaults(duration)
	return Extra{opt: opt, duration: duration, dir: dir, grid: layout(opt, duration), posterAt: duration / 10}, nil
}

// Graph is the filtergraph that takes the decoded video at pad in (a label
// without brackets) and makes the outputs [in_poster] and [in_thumbs]. The
// poster output gets the first frame and then the first frame at or after
// 10 % of the duration, at display size (capped at MaxPosterWidth), each
// written over the last: a video that ends early keeps its first frame.
// The thumbs output gets one frame per interval from 0 (the last repeated
// if the video ends early, so there are exactly n), which Finish tiles into
// sheets. Both outputs get a frame at once: ffmpeg reports no progress
// before every output has started.
func (e Extra) Graph(in string) string {
	at := strconv.FormatFloat(e.posterAt.Seconds(), 'f', 3, 64)
	return fmt.Sprintf("[%s]split=2[%s_p][%s_s];", in, in, in) +
		fmt.Sprintf("[%s_p]select='eq(n\\,0)+eq(selected_n\\,1)*gte(t\\,%s)',%s[%s_poster];", in, at, posterScale(), in) +
		fmt.Sprintf("[%s_s]%s[%s_thumbs]", in, thumbChain(e.opt, e.grid.n), in)
}

// thumbName is the pattern of the single thumbnails the run writes.
const thumbName = "thumb-%d.jpg"

// OutputArgs are the image outputs of the pads Graph(in) makes.
func (e Extra) OutputArgs(in string) []string {
	return []string{
		"-map", "[" + in + "_poster]", "-fps_mode", "passthrough", "-q:v", "2", "-update", "1", "-f", "image2",
		filepath.Join(e.dir, PosterName),
		"-map", "[" + in + "_thumbs]", "-fps_mode", "passthrough", "-q:v", "3", "-start_number", "0", "-f", "image2",
		filepath.Join(e.dir, thumbName),
	}
}

// Finish tiles the thumbnails the run wrote into sprite sheets (removing
// them), checks the poster and writes the thumbnails track.
func (e Extra) Finish(ctx context.Context) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if _, err := os.Stat(filepath.Join(e.dir, PosterName)); err != nil {
		return Result{}, errors.New("thumbnails: ffmpeg made no poster frame: the file has no decodable video")
	}
	if err := tileSheets(e.dir, thumbName, e.grid, e.opt.Width); err != nil {
		return Result{}, err
	}
	return finish(e.opt, e.dir, e.duration, e.grid)
}
