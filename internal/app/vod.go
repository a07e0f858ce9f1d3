package app

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/jobs"
	"github.com/ospreyvideo/osprey/internal/lease/tuslock"
	"github.com/ospreyvideo/osprey/internal/vod"
	"github.com/ospreyvideo/osprey/internal/webhook"
)

// vodStack is the video-on-demand side of a server: the job queue, the
// pipeline, webhooks and intake.
type vodStack struct {
	queue    *jobs.Queue
	notifier *webhook.Notifier
	vod      *vod.Service
	intake   *intake.Service
	log      *slog.Logger
	cancel   context.CancelFunc
	done     chan struct{}
}

// startVOD builds the VoD stack on the catalog's database: the job queue,
// whose workers run on a node with the worker role, and intake (uploads,
// the inbox watcher and the uploads janitor) on a node with the api role.
func startVOD(ctx context.Context, cfg config.Config, ffmpeg string, d *deps, log *slog.Logger) (*vodStack, error) {
	cat, store := d.cat, d.store
	ffprobe, err := exec.LookPath(cfg.FFmpeg.ProbePath)
	if err != nil {
		return nil, fmt.Errorf("ffprobe not found (%q): install it with ffmpeg (Debian: apt install ffmpeg): %w", cfg.FFmpeg.ProbePath, err)
	}
	queue, err := d.openQueue(ctx, jobs.Config{VODWorkers: cfg.VOD.Concurrency}, log)
	if err != nil {
		return nil, err
	}
	notifier := &webhook.Notifier{Store: cat, Queue: queue, Log: log}
	river.AddWorker(queue.Workers(), &webhook.Worker{Store: cat, Client: webhook.NewClient(cfg.Webhooks.AllowPrivateURLs), Log: log})

	svc, err := vod.New(vod.Config{
		Catalog:         cat,
		Storage:         store,
		Queue:           queue,
		Notify:          notifier,
		Present:         func(a catalog.Asset) any { return api.AssetJSON(cfg.PublicURL, a) },
		FFmpeg:          ffmpeg,
		FFprobe:         ffprobe,
		Ladder:          TranscodeLadder(cfg.Ladders[cfg.VOD.Ladder].WithDefaults()),
		SegmentDuration: cfg.VOD.SegmentDuration,
		MaxAttempts:     cfg.VOD.MaxAttempts,
		TempDir:         filepath.Join(cfg.DataDir, "tmp"),
		ScratchLimit:    cfg.VOD.ScratchLimit,
		Leases:          d.leaser,
		Log:             log,
	})
	if err != nil {
		return nil, err
	}
	in, err := intake.New(intake.Config{
		DataDir:          cfg.DataDir,
		MaxSize:          cfg.VOD.MaxSourceSize,
		AllowPrivateURLs: cfg.VOD.AllowPrivateURLs,
		PublicURL:        cfg.PublicURL,
		UploadExpiry:     cfg.VOD.UploadExpiry,
		Storage:          store,
		Locker:           tuslock.New(d.leaser, log),
		Creator:          svc,
		Log:              log,
	})
	if err != nil {
		return nil, err
	}
	svc.UseFetcher(in) // URL imports download through intake's SSRF-guarded client
	if cfg.HasRole(config.RoleWorker) {
		if err := queue.Start(ctx); err != nil {
			in.Close()
			return nil, err
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	st := &vodStack{queue: queue, notifier: notifier, vod: svc, intake: in, log: log, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(st.done)
		if !cfg.HasRole(config.RoleAPI) {
			return
		}
		var wg sync.WaitGroup
		wg.Go(func() { in.RunJanitor(runCtx) })
		if cfg.VOD.Inbox {
			_ = in.RunInbox(runCtx)
		}
		wg.Wait()
	}()
	return st, nil
}

// stop ends the inbox watcher, the uploads janitor and the job queue; running jobs are
// interrupted and run again at the next start.
func (st *vodStack) stop() {
	st.cancel()
	<-st.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := st.queue.Stop(ctx); err != nil {
		st.log.Warn("stopping the job queue", "error", err)
	}
	st.intake.Close()
}
