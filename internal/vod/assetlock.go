package vod

import "sync"

// assetLocks serialises the subtitle changes of one asset with each other
// and with the asset's publication, in this process: lock(id) for one
// asset, so work on different assets never waits for each other. An entry
// lives only while someone holds or waits for its lock, so the map holds
// at most as many entries as there are goroutines in lock.
//
// The zero value is ready to use.
//
// It is memory of one process. The subtitle list itself is safe across
// processes (UpdateAsset reads and writes it in one catalog transaction),
// but what the lock orders around it is not: with several nodes on one
// catalog, a track added on node B while node A publishes the asset could
// be listed on the ready asset and missing from its manifests. That needs
// a guard in the catalog: the update that marks the asset ready must find
// the subtitle list it published (else publish again), and AddSubtitle
// must publish again if the list changed while it published.
type assetLocks struct {
	mu      sync.Mutex
	entries map[string]*assetLock
}

// assetLock is the lock of one asset.
type assetLock struct {
	mu   sync.Mutex
	refs int // holders and waiters; guarded by assetLocks.mu
}

// lock takes asset id's lock and returns the function that releases it
// (once).
func (l *assetLocks) lock(id string) (unlock func()) {
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
