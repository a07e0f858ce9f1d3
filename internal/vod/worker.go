package vod

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/probe"
)

// worker runs an asset's pipeline as a River job.
type worker struct {
	river.WorkerDefaults[processArgs]
	s *Service
}

// NextRetry backs off 10 s, 40 s, 90 s, ... (10 s × attempt²), at most 10 min.
func (w *worker) NextRetry(job *river.Job[processArgs]) time.Time {
	d := min(time.Duration(job.Attempt*job.Attempt)*10*time.Second, 10*time.Minute)
	return time.Now().Add(d)
}

// Work runs one attempt.
func (w *worker) Work(ctx context.Context, job *river.Job[processArgs]) error {
	s := w.s
	id := job.Args.AssetID
	a, err := s.cfg.Catalog.GetAsset(ctx, id)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("loading asset %s: %w", id, err)
	}
	if a.Status == catalog.AssetReady || a.Status == catalog.AssetFailed {
		return nil // cancelled while queued, or already done
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	r := &run{cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	s.running[id] = r
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, id)
		s.mu.Unlock()
		cancel(nil)
		close(r.done)
	}()

	log := s.log.With("asset", id, "attempt", job.Attempt)
	p := &pipeline{s: s, log: log, id: id, attempt: job.Attempt}
	started := time.Now()
	err = p.run(runCtx)
	switch {
	case err == nil:
		log.Info("asset ready", "took", time.Since(started).Round(time.Millisecond))
		return nil
	case errors.Is(context.Cause(runCtx), errCancelled):
		// Cancel or Delete already recorded the outcome.
		p.discardOutputs(context.WithoutCancel(ctx))
		log.Info("processing cancelled")
		return river.JobCancel(errCancelled)
	case ctx.Err() != nil:
		// The queue is stopping (shutdown): the job is retried on restart.
		log.Info("processing interrupted by shutdown; the job will run again")
		return err
	}

	reason := failureReason(err)
	last := probe.IsPermanent(err) || job.Attempt >= job.MaxAttempts
	log.Warn("processing failed", "error", err, "final", last)
	if last {
		p.discardOutputs(context.WithoutCancel(ctx))
		a, uerr := s.cfg.Catalog.UpdateAsset(context.WithoutCancel(ctx), id, func(a *catalog.Asset) error {
			a.Status = catalog.AssetFailed
			a.Stage = ""
			a.Error = reason
			return nil
		})
		if uerr != nil {
			return fmt.Errorf("recording the failure of %s: %w (after %w)", id, uerr, err)
		}
		s.emit(ctx, eventFailed, a)
		return river.JobCancel(err)
	}
	if _, uerr := s.cfg.Catalog.UpdateAsset(context.WithoutCancel(ctx), id, func(a *catalog.Asset) error {
		a.Status = catalog.AssetQueued
		a.Stage = ""
		a.Error = fmt.Sprintf("attempt %d of %d failed (%s); it will be retried", job.Attempt, job.MaxAttempts, reason)
		return nil
	}); uerr != nil {
		log.Error("recording a failed attempt", "error", uerr)
	}
	return err
}

// failureReason is the sentence stored as the asset's error.
func failureReason(err error) string {
	var pe *probe.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}
