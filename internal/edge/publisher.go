package edge

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// PublisherConfig configures NewInvalidationPublisher.
type PublisherConfig struct {
	// AdminToken authorizes the API; "" disables it (404), as on an edge.
	AdminToken string
	// NodeID names this node in the invalidations it publishes.
	NodeID string
	Log    *slog.Logger
}

// NewInvalidationPublisher is the invalidation API of a node that has no
// edge of its own (`osprey serve --roles api`), for mounting at
// /api/v1/edge/invalidations: the same admin token, request and JSON as
// an edge's. POST publishes the invalidation on bus and answers 202 with
// status "published" once the bus has accepted it (every subscribed edge
// then applies it: at-least-once, each edge once per ID), or 503 with a
// JSON error when the bus cannot take it (nothing was invalidated: post
// again). GET lists the ones this node published recently. bus must not
// be nil.
func NewInvalidationPublisher(bus Publisher, cfg PublisherConfig) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &publisher{bus: bus, cfg: cfg, log: cfg.Log.With("component", "edge.publisher")}
	return invalidationAPI{token: cfg.AdminToken, create: p.create, list: p.list}
}

type publisher struct {
	bus Publisher
	cfg PublisherConfig
	log *slog.Logger

	mu     sync.Mutex
	recent []Invalidation // oldest first, at most keptInvalidations
}

func (p *publisher) create(ctx context.Context, paths []string) (Invalidation, int, string) {
	inv := newInvalidation(paths, p.cfg.NodeID, time.Now())
	if err := publishInvalidation(ctx, p.bus, inv); err != nil {
		p.log.Warn("invalidation not published", "id", inv.ID, "paths", paths, "err", err)
		return Invalidation{}, http.StatusServiceUnavailable,
			"the event bus did not take the invalidation, no edge was invalidated; try again: " + err.Error()
	}
	inv.Status, inv.Propagated = StatusPublished, true
	p.log.Info("invalidation published", "id", inv.ID, "paths", paths)
	p.mu.Lock()
	p.recent = append(p.recent, inv)
	if len(p.recent) > keptInvalidations {
		p.recent = p.recent[len(p.recent)-keptInvalidations:]
	}
	p.mu.Unlock()
	return inv, http.StatusAccepted, ""
}

func (p *publisher) list() []Invalidation {
	p.mu.Lock()
	defer p.mu.Unlock()
	items := make([]Invalidation, 0, len(p.recent))
	for i := len(p.recent) - 1; i >= 0; i-- {
		items = append(items, p.recent[i])
	}
	return items
}
