package edge

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// invalidationsPath is the invalidation API, as CloudFront's
// CreateInvalidation: POST {"paths": ["/vod/abc/*", "/live/x/index.m3u8"]}.
const invalidationsPath = "/api/v1/edge/invalidations"

// Limits on one invalidation.
const (
	maxInvalidationPaths = 3000
	keptInvalidations    = 100
	// seenInvalidations is how many invalidation IDs are remembered to
	// apply each one once (the bus delivers at least once, and an edge
	// receives its own).
	seenInvalidations = 4096
)

// Invalidation statuses.
const (
	// StatusCompleted: the objects are removed from this edge (removal is
	// synchronous).
	StatusCompleted = "completed"
	// StatusPublished: an API node without an edge handed the invalidation
	// to the event bus; every subscribed edge applies it when it arrives.
	StatusPublished = "published"
)

// Invalidation is one invalidation, as the API returns it.
type Invalidation struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"` // StatusCompleted or StatusPublished
	Paths     []string  `json:"paths"`
	Objects   int       `json:"objects"` // stored objects removed on this edge
	CreatedAt time.Time `json:"created_at"`
	// Node is the node that accepted the invalidation (this one, or the
	// one whose event this edge applied); empty without an event bus.
	Node string `json:"node,omitempty"`
	// Propagated is true once the event bus has accepted the invalidation
	// (NATS: stored in the stream), so every edge subscribed to it will
	// apply it; false when there is no bus or publishing failed.
	Propagated bool `json:"propagated"`
	// PropagationError says why publishing failed; other edges keep what
	// they cached until the invalidation is posted again.
	PropagationError string `json:"propagation_error,omitempty"`
}

// invalidations numbers invalidations, so that a flight that started before
// one and ends after it does not store what was just invalidated, keeps the
// recent ones for the API and the IDs of those applied.
type invalidations struct {
	mu     sync.Mutex
	gen    uint64
	recent []invalidationRecord
	seen   map[string]struct{} // IDs applied, at most seenInvalidations
	order  []string            // seen's IDs, oldest first
}

type invalidationRecord struct {
	gen uint64
	inv Invalidation
}

func (iv *invalidations) generation() uint64 {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return iv.gen
}

// markSeen records id and reports whether it is new. Call with mu held.
func (iv *invalidations) markSeen(id string) bool {
	if _, ok := iv.seen[id]; ok {
		return false
	}
	if iv.seen == nil {
		iv.seen = make(map[string]struct{})
	}
	iv.seen[id] = struct{}{}
	iv.order = append(iv.order, id)
	if len(iv.order) > seenInvalidations {
		delete(iv.seen, iv.order[0])
		iv.order = iv.order[1:]
	}
	return true
}

// list returns the recent invalidations, newest first.
func (iv *invalidations) list() []Invalidation {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	items := make([]Invalidation, 0, len(iv.recent))
	for i := len(iv.recent) - 1; i >= 0; i-- {
		items = append(items, iv.recent[i].inv)
	}
	return items
}

// update changes the remembered invalidation id.
func (iv *invalidations) update(id string, f func(*Invalidation)) {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	for i := range iv.recent {
		if iv.recent[i].inv.ID == id {
			f(&iv.recent[i].inv)
		}
	}
}

// invalidatedSince reports whether an invalidation after generation gen
// covers key.
func (e *Edge) invalidatedSince(gen uint64, key string) bool {
	iv := &e.invalidations
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.gen == gen {
		return false
	}
	if len(iv.recent) == 0 || iv.recent[0].gen > gen+1 {
		return true // older than what is remembered: be safe
	}
	p := keyPath(key)
	for _, r := range iv.recent {
		if r.gen > gen && pathsMatch(r.inv.Paths, p) {
			return true
		}
	}
	return false
}

// pathsMatch reports whether an invalidation path list covers path: a path
// ending in '*' covers everything below its prefix, any other path only
// itself (with any query string).
func pathsMatch(paths []string, path string) bool {
	for _, p := range paths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

// ValidatePaths checks an invalidation's path list: 1 to 3000 paths, each
// starting with '/', with '*' only at the end.
func ValidatePaths(paths []string) error {
	if len(paths) == 0 {
		return fmt.Errorf("no paths")
	}
	if len(paths) > maxInvalidationPaths {
		return fmt.Errorf("%d paths; at most %d at once", len(paths), maxInvalidationPaths)
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("path %q must start with /", p)
		}
		if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
			return fmt.Errorf("path %q: '*' may only end a path", p)
		}
	}
	return nil
}

// newInvalidation returns a new invalidation of paths accepted by node.
func newInvalidation(paths []string, node string, now time.Time) Invalidation {
	return Invalidation{
		ID: catalog.NewID("inv_"), Paths: append([]string(nil), paths...), CreatedAt: now.UTC(), Node: node,
	}
}

// Invalidate removes every stored object under paths (see pathsMatch),
// keeps in-flight fetches of them from being stored and, with an event
// bus, publishes the invalidation to the other edges (ctx bounds that;
// the result says whether it was published). The error is about paths
// only: a bus that is down does not fail the local invalidation.
func (e *Edge) Invalidate(ctx context.Context, paths []string) (Invalidation, error) {
	if err := ValidatePaths(paths); err != nil {
		return Invalidation{}, err
	}
	inv, _ := e.applyOnce(newInvalidation(paths, e.nodeID(), e.now()))
	if e.bus != nil {
		inv = e.publish(ctx, inv)
	}
	return inv, nil
}

// applyOnce removes what inv covers and records it, unless its ID was
// applied already (then applied is false and nothing is done).
func (e *Edge) applyOnce(inv Invalidation) (_ Invalidation, applied bool) {
	inv.Status = StatusCompleted
	iv := &e.invalidations
	iv.mu.Lock()
	if !iv.markSeen(inv.ID) {
		iv.mu.Unlock()
		return inv, false
	}
	iv.gen++
	iv.recent = append(iv.recent, invalidationRecord{gen: iv.gen, inv: inv})
	if len(iv.recent) > keptInvalidations {
		iv.recent = iv.recent[len(iv.recent)-keptInvalidations:]
	}
	iv.mu.Unlock()

	paths := inv.Paths
	n := e.cache.DeleteFunc(func(key string) bool { return pathsMatch(paths, keyPath(key)) })
	inv.Objects = n
	iv.update(inv.ID, func(r *Invalidation) { r.Objects = n })
	e.metrics.invalidated.Add(float64(n))
	e.log.Info("invalidated", "id", inv.ID, "node", inv.Node, "paths", paths, "objects", n)
	return inv, true
}
