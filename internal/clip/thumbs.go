package clip

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/thumbnail"
	"github.com/ospreyvideo/osprey/internal/vod"
)

// thumbnails makes the poster, sprite sheets and thumbnails track of the
// clip from its smallest video rendition (init + media segments joined
// into one fragmented MP4 in a scratch directory: ffmpeg decodes it as
// the VoD pipeline's thumbnails do a source) and stores them under
// dst/thumbs/. Only the segments of the first init version count: the
// track covers the clip up to a change of encoder settings.
func (s *Service) thumbnails(ctx context.Context, v *manifest.View, dst string) (catalog.AssetOutput, error) {
	name := smallestVideo(v)
	if name == "" {
		return catalog.AssetOutput{}, errors.New("no video rendition")
	}
	dir, err := os.MkdirTemp(s.cfg.TempDir, "clip-thumbs-")
	if err != nil {
		return catalog.AssetOutput{}, fmt.Errorf("making a scratch directory: %w", err)
	}
	defer os.RemoveAll(dir)
	input := filepath.Join(dir, "video.mp4")
	dur, err := s.joinSegments(ctx, v, name, dst, input)
	if err != nil {
		return catalog.AssetOutput{}, err
	}
	res, err := thumbnail.Generate(ctx, thumbnail.Options{FFmpeg: s.cfg.FFmpeg}, input, dur, dir)
	if err != nil {
		return catalog.AssetOutput{}, err
	}
	return vod.StoreThumbnails(ctx, s.cfg.Storage, dst, dir, res)
}

// smallestVideo is the video rendition with the fewest lines.
func smallestVideo(v *manifest.View) string {
	best, h := "", 0
	for _, t := range v.Tracks {
		if ri := v.Rends[t.Name]; t.Kind == media.Video && ri != nil && (best == "" || ri.Height < h) {
			best, h = t.Name, ri.Height
		}
	}
	return best
}

// joinSegments writes rendition name's init segment and its media
// segments of the same init version, read back from the asset, into path,
// and returns the duration they cover.
func (s *Service) joinSegments(ctx context.Context, v *manifest.View, name, dst, path string) (time.Duration, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var (
		initV   uint64
		started bool
		first   uint64
		end     uint64
		ts      uint32
	)
	for _, r := range v.Window {
		e := r.Entry(name)
		if e == nil || e.Gap {
			continue
		}
		if !started {
			initV, started, first, ts = r.InitV, true, e.T, e.TS
			data, err := read(ctx, s.cfg.Storage, manifest.JoinKey(dst, manifest.InitKey(name, initV)))
			if err != nil {
				return 0, err
			}
			if _, err := f.Write(data); err != nil {
				return 0, err
			}
		}
		if r.InitV != initV {
			break
		}
		data, err := read(ctx, s.cfg.Storage, manifest.JoinKey(dst, manifest.SegmentKey(name, r.N)))
		if err != nil {
			return 0, err
		}
		if _, err := f.Write(data); err != nil {
			return 0, err
		}
		end = e.T + e.D
	}
	if !started {
		return 0, errors.New("no video segment")
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return timeline.Duration(end-first, ts), nil
}
