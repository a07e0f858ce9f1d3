package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
)

// Publisher is the part of events.Bus that an API node's invalidation
// handler needs.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte) error
}

// EventBus is the part of events.Bus an edge uses to share invalidations.
// The edge neither opens nor closes it.
type EventBus interface {
	Publisher
	Subscribe(ctx context.Context, pattern string, opts events.SubscribeOptions, h events.Handler) (events.Subscription, error)
}

// PublishTimeout bounds publishing one invalidation. A NATS bus that is
// down fails at once; this covers a server that is up but slow to ack.
const PublishTimeout = 2 * time.Second

// invalidationEvent is the payload of events.EdgeInvalidate subjects.
// Paths alone is enough for a message published by another tool; ID then
// defaults to the event's ID.
type invalidationEvent struct {
	ID        string    `json:"id,omitempty"`
	Node      string    `json:"node,omitempty"`
	Paths     []string  `json:"paths"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// subjectToken is what an ID must look like to be a subject token.
var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// invalidationSubject is the subject of an invalidation: the channel or
// asset its paths are all under (/live/{id}/…, /vod/{id}/…), else "all".
// Every edge subscribes to events.AllEdgeInvalid; the channel token is
// for tools that want one channel's invalidations only.
func invalidationSubject(paths []string) string {
	scope := ""
	for _, p := range paths {
		parts := strings.SplitN(strings.TrimPrefix(p, "/"), "/", 3)
		if len(parts) < 3 || (parts[0] != "live" && parts[0] != "vod") || !subjectToken.MatchString(parts[1]) {
			return events.EdgeInvalidate("all")
		}
		if scope != "" && scope != parts[1] {
			return events.EdgeInvalidate("all")
		}
		scope = parts[1]
	}
	return events.EdgeInvalidate(scope)
}

// publishInvalidation hands inv to the bus. The caller's cancellation
// does not stop it (the viewer of the API leaving does not make the
// invalidation local-only); PublishTimeout bounds it.
func publishInvalidation(ctx context.Context, bus Publisher, inv Invalidation) error {
	data, err := json.Marshal(invalidationEvent{ID: inv.ID, Node: inv.Node, Paths: inv.Paths, CreatedAt: inv.CreatedAt})
	if err != nil {
		return fmt.Errorf("encoding invalidation %s: %w", inv.ID, err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), PublishTimeout)
	defer cancel()
	return bus.Publish(ctx, invalidationSubject(inv.Paths), data)
}

// publish shares an invalidation applied here with the other edges and
// says in the result whether it went out.
func (e *Edge) publish(ctx context.Context, inv Invalidation) Invalidation {
	err := publishInvalidation(ctx, e.bus, inv)
	if err != nil {
		inv.PropagationError = "not propagated to other edges: " + err.Error()
		e.metrics.events.WithLabelValues("publish_failed").Inc()
		e.log.Warn("invalidation completed here but not published to other edges; post it again when the event bus is back",
			"id", inv.ID, "paths", inv.Paths, "err", err)
	} else {
		inv.Propagated = true
		e.metrics.events.WithLabelValues("published").Inc()
	}
	e.invalidations.update(inv.ID, func(r *Invalidation) {
		r.Propagated, r.PropagationError = inv.Propagated, inv.PropagationError
	})
	return inv
}

// onInvalidationEvent applies an invalidation from the bus, once per ID
// (its own come back too). A message that is not an invalidation is
// logged and acknowledged: retrying it could never succeed and would hold
// back the ones behind it.
func (e *Edge) onInvalidationEvent(_ context.Context, ev events.Event) error {
	var msg invalidationEvent
	if err := json.Unmarshal(ev.Data, &msg); err != nil {
		e.metrics.events.WithLabelValues("invalid").Inc()
		e.log.Warn("ignoring an invalidation event that is not JSON", "subject", ev.Subject, "event", ev.ID, "err", err)
		return nil
	}
	if err := ValidatePaths(msg.Paths); err != nil {
		e.metrics.events.WithLabelValues("invalid").Inc()
		e.log.Warn("ignoring an invalid invalidation event", "subject", ev.Subject, "event", ev.ID, "err", err)
		return nil
	}
	inv := Invalidation{ID: msg.ID, Paths: msg.Paths, CreatedAt: msg.CreatedAt, Node: msg.Node, Propagated: true}
	if inv.ID == "" {
		inv.ID = ev.ID
	}
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = ev.Time.UTC()
	}
	if _, applied := e.applyOnce(inv); applied {
		e.metrics.events.WithLabelValues("applied").Inc()
	} else {
		e.metrics.events.WithLabelValues("duplicate").Inc()
	}
	return nil
}

// subscribe starts receiving the other edges' invalidations. With a disk
// cache the subscription is durable, named after the node and the cache
// directory: objects on disk survive a restart, so an edge that was down
// must still apply what was invalidated meanwhile (within the bus's
// retention). A memory-only edge starts empty and needs none of that.
func (e *Edge) subscribe() error {
	var opts events.SubscribeOptions
	if e.cfg.Cache.Dir != "" {
		opts.Durable = durableName(e.nodeID(), e.cfg.Cache.Dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := e.bus.Subscribe(ctx, events.AllEdgeInvalid, opts, e.onInvalidationEvent)
	if err != nil {
		return fmt.Errorf("edge: subscribing to invalidations: %w", err)
	}
	e.sub = sub
	e.log.Info("sharing invalidations over the event bus", "node", e.nodeID(), "durable", opts.Durable)
	return nil
}

// durableName is "<node>.edge-invalidate.<hash of the cache directory>":
// two edges on one host (one node ID) keep apart, and a restarted edge
// finds its subscription as long as its node ID and directory are the same.
func durableName(node, dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(dir))
	return fmt.Sprintf("%s.edge-invalidate.%08x", node, h.Sum32())
}

func (e *Edge) nodeID() string {
	if e.cfg.NodeID != "" {
		return e.cfg.NodeID
	}
	return e.cfg.Name
}
