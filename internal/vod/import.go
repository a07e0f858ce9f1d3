package vod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/jobs"
)

// Fetcher downloads the sources of URL imports (intake.Service).
type Fetcher interface {
	// CheckURL refuses a URL that can never be fetched (*intake.Error).
	CheckURL(rawURL string) error
	// Fetch downloads rawURL into the uploads folder under name; the
	// File's URL is redacted. Failures worth retrying are *intake.Error
	// with Retry set.
	Fetch(ctx context.Context, rawURL, name string, progress func(received, total int64)) (intake.File, error)
}

// importArgs is the job that downloads an imported asset's source. It is
// the only place the full URL (with a presigned URL's secrets) is kept, and
// the job wipes it when it is done, whatever the outcome.
type importArgs struct {
	AssetID     string `json:"asset_id"`
	URL         string `json:"source_url,omitempty"`
	Priority    int    `json:"priority"`
	DeriveTitle bool   `json:"derive_title,omitempty"` // no title was given: take it from the file name
}

func (importArgs) Kind() string { return "vod.import" }

// UseFetcher enables URL imports. Call it before the queue starts.
func (s *Service) UseFetcher(f Fetcher) { s.fetcher = f }

// ImportURL creates an asset whose source is downloaded from rawURL by a
// job, and returns it at once, importing: the download's progress (bytes
// in Source.Size, percent in Progress when the size is known) and any
// failure are on the asset; when the source has arrived the asset is
// queued for processing with the given priority (0: the default). A URL
// that can never be fetched is refused here (*intake.Error). Only the job
// keeps the full URL; the asset shows it redacted (intake.RedactURL).
func (s *Service) ImportURL(ctx context.Context, rawURL, title string, priority int) (catalog.Asset, error) {
	if s.fetcher == nil {
		return catalog.Asset{}, errors.New("vod: URL imports are not enabled")
	}
	if err := s.fetcher.CheckURL(rawURL); err != nil {
		return catalog.Asset{}, err
	}
	id := newAssetID()
	shown := intake.RedactURL(rawURL)
	now := s.cfg.Now().UTC()
	a := catalog.Asset{
		ID:        id,
		Title:     title,
		Status:    catalog.AssetImporting,
		Stage:     "download",
		Source:    catalog.AssetSource{Filename: urlFilename(rawURL), Key: sourceKey(id), Origin: "url", URL: shown},
		CreatedAt: now,
		UpdatedAt: now,
	}
	if a.Title == "" {
		a.Title = titleOf(intake.File{Filename: a.Source.Filename})
	}
	args := importArgs{AssetID: id, URL: rawURL, Priority: jobPriority(priority), DeriveTitle: title == ""}
	err := s.cfg.Catalog.CreateAsset(ctx, a, func(ctx context.Context, tx catalog.Tx) error {
		var err error
		a.JobID, err = s.cfg.Queue.InsertTx(ctx, tx, args, &river.InsertOpts{Queue: jobs.QueueImports, MaxAttempts: s.cfg.MaxAttempts})
		if err != nil {
			return err
		}
		// asset.created commits with the row and the job, so it is
		// queued before the job's asset.failed (an unreachable URL
		// fails at once).
		return s.emitTx(ctx, tx, eventCreated, a)
	})
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: creating the asset: %w", err)
	}
	// The job ID is the import's until the source has arrived.
	if _, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(x *catalog.Asset) error {
		if x.JobID == 0 {
			x.JobID = a.JobID
		}
		return nil
	}); err != nil {
		s.log.Warn("recording the import job of a new asset", "asset", id, "job", a.JobID, "error", err)
	}
	s.log.Info("asset created; importing its source", "asset", id, "url", shown, "job", a.JobID)
	return a, nil
}

// urlFilename is the last element of the URL's path, cleaned as a
// client's file name; "" if none.
func urlFilename(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" || u.Path[len(u.Path)-1] == '/' {
		return ""
	}
	return intake.CleanName(path.Base(u.Path))
}

// importWorker runs URL imports.
type importWorker struct {
	river.WorkerDefaults[importArgs]
	s *Service
}

// NextRetry backs off like the pipeline's worker.
func (w *importWorker) NextRetry(job *river.Job[importArgs]) time.Time {
	return w.s.retryAt(job.Attempt)
}

// Work downloads the source, stores it and, in one transaction, queues the
// asset's processing and marks it queued. A run cut off (kill -9) is run
// again from the start by the queue.
func (w *importWorker) Work(ctx context.Context, job *river.Job[importArgs]) error {
	s := w.s
	id := job.Args.AssetID
	log := s.log.With("asset", id, "attempt", job.Attempt, "job", job.ID)
	a, err := s.cfg.Catalog.GetAsset(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		s.wipeImportURL(ctx, log, job)
		return nil // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("loading asset %s: %w", id, err)
	}
	if a.Status != catalog.AssetImporting {
		s.wipeImportURL(ctx, log, job)
		return nil // cancelled, or imported by a run that was cut off after committing
	}
	if s.fetcher == nil {
		return errors.New("URL imports are not enabled on this server")
	}

	runCtx, end := s.startRun(ctx, id)
	defer end()

	err = s.importSource(runCtx, log, job)
	switch {
	case err == nil:
		s.wipeImportURL(ctx, log, job)
		return nil
	case errors.Is(context.Cause(runCtx), errCancelled) || errors.Is(err, errNotProcessing):
		s.wipeImportURL(ctx, log, job)
		log.Info("import cancelled")
		return river.JobCancel(errCancelled)
	case ctx.Err() != nil:
		log.Info("import interrupted by shutdown; it will run again")
		return err
	}
	reason := err.Error()
	// A refusal of the URL or its server is final; the network's, the
	// server's and our own (storage) failures may pass.
	retry := true
	var ie *intake.Error
	if errors.As(err, &ie) {
		retry = ie.Retry
	}
	last := !retry || job.Attempt >= job.MaxAttempts
	log.Warn("import failed", "error", reason, "final", last)
	upd := func(fn func(*catalog.Asset)) (catalog.Asset, error) {
		return s.cfg.Catalog.UpdateAsset(context.WithoutCancel(ctx), id, func(a *catalog.Asset) error {
			if a.Status != catalog.AssetImporting {
				return errNotProcessing
			}
			fn(a)
			return nil
		})
	}
	if !last {
		if _, uerr := upd(func(a *catalog.Asset) {
			a.Error = fmt.Sprintf("attempt %d of %d failed (%s); it will be retried", job.Attempt, job.MaxAttempts, reason)
		}); uerr != nil && !errors.Is(uerr, errNotProcessing) {
			log.Error("recording a failed import attempt", "error", uerr)
		}
		return errors.New(reason)
	}
	s.wipeImportURL(ctx, log, job)
	a, uerr := upd(func(a *catalog.Asset) {
		a.Status = catalog.AssetFailed
		a.Stage = ""
		a.Error = reason
	})
	if uerr == nil {
		s.emit(ctx, eventFailed, a)
	} else if !errors.Is(uerr, errNotProcessing) {
		log.Error("recording the failure of an import", "error", uerr)
	}
	return river.JobCancel(errors.New(reason))
}

// importSource downloads, stores and hands the source to the pipeline.
func (s *Service) importSource(ctx context.Context, log *slog.Logger, job *river.Job[importArgs]) error {
	id := job.Args.AssetID
	if _, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(a *catalog.Asset) error {
		if a.Status != catalog.AssetImporting {
			return errNotProcessing
		}
		a.Attempts = job.Attempt
		a.Stage = "download"
		a.Progress = 0
		a.Source.Size = 0
		return nil
	}); err != nil {
		return err
	}
	p := &importProgress{ctx: ctx, s: s, id: id, log: log}
	f, err := s.fetcher.Fetch(ctx, job.Args.URL, "url-"+id, p.report)
	if err != nil {
		return err
	}
	defer removeQuietly(f.Path) // moved into storage unless something failed
	if err := s.importFile(ctx, sourceKey(id), f.Path); err != nil {
		return fmt.Errorf("storing the source: %w", err)
	}
	txu, ok := s.cfg.Catalog.(catalog.AssetTxUpdater)
	if !ok {
		return errors.New("the catalog cannot queue a job with an asset update")
	}
	_, err = txu.UpdateAssetTx(ctx, id, func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error {
		if a.Status != catalog.AssetImporting {
			return errNotProcessing
		}
		jobID, err := s.cfg.Queue.InsertTx(ctx, tx, processArgs{AssetID: id}, &river.InsertOpts{
			Queue: jobs.QueueVOD, MaxAttempts: s.cfg.MaxAttempts, Priority: job.Args.Priority,
		})
		if err != nil {
			return err
		}
		a.Status = catalog.AssetQueued
		a.Stage = ""
		a.Progress = 0
		a.Error = ""
		a.Attempts = 0
		a.JobID = jobID
		a.Source.Size = f.Size
		if f.Filename != "" {
			a.Source.Filename = f.Filename
		}
		if job.Args.DeriveTitle {
			a.Title = titleOf(intake.File{Filename: a.Source.Filename})
		}
		return nil
	})
	if err != nil {
		return err
	}
	log.Info("source imported; the asset is queued", "size", f.Size)
	return nil
}

// wipeImportURL replaces the import job's URL by nothing once it is not
// needed any more, so a presigned URL's secrets do not stay in the queue.
func (s *Service) wipeImportURL(ctx context.Context, log *slog.Logger, job *river.Job[importArgs]) {
	if job.Args.URL == "" {
		return
	}
	args := job.Args
	args.URL = ""
	if err := s.cfg.Queue.ReplaceArgs(context.WithoutCancel(ctx), job.ID, args); err != nil {
		log.Warn("wiping the URL from a finished import job", "error", err)
	}
}

// importProgress records a download's progress on the asset, at most once
// a second. Fetch reports from its own goroutine only.
type importProgress struct {
	ctx  context.Context
	s    *Service
	id   string
	log  *slog.Logger
	last time.Time
}

func (p *importProgress) report(received, total int64) {
	now := time.Now()
	if now.Sub(p.last) < time.Second && received != total {
		return
	}
	p.last = now
	if _, err := p.s.cfg.Catalog.UpdateAsset(p.ctx, p.id, func(a *catalog.Asset) error {
		if a.Status != catalog.AssetImporting {
			return errNotProcessing
		}
		a.Source.Size = received
		if total > 0 {
			a.Progress = float64(int(1000*float64(received)/float64(total))) / 10
		}
		return nil
	}); err != nil && !errors.Is(err, errNotProcessing) && p.ctx.Err() == nil {
		p.log.Warn("recording import progress", "error", err)
	}
}
