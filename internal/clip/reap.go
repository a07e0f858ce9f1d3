package clip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// A clip or recording is made by one process while its asset says
// processing (stage "clip"). That process touches the asset every
// heartbeatEvery; if it dies (kill -9, a lost node), the asset stops
// being touched, and Reap, which every node making clips runs every
// ReapEvery, marks it failed once it has not been touched for
// abandonedAfter: its outputs are removed and asset.failed is sent. The
// segments it was made of are still in the DVR window (for a while): the
// clip can be made again.

const (
	heartbeatEvery = 10 * time.Second
	abandonedAfter = 6 * heartbeatEvery
	// ReapEvery is how often Run looks for abandoned clips.
	ReapEvery = time.Minute
)

// abandonedError is the reason an abandoned clip's asset gives.
const abandonedError = "the server making this clip stopped before it was ready (a crash or a lost node); make the clip again while its span is in the DVR window"

// heartbeat touches the asset every heartbeatEvery until stop is called,
// so that Reap knows its maker lives.
func (s *Service) heartbeat(ctx context.Context, id string, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.heartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			_, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(x *catalog.Asset) error {
				if x.Status != catalog.AssetProcessing {
					return errNotProcessing
				}
				return nil // UpdateAsset stamps UpdatedAt
			})
			if err != nil && ctx.Err() == nil && !errors.Is(err, errNotProcessing) {
				log.Warn("clip: touching the asset being made", "error", err)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// Run reaps abandoned clips now and every ReapEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(ReapEvery)
	defer t.Stop()
	for {
		if n, err := s.Reap(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("clip: looking for abandoned clips", "error", err)
		} else if n > 0 {
			s.log.Warn("clip: marked abandoned clips failed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reap marks failed every clip and recording still processing whose maker
// has not touched it for abandonedAfter, removes its outputs and sends
// asset.failed. Several nodes may reap at once: each asset is failed by
// one of them. It returns how many it failed.
func (s *Service) Reap(ctx context.Context) (int, error) {
	f := catalog.AssetFilter{Status: catalog.AssetProcessing, Limit: 500}
	n := 0
	for {
		page, err := s.cfg.Catalog.ListAssets(ctx, f)
		if err != nil {
			return n, fmt.Errorf("clip: listing processing assets: %w", err)
		}
		for _, a := range page.Items {
			if !s.abandoned(a) {
				continue
			}
			if s.reapOne(ctx, a.ID) {
				n++
			}
		}
		if page.NextCursor == "" {
			return n, nil
		}
		f.After = page.NextCursor
	}
}

// abandoned reports whether a is a clip or recording whose maker stopped
// touching it.
func (s *Service) abandoned(a catalog.Asset) bool {
	return a.Status == catalog.AssetProcessing && a.Stage == stageClip &&
		(a.Source.Origin == OriginClip || a.Source.Origin == OriginRecord) &&
		s.cfg.Now().Sub(a.UpdatedAt) >= s.abandonedAfter
}

func (s *Service) reapOne(ctx context.Context, id string) bool {
	log := s.log.With("asset", id)
	a, err := s.cfg.Catalog.UpdateAsset(ctx, id, func(x *catalog.Asset) error {
		if !s.abandoned(*x) { // touched, finished or reaped meanwhile
			return errNotProcessing
		}
		x.Status, x.Stage = catalog.AssetFailed, ""
		x.Error = abandonedError
		return nil
	})
	if err != nil {
		if !errors.Is(err, errNotProcessing) && !errors.Is(err, catalog.ErrNotFound) {
			log.Error("clip: marking an abandoned clip failed", "error", err)
		}
		return false
	}
	log.Warn("clip: abandoned by its maker, marked failed", "origin", a.Source.Origin, "channel", a.Source.Filename)
	if err := s.cfg.Storage.DeletePrefix(ctx, AssetPrefix(id)+"/"); err != nil {
		log.Error("clip: removing the outputs of an abandoned clip", "error", err)
	}
	s.emit(ctx, eventFailed, a)
	return true
}
