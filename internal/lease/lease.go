// Package lease gives named, cluster-wide, exclusive leases: a channel is
// live on at most one ingest node, a worker's liveness is a lease other
// workers can test, a tus upload is locked across API nodes.
//
// A Leaser is one node's view of the lease table. NewLocal keeps the table
// in process memory (the embedded install, one process); lease/postgres
// keeps it in PostgreSQL session advisory locks, so that a node that dies
// loses its leases as soon as PostgreSQL notices its connection is gone.
//
// A Lease is exclusive while its Lost channel is open. A holder must stop
// acting on what the lease protects when Lost closes: that happens before
// another node can take it (lease/postgres closes it when its own
// connection to PostgreSQL fails, before the server frees the lock).
package lease

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrHeld is wrapped by Acquire's error when another holder (another node,
// or another Lease of this node) has the name.
var ErrHeld = errors.New("lease: held by another node")

// Leaser takes and tests leases for one node.
type Leaser interface {
	// Acquire takes name for this node, or fails at once with an error
	// wrapping ErrHeld when it is held (by any node, this one included).
	Acquire(ctx context.Context, name string) (Lease, error)
	// Held reports whether some live node holds name (a reaper's question).
	Held(ctx context.Context, name string) (bool, error)
	// RequestRelease asks the holder of name, on any node, to let it go:
	// its Lease's ReleaseRequested closes. Asking for a name nobody holds
	// does nothing.
	RequestRelease(ctx context.Context, name string) error
	// Close releases every lease of this node (their Lost channels close)
	// and stops the Leaser. It is idempotent.
	Close() error
}

// Lease is one held name.
type Lease interface {
	Name() string
	// Lost is closed when exclusivity can no longer be guaranteed (the
	// node lost its connection to the lease table, or the Leaser closed).
	// It is not closed by Release.
	Lost() <-chan struct{}
	// ReleaseRequested is closed when another holder asked for the name.
	ReleaseRequested() <-chan struct{}
	// Release gives the name back. It is idempotent, and a no-op once Lost.
	Release() error
}

// Wait takes name, trying again every poll while it is held or the lease
// table does not answer, until ctx ends; then the error says why (ctx's
// cause, and the last refusal).
func Wait(ctx context.Context, l Leaser, name string, poll time.Duration) (Lease, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var refused error
	for {
		ls, err := l.Acquire(ctx, name)
		if err == nil {
			return ls, nil
		}
		if refused == nil || ctx.Err() == nil { // not the attempt ctx cut short
			refused = err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lease: waiting for %s: %w (last attempt: %w)", name, context.Cause(ctx), refused)
		case <-t.C:
		}
	}
}
