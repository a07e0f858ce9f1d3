package clip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Notifier sends events to webhooks (webhook.Notifier).
type Notifier interface {
	Emit(ctx context.Context, eventType string, data any) error
}

// Event types, the same as the VoD pipeline's.
const (
	eventCreated = "asset.created"
	eventReady   = "asset.ready"
	eventFailed  = "asset.failed"
)

// Asset source origins of the assets this package makes.
const (
	OriginClip   = "clip"   // POST /api/v1/channels/{id}/clips
	OriginRecord = "record" // a recorded session (record: true)
)

// errNotProcessing: the asset was cancelled (or failed) meanwhile.
var errNotProcessing = errors.New("clip: the asset is no longer processing")

// stageClip is the asset's stage while its segments are copied.
const stageClip = "clip"

// Config is what a Service needs.
type Config struct {
	Catalog catalog.Store
	Storage storage.Store
	// Span reads spans of the DVR index; nil: Index{Storage}.
	Span    Spanner
	Notify  Notifier                // nil: no events
	Present func(catalog.Asset) any // an asset as event payloads show it; nil: the raw struct
	FFmpeg  string                  // for thumbnails; "" means "ffmpeg"
	TempDir string                  // scratch for thumbnails; "" means os.TempDir()
	Log     *slog.Logger
	Now     func() time.Time
}

// Service makes clips and recordings. Its methods run to completion in
// the caller's goroutine (copies run on a few goroutines they wait for).
type Service struct {
	cfg   Config
	log   *slog.Logger
	index Index
	// heartbeatEvery and abandonedAfter are the package's constants;
	// tests shorten them.
	heartbeatEvery, abandonedAfter time.Duration
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Catalog == nil || cfg.Storage == nil {
		return nil, errors.New("clip: a catalog and a store are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("component", "clip"), index: Index{Store: cfg.Storage},
		heartbeatEvery: heartbeatEvery, abandonedAfter: abandonedAfter}
	if s.cfg.Span == nil {
		s.cfg.Span = s.index
	}
	return s, nil
}

// Result is a clip or recording made: its asset (ready) and the span it
// holds, from the start of its first segment to the end of its last.
type Result struct {
	Asset      catalog.Asset
	Start, End time.Time
}

// Request is a clip to make.
type Request struct {
	Start, End time.Time
	Title      string // "" names it after the channel and the span
}

// LivePrefix is the storage prefix of a channel's live media (the layout
// of internal/live).
func LivePrefix(channelID string) string { return "live/" + channelID }

// AssetPrefix is the storage prefix of an asset (the layout of
// internal/vod).
func AssetPrefix(id string) string { return "vod/" + id }

// Clip makes an asset of the channel's span [req.Start, req.End): it reads
// the span (ErrNeverLive, *WindowError before any asset exists), creates
// the asset (processing, asset.created), copies the segments, writes the
// manifests and thumbnails and marks it ready (asset.ready). It returns
// the ready asset. A failure after the asset exists marks it failed (with
// asset.failed) and removes what was stored. ctx should not be a client's
// request context: an interrupted clip is left failed.
func (s *Service) Clip(ctx context.Context, channelID string, req Request) (Result, error) {
	if !req.End.After(req.Start) {
		return Result{}, errors.New("clip: the end must be after the start")
	}
	v, err := s.cfg.Span.Span(ctx, LivePrefix(channelID), req.Start, req.End)
	if err != nil {
		return Result{}, err
	}
	v = Select(v, req.Start, req.End)
	if len(v.Window) == 0 {
		return Result{}, fmt.Errorf("clip: no stored segment of %s overlaps the span", channelID)
	}
	title := req.Title
	if title == "" {
		title = fmt.Sprintf("Clip of %s, %s", channelID, req.Start.UTC().Format(time.RFC3339))
	}
	return s.make(ctx, channelID, v, req.End, title, OriginClip)
}

// Record makes an asset of every kept segment of the channel's session in
// directory dir ("s{k}"; "" means the newest session), titled after the
// channel name and the session's start. The session-end path calls it
// once the session's manifests (and its DVR index) are ended.
func (s *Service) Record(ctx context.Context, ch catalog.Channel, dir string) (Result, error) {
	v, err := s.index.Session(ctx, LivePrefix(ch.ID), dir)
	if err != nil {
		return Result{}, err
	}
	from, _ := Bounds(v)
	title := fmt.Sprintf("%s, %s", ch.Name, from.UTC().Format(time.RFC3339))
	return s.make(ctx, ch.ID, v, time.Time{}, title, OriginRecord)
}

// make creates the asset of v's segments and builds it.
func (s *Service) make(ctx context.Context, channelID string, v *manifest.View, end time.Time, title, origin string) (Result, error) {
	now := s.cfg.Now().UTC()
	a := catalog.Asset{ID: catalog.NewID("as_"), Title: title, Status: catalog.AssetProcessing, Stage: stageClip,
		Source: catalog.AssetSource{Origin: origin, Filename: channelID}, CreatedAt: now, UpdatedAt: now}
	if err := s.cfg.Catalog.CreateAsset(ctx, a, nil); err != nil {
		return Result{}, fmt.Errorf("clip: creating the asset: %w", err)
	}
	log := s.log.With("asset", a.ID, "channel", channelID, "origin", origin)
	s.emit(ctx, eventCreated, a)
	started := time.Now()
	stopHeartbeat := s.heartbeat(ctx, a.ID, log)
	out, cv, base, err := s.build(ctx, a.ID, channelID, v, end, log)
	stopHeartbeat()
	if err == nil {
		a, err = s.cfg.Catalog.UpdateAsset(ctx, a.ID, func(x *catalog.Asset) error {
			if x.Status != catalog.AssetProcessing {
				return fmt.Errorf("asset %s is %s now: %w", x.ID, x.Status, errNotProcessing)
			}
			x.Output, x.Duration = out, cv.Duration()
			x.Status, x.Stage, x.Progress = catalog.AssetReady, "", 100
			x.ReadyAt = s.cfg.Now().UTC()
			return nil
		})
	}
	if err != nil {
		s.fail(ctx, a.ID, err, log)
		return Result{}, err
	}
	log.Info("clip ready", "duration", a.Duration, "segments", len(cv.Window), "took", time.Since(started))
	s.emit(ctx, eventReady, a)
	from, to := Bounds(cv) // media time of the clip: from 0
	from, to = from.Add(base), to.Add(base)
	return Result{Asset: a, Start: from, End: to}, nil
}

// build copies and publishes the asset, then makes its thumbnails.
func (s *Service) build(ctx context.Context, id, channelID string, v *manifest.View, end time.Time, log *slog.Logger) (catalog.AssetOutput, *manifest.View, time.Duration, error) {
	dst := AssetPrefix(id)
	cv, base, err := Build(ctx, s.cfg.Storage, LivePrefix(channelID), v, dst, end, s.cfg.Now(), log)
	if err != nil {
		return catalog.AssetOutput{}, nil, 0, err
	}
	out := catalog.AssetOutput{Renditions: renditions(cv)}
	thumbs, err := s.thumbnails(ctx, cv, dst)
	if err != nil {
		// Best effort: a clip plays without them.
		log.Warn("clip: no thumbnails", "error", err)
	} else {
		out.Poster, out.Sprite, out.Thumbnails = thumbs.Poster, thumbs.Sprite, thumbs.Thumbnails
	}
	return out, cv, base, nil
}

// fail marks the asset failed and removes what was stored for it.
func (s *Service) fail(ctx context.Context, id string, cause error, log *slog.Logger) {
	ctx = context.WithoutCancel(ctx)
	log.Error("clip failed", "error", cause)
	if err := s.cfg.Storage.DeletePrefix(ctx, AssetPrefix(id)+"/"); err != nil {
		log.Error("clip: removing the outputs of a failed clip", "error", err)
	}
	a, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(x *catalog.Asset) error {
		if x.Status != catalog.AssetProcessing {
			return errNotProcessing // cancelled meanwhile: its reason stays
		}
		x.Status, x.Stage = catalog.AssetFailed, ""
		x.Error = "the clip could not be made from the stored segments; see the server log"
		return nil
	})
	if err != nil {
		if !errors.Is(err, catalog.ErrNotFound) && !errors.Is(err, errNotProcessing) {
			log.Error("clip: marking the asset failed", "error", err)
		}
		return
	}
	s.emit(ctx, eventFailed, a)
}

func (s *Service) emit(ctx context.Context, typ string, a catalog.Asset) {
	if s.cfg.Notify == nil {
		return
	}
	var data any = a
	if s.cfg.Present != nil {
		data = s.cfg.Present(a)
	}
	if err := s.cfg.Notify.Emit(context.WithoutCancel(ctx), typ, data); err != nil {
		s.log.Error("queueing a webhook event", "event", typ, "asset", a.ID, "error", err)
	}
}

// renditions describes the clip's renditions as the catalog keeps them.
func renditions(v *manifest.View) []catalog.AssetRendition {
	var out []catalog.AssetRendition
	for _, t := range v.Tracks {
		ri := v.Rends[t.Name]
		out = append(out, catalog.AssetRendition{Name: t.Name, Kind: t.Kind.String(), Codec: ri.Codecs,
			Width: ri.Width, Height: ri.Height, Bitrate: ri.Average, Language: ri.Language})
	}
	return out
}
