package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/packager/asset"
	"github.com/ospreyvideo/osprey/internal/probe"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/thumbnail"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// Share of the progress bar per stage: transcoding is nearly all the work.
const (
	transcodeShare = 92.0
	thumbsShare    = 6.0
)

// errNotProcessing ends an attempt whose asset was cancelled or deleted
// under it.
var errNotProcessing = errors.New("the asset is no longer processing")

// pipeline is one attempt at one asset.
type pipeline struct {
	s       *Service
	log     *slog.Logger
	id      string
	attempt int

	// times is when each phase of the attempt ended; the worker logs
	// them with the outcome.
	times phaseTimes

	mu           sync.Mutex
	lastSaved    time.Time
	lastProgress float64
	lastEvent    time.Time
	lastEventPct float64
}

// phaseTimes are the moments an attempt passes from one phase to the next.
type phaseTimes struct {
	created    time.Time // the asset's creation (catalog time)
	started    time.Time // the attempt began: the job was picked up
	probed     time.Time // ffprobe answered
	transcoded time.Time // ffmpeg has exited and the packager has ended
}

// logAttrs are the phases' durations for the attempt's last log line, as
// far as it got: queued (from the asset's creation to this attempt's
// start; retries included), probe, transcode (ffmpeg with the packaging
// of its output), and the rest until end (thumbnails, publish).
func (t phaseTimes) logAttrs(end time.Time) []any {
	var attrs []any
	add := func(name string, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() {
			attrs = append(attrs, name, to.Sub(from).Round(time.Millisecond))
		}
	}
	add("queued", t.created, t.started)
	add("probe", t.started, t.probed)
	add("transcode", t.probed, t.transcoded)
	add("finish", t.transcoded, end)
	return attrs
}

func (p *pipeline) run(ctx context.Context) error {
	s := p.s
	p.times.started = time.Now()
	a, err := p.update(ctx, func(a *catalog.Asset) {
		a.Status = catalog.AssetProcessing
		a.Stage = "probe"
		a.Progress = 0
		a.Error = ""
		a.Attempts = p.attempt
	})
	if err != nil {
		return err
	}
	p.times.created = a.CreatedAt
	src, release, err := s.sourceFile(ctx, a.Source.Key)
	if err != nil {
		return err
	}
	release = sync.OnceFunc(release)
	defer release()

	// probe
	info, err := probe.Probe(ctx, s.cfg.FFprobe, src)
	if err != nil {
		return fmt.Errorf("probing: %w", err)
	}
	p.times.probed = time.Now()
	p.log.Info("source probed", "probe", info.Summary())

	// plan
	plan, err := transcode.NewFilePlan(s.cfg.Ladder, info)
	if err != nil {
		return &probe.Error{Reason: "no rendition can be made of this file: " + err.Error(), Err: err}
	}
	if _, err := p.update(ctx, func(a *catalog.Asset) {
		a.Duration = info.Duration
		a.Source.Probe = info.Summary()
		a.Stage = "transcode"
	}); err != nil {
		return err
	}

	// transcode + package; leftovers of an interrupted attempt go first.
	prefix := Prefix(p.id)
	if err := s.cfg.Storage.DeletePrefix(ctx, prefix+"/"); err != nil {
		return fmt.Errorf("clearing earlier outputs: %w", err)
	}
	pkg, err := asset.New(ctx, s.cfg.Storage, prefix, asset.Config{SegmentDuration: s.cfg.SegmentDuration}, p.log)
	if err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	// The poster and sprites come out of the same ffmpeg, from the video
	// it decodes anyway; without a known duration, from runs of their own
	// afterwards.
	thumbDir, err := os.MkdirTemp(s.cfg.TempDir, p.id+"-")
	if err != nil {
		return fmt.Errorf("making thumbnails: %w", err)
	}
	defer os.RemoveAll(thumbDir)
	var extra *thumbnail.Extra
	if info.Video != nil {
		if x, err := thumbnail.PlanExtra(thumbnail.Options{FFmpeg: s.cfg.FFmpeg}, info.Declared(), thumbDir); err == nil {
			extra = &x
		}
	}
	job := transcode.FileJob{
		FFmpeg:  s.cfg.FFmpeg,
		Input:   src,
		Plan:    plan,
		Segment: s.cfg.SegmentDuration,
		Output:  &packagerOutput{pkg: pkg},
		// A source cut short (an interrupted upload whose index survived)
		// fails rather than becoming a shorter asset.
		Expected: info.Declared(),
		Progress: func(done time.Duration) {
			if info.Duration > 0 {
				p.progress(ctx, transcodeShare*min(1, done.Seconds()/info.Duration.Seconds()))
			}
		},
		Log: p.log,
	}
	if extra != nil {
		job.Extra = extra
	}
	if err := transcode.RunFile(ctx, job); err != nil {
		return fmt.Errorf("transcoding: %w", err)
	}
	if err := pkg.End(ctx); err != nil {
		return fmt.Errorf("packaging: %w", err)
	}
	p.times.transcoded = time.Now()
	res := pkg.Result()

	// thumbnails
	out := catalog.AssetOutput{}
	if info.Video != nil {
		if _, err := p.update(ctx, func(a *catalog.Asset) { a.Stage = "thumbnails"; a.Progress = transcodeShare }); err != nil {
			return err
		}
		if out, err = p.thumbnails(ctx, src, res.Duration, thumbDir, extra); err != nil {
			return fmt.Errorf("making thumbnails: %w", err)
		}
	}

	// publish: the source is not read any more; its scratch copy (if
	// any) and the thumbnails' scratch folder go before the asset is
	// ready, so that a ready asset has left nothing behind.
	release()
	_ = os.RemoveAll(thumbDir)
	for _, r := range res.Renditions {
		out.Renditions = append(out.Renditions, catalog.AssetRendition{
			Name: r.Name, Kind: r.Kind, Codec: r.Codec, Width: r.Width, Height: r.Height,
			Bitrate: r.Bitrate, Language: r.Language,
		})
	}
	if _, err := p.update(ctx, func(a *catalog.Asset) { a.Stage = "publish"; a.Progress = transcodeShare + thumbsShare }); err != nil {
		return err
	}
	a, err = s.publishAndMarkReady(ctx, p, out, res.Duration)
	if err != nil {
		return err
	}
	s.emit(ctx, eventReady, a)
	return nil
}

// publishAndMarkReady writes the asset's subtitles into its manifests and
// marks it ready, under the asset's subMu lock: a track added meanwhile
// (AddSubtitle takes it too) is either published here or, the asset being
// ready by then, by AddSubtitle itself. None is stored without being
// listed. Other assets' publications and subtitles do not wait.
func (s *Service) publishAndMarkReady(ctx context.Context, p *pipeline, out catalog.AssetOutput, duration time.Duration) (catalog.Asset, error) {
	unlock, err := s.subMu.lock(ctx, p.id)
	if err != nil {
		return catalog.Asset{}, err
	}
	defer unlock()
	a, err := s.cfg.Catalog.GetAsset(ctx, p.id)
	if errors.Is(err, catalog.ErrNotFound) {
		return catalog.Asset{}, fmt.Errorf("asset %s: %w: %w", p.id, errNotProcessing, errCancelledErr(ctx))
	}
	if err != nil {
		return catalog.Asset{}, err
	}
	if len(a.Output.Subtitles) > 0 {
		if err := s.copySubtitles(ctx, a); err != nil {
			return catalog.Asset{}, err
		}
		if err := s.publishSubtitles(ctx, a); err != nil {
			return catalog.Asset{}, err
		}
	}
	return p.update(ctx, func(x *catalog.Asset) {
		out.Subtitles = x.Output.Subtitles // the same as a's: the asset's lock is held
		x.Output = out
		x.Status = catalog.AssetReady
		x.Stage = ""
		x.Progress = 100
		x.Duration = duration
		x.ReadyAt = s.cfg.Now().UTC()
	})
}

// sourceFile returns a local path of the source under key for ffprobe and
// ffmpeg: the stored file itself on a FileStore, else a scratch copy that
// release removes.
func (s *Service) sourceFile(ctx context.Context, key string) (path string, release func(), err error) {
	if fstore, ok := s.cfg.Storage.(storage.FileStore); ok {
		path, err := fstore.LocalPath(key)
		if err != nil {
			return "", nil, &probe.Error{Reason: "the source file is missing from storage", Err: err}
		}
		return path, func() {}, nil
	}
	path, release, err = s.scratch.fetch(ctx, s.cfg.Storage, key, filepath.Base(filepath.Dir(key)))
	if err != nil {
		return "", nil, fmt.Errorf("fetching the source: %w", err)
	}
	return path, release, nil
}

// update changes the asset if it is still processing (or queued for this
// attempt); a cancelled or deleted asset ends the attempt.
func (p *pipeline) update(ctx context.Context, fn func(*catalog.Asset)) (catalog.Asset, error) {
	a, err := p.s.cfg.Catalog.UpdateAsset(ctx, p.id, func(a *catalog.Asset) error {
		if a.Status != catalog.AssetQueued && a.Status != catalog.AssetProcessing {
			return errNotProcessing
		}
		fn(a)
		return nil
	})
	if errors.Is(err, errNotProcessing) || errors.Is(err, catalog.ErrNotFound) {
		return a, fmt.Errorf("asset %s: %w: %w", p.id, errNotProcessing, errCancelledErr(ctx))
	}
	return a, err
}

// errCancelledErr is the error to wrap when the asset went away under the
// attempt: the context's cause if it has one.
func errCancelledErr(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return errCancelled
}

// progress records transcoding progress: in the catalog at most every
// second, as an event at most every ProgressEvery and 10 %.
func (p *pipeline) progress(ctx context.Context, pct float64) {
	p.mu.Lock()
	now := time.Now()
	save := now.Sub(p.lastSaved) >= time.Second && pct-p.lastProgress >= 0.1
	event := now.Sub(p.lastEvent) >= p.s.cfg.ProgressEvery && pct-p.lastEventPct >= 10
	if save {
		p.lastSaved, p.lastProgress = now, pct
	}
	if event {
		p.lastEvent, p.lastEventPct = now, pct
	}
	p.mu.Unlock()
	if !save && !event {
		return
	}
	a, err := p.update(ctx, func(a *catalog.Asset) { a.Progress = float64(int(pct*10)) / 10 })
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("recording progress", "error", err)
		}
		return
	}
	if event {
		p.s.emit(ctx, eventProgress, a)
	}
}

// thumbnails finishes the poster, sprites and thumbnails track in dir
// (made by the transcode when extra is set, else by ffmpeg runs of their
// own now) and stores them under thumbs/.
func (p *pipeline) thumbnails(ctx context.Context, src string, duration time.Duration, dir string, extra *thumbnail.Extra) (catalog.AssetOutput, error) {
	var (
		res thumbnail.Result
		err error
	)
	if extra != nil {
		res, err = extra.Finish(ctx)
	} else {
		res, err = thumbnail.Generate(ctx, thumbnail.Options{FFmpeg: p.s.cfg.FFmpeg}, src, duration, dir)
	}
	if err != nil {
		return catalog.AssetOutput{}, err
	}
	return StoreThumbnails(ctx, p.s.cfg.Storage, Prefix(p.id), dir, res)
}

// StoreThumbnails stores the files of res, made in dir, under the asset
// prefix's thumbs/, and returns the asset's outputs naming them.
func StoreThumbnails(ctx context.Context, store storage.Store, prefix, dir string, res thumbnail.Result) (catalog.AssetOutput, error) {
	for _, name := range append([]string{res.Poster, res.VTT}, res.Sprites...) {
		if name == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return catalog.AssetOutput{}, err
		}
		if err := store.Put(ctx, prefix+"/thumbs/"+name, data); err != nil {
			return catalog.AssetOutput{}, fmt.Errorf("storing thumbnail %s: %w", name, err)
		}
	}
	out := catalog.AssetOutput{Thumbnails: "thumbs/" + res.VTT}
	if res.Poster != "" {
		out.Poster = "thumbs/" + res.Poster
	}
	if len(res.Sprites) > 0 {
		out.Sprite = "thumbs/" + res.Sprites[0]
	}
	return out, nil
}

// discardOutputs removes what an attempt that will not be retried stored.
func (p *pipeline) discardOutputs(ctx context.Context) {
	if err := p.s.cfg.Storage.DeletePrefix(ctx, Prefix(p.id)+"/"); err != nil {
		p.log.Error("removing the outputs of a failed asset", "error", err)
	}
}

// packagerOutput adapts the VOD packager to the transcoder's Output.
type packagerOutput struct {
	pkg *asset.Packager
}

func (o *packagerOutput) Begin(rs []transcode.Rendition) error {
	prs := make([]packager.Rendition, len(rs))
	for i, r := range rs {
		prs[i] = packager.Rendition{Name: r.Name, Track: r.Track, Bitrate: r.Bitrate, MaxBitrate: r.MaxBitrate,
			Language: r.Language, Label: r.Label, Default: r.Default}
	}
	return o.pkg.Begin(prs)
}

func (o *packagerOutput) WriteUnit(i int, u *media.Unit) error { return o.pkg.WriteUnit(i, u) }
