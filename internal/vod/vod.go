// Package vod is the video-on-demand pipeline: it turns a source file into an
// asset with an adaptive stream, thumbnails and notifications.
//
// CreateAsset stores the source (sources/{id}/source), inserts the asset row,
// its processing job and its asset.created deliveries in one catalog
// transaction. ImportURL creates an asset importing from a URL at once; a
// job (queue "imports") downloads the source, then queues its processing
// the same way. The processing job (River, queue "vod") runs the stages:
//
//	probe       ffprobe: duration, streams, rotation; bad files fail here for good
//	plan        the ladder for this source (never upscaled, aspect kept)
//	transcode   one ffmpeg: decode once, every rung, keyframes on the segment grid,
//	            packaged as it goes by the same CMAF packager the live path uses
//	            (VOD timeline): segments under vod/{id}/; the same ffmpeg writes
//	            the poster and sprite sheets from the video it decodes
//	thumbnails  the WebVTT thumbnails track; poster and sprites stored
//	publish     manifests (HLS VOD playlists, static MPD), asset ready, asset.ready
//
// Progress (percent, from ffmpeg's -progress) is written to the asset while
// it runs and sent as throttled asset.progress events. A failed attempt is
// retried with backoff up to the configured attempts; a file that cannot be
// processed (not a video, damaged, too large a frame) fails at once with a
// reason a person understands. An attempt starts by deleting whatever an
// interrupted earlier attempt left under vod/{id}/, so a retry after kill -9
// leaves no orphaned files.
//
// On a local folder store ffmpeg reads the stored source in place. On any
// other store (S3) sources are streamed in (storage.Uploader, or a
// server-side storage.Copier copy of a tus upload already in the bucket),
// and each attempt downloads its source to a scratch copy in
// TempDir/sources first: bounded by Config.ScratchLimit and the disk's
// free space, removed when the attempt ends, and emptied at New.
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

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/jobs"
	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// Notifier sends events to webhooks (webhook.Notifier).
type Notifier interface {
	// Emit queues an event's deliveries.
	Emit(ctx context.Context, eventType string, data any) error
	// EmitTx queues them inside the catalog transaction tx: they exist
	// only if tx commits. asset.created goes this way, in the transaction
	// of the asset's row and first job, so it is queued before anything
	// that job emits.
	EmitTx(ctx context.Context, tx catalog.Tx, eventType string, data any) error
}

// Event types (the same strings as package webhook's).
const (
	eventCreated  = "asset.created"
	eventProgress = "asset.progress"
	eventReady    = "asset.ready"
	eventFailed   = "asset.failed"
)

// Config is what the pipeline needs.
type Config struct {
	Catalog catalog.Store
	// Storage holds sources and outputs. A storage.FileStore (a local
	// folder) adopts sources by a rename and ffmpeg reads them in place;
	// any other store (S3) must be a storage.Uploader: sources are
	// streamed in, and each attempt works on a scratch copy in
	// TempDir/sources (see ScratchLimit).
	Storage storage.Store
	Queue   *jobs.Queue
	Notify  Notifier                // nil: no events
	Present func(catalog.Asset) any // an asset as event payloads show it; nil: the raw struct

	FFmpeg, FFprobe string
	Ladder          transcode.Ladder
	SegmentDuration time.Duration // default 4s
	MaxAttempts     int           // default 3
	// TempDir is scratch space for thumbnails and, on stores other than
	// a FileStore, copies of sources; emptied at New. Required then.
	TempDir string
	// ScratchLimit bounds the bytes of source copies held at once in
	// TempDir/sources (all attempts of this process); 0 means only the
	// disk's free space bounds them. A source larger than the limit fails
	// with a reason; one that does not fit beside the others, or in the
	// free space (256 MiB must stay free), is retried later.
	ScratchLimit int64
	// ProgressEvery throttles asset.progress events: at most one per
	// interval and per 10 % step. Default 5s.
	ProgressEvery time.Duration

	// Leases, when set, make an asset's subtitle changes and its
	// publication exclusive across the nodes sharing them (see
	// assetlock.go); nil: within this process only (one node).
	Leases lease.Leaser

	Log *slog.Logger
	Now func() time.Time
}

// Service is the VoD pipeline. It implements api.VOD.
type Service struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	running map[string]*run // asset id → its attempt running in this process

	// subMu serialises an asset's subtitle changes with each other and
	// with its publication: subMu.lock(ctx, id) per asset.
	subMu assetLocks

	fetcher Fetcher // URL imports; nil: disabled (set before the queue starts)

	// scratch holds the copies of sources on stores that are not local
	// folders; nil on a FileStore.
	scratch *scratch

	// retryUnit is NextRetry's base delay; 0 means 10 s. Tests shorten it
	// before the queue starts.
	retryUnit time.Duration
}

// run is an attempt in progress.
type run struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// startRun registers a run of asset id, so that Cancel and Delete can stop
// it through the returned context; end unregisters it and tells waiters.
func (s *Service) startRun(ctx context.Context, id string) (runCtx context.Context, end func()) {
	runCtx, cancel := context.WithCancelCause(ctx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.running[id] = r
	s.mu.Unlock()
	return runCtx, func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		cancel(nil)
		close(r.done)
	}
}

// errCancelled is the cause of a run's context when its asset is cancelled
// or deleted.
var errCancelled = errors.New("cancelled")

// New checks cfg, registers the pipeline worker on cfg.Queue (before the
// queue starts) and returns the Service.
func New(cfg Config) (*Service, error) {
	if cfg.Catalog == nil || cfg.Storage == nil || cfg.Queue == nil {
		return nil, errors.New("vod: catalog, storage and queue are required")
	}
	if cfg.FFmpeg == "" {
		cfg.FFmpeg = "ffmpeg"
	}
	if cfg.FFprobe == "" {
		cfg.FFprobe = "ffprobe"
	}
	if cfg.SegmentDuration <= 0 {
		cfg.SegmentDuration = 4 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Present == nil {
		cfg.Present = func(a catalog.Asset) any { return a }
	}
	_, isFile := cfg.Storage.(storage.FileStore)
	if !isFile {
		if _, ok := cfg.Storage.(storage.Uploader); !ok {
			return nil, fmt.Errorf("vod: the storage (%T) is neither a local folder nor able to store streams", cfg.Storage)
		}
		if cfg.TempDir == "" {
			return nil, errors.New("vod: TempDir is required when the storage is not a local folder (sources are copied there)")
		}
	}
	if cfg.ScratchLimit < 0 {
		return nil, fmt.Errorf("vod: ScratchLimit %d is negative", cfg.ScratchLimit)
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	} else {
		// Scratch files of attempts a crash interrupted.
		if err := os.RemoveAll(cfg.TempDir); err != nil {
			return nil, fmt.Errorf("vod: clearing %s: %w", cfg.TempDir, err)
		}
		if err := os.MkdirAll(cfg.TempDir, 0o755); err != nil {
			return nil, fmt.Errorf("vod: creating %s: %w", cfg.TempDir, err)
		}
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("component", "vod"), running: map[string]*run{}, subMu: assetLocks{leases: cfg.Leases}}
	if !isFile {
		dir := filepath.Join(cfg.TempDir, "sources")
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("vod: creating %s: %w", dir, err)
		}
		s.scratch = &scratch{dir: dir, limit: cfg.ScratchLimit, free: freeSpace}
	}
	if err := river.AddWorkerSafely(cfg.Queue.Workers(), &worker{s: s}); err != nil {
		return nil, fmt.Errorf("vod: registering the worker: %w", err)
	}
	if err := river.AddWorkerSafely(cfg.Queue.Workers(), &importWorker{s: s}); err != nil {
		return nil, fmt.Errorf("vod: registering the import worker: %w", err)
	}
	return s, nil
}

// Prefix is the storage prefix of an asset's outputs.
func Prefix(id string) string { return "vod/" + id }

// sourceKey is the storage key of an asset's source file.
func sourceKey(id string) string { return "sources/" + id + "/source" }

// newAssetID returns "as_" + 80 random bits in lowercase base32.
func newAssetID() string { return catalog.NewID("as_") }

// emit sends an event about a, logging (not returning) a failure: the
// asset's state is in the catalog either way.
func (s *Service) emit(ctx context.Context, typ string, a catalog.Asset) {
	if s.cfg.Notify == nil {
		return
	}
	if err := s.cfg.Notify.Emit(context.WithoutCancel(ctx), typ, s.cfg.Present(a)); err != nil {
		s.log.Error("queueing a webhook event", "event", typ, "asset", a.ID, "error", err)
	}
}

// emitTx queues an event about a inside the catalog transaction tx; its
// error is to roll tx back, so that the change and its event commit
// together or not at all.
func (s *Service) emitTx(ctx context.Context, tx catalog.Tx, typ string, a catalog.Asset) error {
	if s.cfg.Notify == nil {
		return nil
	}
	if err := s.cfg.Notify.EmitTx(ctx, tx, typ, s.cfg.Present(a)); err != nil {
		return fmt.Errorf("queueing %s: %w", typ, err)
	}
	return nil
}
