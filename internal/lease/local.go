package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Local is a Leaser whose table lives in this process: the embedded
// install's leases, where one process is the whole cluster. Peer gives
// other Leasers on the same table, each behaving as a separate node.
type Local struct {
	table *localTable

	mu     sync.Mutex
	closed bool
	mine   map[string]*localLease
}

type localTable struct {
	mu    sync.Mutex
	names map[string]*localLease
}

// NewLocal returns a Leaser with a new, empty in-process table.
func NewLocal() *Local {
	return newLocalOn(&localTable{names: make(map[string]*localLease)})
}

func newLocalOn(t *localTable) *Local {
	return &Local{table: t, mine: make(map[string]*localLease)}
}

// Peer returns another Leaser on l's table, as a second node would be:
// it shares exclusivity with l, and closing one leaves the other's leases.
func (l *Local) Peer() *Local { return newLocalOn(l.table) }

var errLocalClosed = errors.New("lease: leaser closed")

// Acquire takes name, or fails with an error wrapping ErrHeld.
func (l *Local) Acquire(ctx context.Context, name string) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lease: acquiring %q: %w", name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errLocalClosed
	}
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	if _, ok := l.table.names[name]; ok {
		return nil, fmt.Errorf("%w: %q", ErrHeld, name)
	}
	ls := &localLease{owner: l, name: name, lost: make(chan struct{}), requested: make(chan struct{})}
	l.table.names[name] = ls
	l.mine[name] = ls
	return ls, nil
}

// Held reports whether any Leaser on the table holds name.
func (l *Local) Held(ctx context.Context, name string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	_, ok := l.table.names[name]
	return ok, nil
}

// RequestRelease closes the holder's ReleaseRequested channel.
func (l *Local) RequestRelease(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	if ls, ok := l.table.names[name]; ok {
		ls.requestOnce.Do(func() { close(ls.requested) })
	}
	return nil
}

// Close releases l's leases, closing their Lost channels.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.table.mu.Lock()
	defer l.table.mu.Unlock()
	for name, ls := range l.mine {
		delete(l.table.names, name)
		ls.released = true
		close(ls.lost)
	}
	l.mine = nil
	return nil
}

type localLease struct {
	owner       *Local
	name        string
	lost        chan struct{}
	requested   chan struct{}
	requestOnce sync.Once
	released    bool // guarded by owner.mu
}

func (ls *localLease) Name() string                      { return ls.name }
func (ls *localLease) Lost() <-chan struct{}             { return ls.lost }
func (ls *localLease) ReleaseRequested() <-chan struct{} { return ls.requested }

func (ls *localLease) Release() error {
	l := ls.owner
	l.mu.Lock()
	defer l.mu.Unlock()
	if ls.released {
		return nil
	}
	ls.released = true
	delete(l.mine, ls.name)
	l.table.mu.Lock()
	delete(l.table.names, ls.name)
	l.table.mu.Unlock()
	return nil
}
