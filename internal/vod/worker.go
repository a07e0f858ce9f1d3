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
	return w.s.retryAt(job.Attempt)
}

// retryAt is when attempt number attempt failed is tried again: the retry
// unit (10 s) times attempt², at most 10 minutes away.
func (s *Service) retryAt(attempt int) time.Time {
	unit := s.retryUnit
	if unit <= 0 {
		unit = 10 * time.Second
	}
	return time.Now().Add(min(time.Duration(attempt*attempt)*unit, 10*time.Minute))
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

	runCtx, end := s.startRun(ctx, id)
	defer end()

	log := s.log.With("asset", id, "attempt", job.Attempt)
	p := &pipeline{s: s, log: log, id: id, attempt: job.Attempt}
	started := time.Now()
	err = p.run(runCtx)
	switch {
	case err == nil:
		now := time.Now()
		log.Info("asset ready", append([]any{"took", now.Sub(started).Round(time.Millisecond)}, p.times.logAttrs(now)...)...)
		return nil
	case errors.Is(context.Cause(runCtx), errCancelled) || errors.Is(err, errNotProcessing):
		// Cancel or Delete already recorded the outcome (also when the
		// attempt saw it before Cancel stopped the attempt).
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
		a, uerr := p.update(context.WithoutCancel(ctx), func(a *catalog.Asset) {
			a.Status = catalog.AssetFailed
			a.Stage = ""
			a.Error = reason
		})
		if errors.Is(uerr, errNotProcessing) {
			return river.JobCancel(err) // cancelled or deleted meanwhile: that outcome stands
		}
		if uerr != nil {
			return fmt.Errorf("recording the failure of %s: %w (after %w)", id, uerr, err)
		}
		s.emit(ctx, eventFailed, a)
		return river.JobCancel(err)
	}
	if _, uerr := p.update(context.WithoutCancel(ctx), func(a *catalog.Asset) {
		a.Status = catalog.AssetQueued
		a.Stage = ""
		a.Error = fmt.Sprintf("attempt %d of %d failed (%s); it will be retried", job.Attempt, job.MaxAttempts, reason)
	}); errors.Is(uerr, errNotProcessing) {
		// Cancelled or deleted meanwhile: no retry, and no outputs left.
		p.discardOutputs(context.WithoutCancel(ctx))
		return river.JobCancel(err)
	} else if uerr != nil {
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
