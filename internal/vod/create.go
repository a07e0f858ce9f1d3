package vod

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/jobs"
)

// processArgs is the job that runs an asset's pipeline.
type processArgs struct {
	AssetID string `json:"asset_id"`
}

func (processArgs) Kind() string { return "vod.process" }

// CreateAsset adopts f as the source of a new asset and queues its
// processing; the asset row, the job and the deliveries of asset.created
// are inserted in one transaction.
// Once the row is committed the file has moved into storage; until then it
// is the caller's: on any failure it is back at f.Path (a finished tus
// upload stays resumable, an inbox file can be put aside). A File with a
// Key (a tus upload kept in the store) is copied; the caller removes the
// original once the asset exists (see storeSource).
func (s *Service) CreateAsset(ctx context.Context, f intake.File) (catalog.Asset, error) {
	id := newAssetID()
	key := sourceKey(id)
	h, err := s.storeSource(ctx, key, f)
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: storing the source: %w", err)
	}
	now := s.cfg.Now().UTC()
	a := catalog.Asset{
		ID:     id,
		Title:  titleOf(f),
		Status: catalog.AssetQueued,
		Source: catalog.AssetSource{
			Filename: filepath.Base(f.Filename),
			Size:     f.Size,
			Key:      key,
			Origin:   f.Origin,
			URL:      f.URL,
		},
		UploadID:  f.UploadID,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if f.Filename == "" {
		a.Source.Filename = ""
	}
	priority := jobPriority(f.Priority)
	var jobID int64
	err = s.cfg.Catalog.CreateAsset(ctx, a, func(ctx context.Context, tx catalog.Tx) error {
		var err error
		jobID, err = s.cfg.Queue.InsertTx(ctx, tx, processArgs{AssetID: id}, &river.InsertOpts{
			Queue:       jobs.QueueVOD,
			MaxAttempts: s.cfg.MaxAttempts,
			Priority:    priority,
		})
		if err != nil {
			return err
		}
		// asset.created commits with the row and the job, so it is
		// queued before anything the job emits (asset.failed at once).
		created := a
		created.JobID = jobID
		return s.emitTx(ctx, tx, eventCreated, created)
	})
	if err != nil {
		h.rollback()
		if derr := s.cfg.Storage.DeletePrefix(context.WithoutCancel(ctx), "sources/"+id+"/"); derr != nil {
			s.log.Error("removing the source of an asset not created", "asset", id, "error", derr)
		}
		return catalog.Asset{}, fmt.Errorf("vod: creating the asset: %w", err)
	}
	h.commit()
	if _, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(a *catalog.Asset) error {
		a.JobID = jobID
		return nil
	}); err != nil {
		s.log.Warn("recording the job of a new asset", "asset", id, "job", jobID, "error", err)
	}
	// The asset as created: the worker may already have moved it on.
	a.JobID = jobID
	s.log.Info("asset created", "asset", id, "origin", f.Origin, "filename", a.Source.Filename, "size", f.Size, "job", jobID)
	return a, nil
}

// DefaultPriority is the queue priority of an asset created without one:
// 1 runs first, 4 last. (River's own default is 1, which would let no
// asset jump ahead of the rest.)
const DefaultPriority = 2

// jobPriority maps a requested priority (0: none) to River's.
func jobPriority(p int) int {
	if p < 1 || p > 4 {
		return DefaultPriority
	}
	return p
}

func removeQuietly(path string) { _ = os.Remove(path) }

// titleOf is the asset's title: given, else the file name without its
// extension, else "Untitled".
func titleOf(f intake.File) string {
	if t := strings.TrimSpace(f.Title); t != "" {
		return t
	}
	name := strings.TrimSuffix(filepath.Base(f.Filename), filepath.Ext(f.Filename))
	if name = strings.TrimSpace(name); name != "" && name != "." && name != "/" {
		return name
	}
	return "Untitled"
}

// Cancel stops an asset's processing; it ends failed with the reason
// "cancelled". A ready or failed asset is returned unchanged.
func (s *Service) Cancel(ctx context.Context, id string) (catalog.Asset, error) {
	changed := false
	a, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(a *catalog.Asset) error {
		if !active(a.Status) {
			return nil
		}
		changed = true
		a.Status = catalog.AssetFailed
		a.Stage = ""
		a.Error = "cancelled"
		return nil
	})
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("vod: cancelling %s: %w", id, err)
	}
	if !changed {
		return a, nil
	}
	s.stopRun(id)
	if a.JobID != 0 {
		if err := s.cfg.Queue.Cancel(ctx, a.JobID); err != nil {
			s.log.Warn("cancelling the job of a cancelled asset", "asset", id, "job", a.JobID, "error", err)
		}
	}
	s.log.Info("asset cancelled", "asset", id)
	s.emit(ctx, eventFailed, a)
	return a, nil
}

// active reports whether an asset in status st is still on its way:
// importing, queued or processing.
func active(st catalog.AssetStatus) bool {
	return st == catalog.AssetImporting || st == catalog.AssetQueued || st == catalog.AssetProcessing
}

// stopRun cancels the attempt running in this process for the asset, if
// any, and waits for it to return.
func (s *Service) stopRun(id string) {
	s.mu.Lock()
	r := s.running[id]
	s.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel(errCancelled)
	<-r.done
}

// Delete cancels any processing and removes every stored object of the
// asset (outputs and source), then its row.
func (s *Service) Delete(ctx context.Context, id string) error {
	a, err := s.cfg.Catalog.GetAsset(ctx, id)
	if err != nil {
		return fmt.Errorf("vod: deleting %s: %w", id, err)
	}
	if active(a.Status) {
		if _, err := s.Cancel(ctx, id); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			return err
		}
	}
	s.stopRun(id)
	for _, prefix := range []string{Prefix(id) + "/", "sources/" + id + "/"} {
		if err := s.cfg.Storage.DeletePrefix(ctx, prefix); err != nil {
			return fmt.Errorf("vod: deleting %s: removing %s: %w", id, prefix, err)
		}
	}
	if err := s.cfg.Catalog.DeleteAsset(ctx, id); err != nil {
		return fmt.Errorf("vod: deleting %s: %w", id, err)
	}
	s.log.Info("asset deleted", "asset", id)
	return nil
}
