package vod

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease"
)

// assetLocks serialises the subtitle changes of one asset with each other
// and with the asset's publication: lock(ctx, id) for one asset, so work on
// different assets never waits for each other. In this process an entry
// lives only while someone holds or waits for its lock, so the map holds
// at most as many entries as there are goroutines in lock.
//
// With leases (several nodes on one catalog) the lock is also a lease
// named assetLeasePrefix+id, taken after the process's own lock: a track
// added through API node B while worker A publishes the asset waits for
// A's publication, then publishes again itself, so that no track is listed
// on the asset and missing from its manifests. (The subtitle list alone
// would be safe: UpdateAsset reads and writes it in one transaction.)
//
// The zero value is ready to use (in this process only).
type assetLocks struct {
	leases  lease.Leaser // nil: this process only
	mu      sync.Mutex
	entries map[string]*assetLock
}

// assetLeasePrefix names an asset's lease.
const assetLeasePrefix = "vod/asset/"

// assetLeasePoll is how often a lock held on another node is tried again.
const assetLeasePoll = 50 * time.Millisecond

// assetLock is the lock of one asset.
type assetLock struct {
	mu   sync.Mutex
	refs int // holders and waiters; guarded by assetLocks.mu
}

// lock takes asset id's lock and returns the function that releases it
// (once). It fails only with leases, when ctx ends before another node
// lets the asset go or while the lease table does not answer.
func (l *assetLocks) lock(ctx context.Context, id string) (unlock func(), err error) {
	local := l.lockLocal(id)
	if l.leases == nil {
		return local, nil
	}
	ls, err := lease.Wait(ctx, l.leases, assetLeasePrefix+id, assetLeasePoll)
	if err != nil {
		local()
		return nil, fmt.Errorf("locking asset %s: %w", id, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = ls.Release() // a lost lease is free anyway
			local()
		})
	}, nil
}

// lockLocal takes asset id's lock in this process.
func (l *assetLocks) lockLocal(id string) (unlock func()) {
	l.mu.Lock()
	if l.entries == nil {
		l.entries = map[string]*assetLock{}
	}
	e := l.entries[id]
	if e == nil {
		e = &assetLock{}
		l.entries[id] = e
	}
	e.refs++
	l.mu.Unlock()

	e.mu.Lock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Unlock()
			l.mu.Lock()
			if e.refs--; e.refs == 0 {
				delete(l.entries, id)
			}
			l.mu.Unlock()
		})
	}
}
