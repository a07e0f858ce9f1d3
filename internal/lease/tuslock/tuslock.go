// Package tuslock is a tusd handler.Locker on a lease.Leaser: with
// lease/postgres an upload is locked across every API node, so a PATCH
// through one node waits for (and asks to stop) a PATCH of the same upload
// through another, as tusd's memorylocker does within one process.
package tuslock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ospreyvideo/osprey/internal/lease"
)

const (
	// NamePrefix starts the lease name of an upload; its id follows.
	NamePrefix = "tus/"
	// pollEvery is how often a waiting Lock retries Acquire.
	pollEvery = 150 * time.Millisecond
	// askEvery is how often a waiting Lock asks the holder to let go again
	// (a request can be missed while the holder's node reconnects).
	askEvery = time.Second
)

// Locker hands out locks on uploads; it is safe for concurrent use.
type Locker struct {
	leaser lease.Leaser
	log    *slog.Logger
}

var _ handler.Locker = (*Locker)(nil)

// New returns a Locker on leaser.
func New(leaser lease.Leaser, log *slog.Logger) *Locker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Locker{leaser: leaser, log: log.With("component", "tuslock")}
}

// UseIn makes composer use l.
func (l *Locker) UseIn(composer *handler.StoreComposer) { composer.UseLocker(l) }

// NewLock returns an unlocked lock on upload id.
func (l *Locker) NewLock(id string) (handler.Lock, error) {
	return &lock{locker: l, name: NamePrefix + id}, nil
}

type lock struct {
	locker *Locker
	name   string

	mu      sync.Mutex
	held    lease.Lease
	stop    chan struct{}
	calling bool // the forwarder is calling requestRelease
	wg      sync.WaitGroup
}

// Lock waits until the upload's lease is taken or ctx ends
// (handler.ErrLockTimeout). While it waits it asks the holder, on any node,
// to release. Once held, requestRelease is called when another request
// asks for the upload, or when the lease is lost.
func (k *lock) Lock(ctx context.Context, requestRelease func()) error {
	var lastAsk time.Time
	var lastErr error
	for {
		ls, err := k.locker.leaser.Acquire(ctx, k.name)
		if err == nil {
			k.hold(ls, requestRelease)
			return nil
		}
		if !errors.Is(err, lease.ErrHeld) {
			lastErr = err
		} else if time.Since(lastAsk) >= askEvery {
			lastAsk = time.Now()
			if err := k.locker.leaser.RequestRelease(ctx, k.name); err != nil && ctx.Err() == nil {
				k.locker.log.Warn("asking the holder of an upload to release it", "lock", k.name, "err", err)
			}
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			if lastErr != nil {
				return fmt.Errorf("tuslock: locking %s: %w", k.name, lastErr)
			}
			return handler.ErrLockTimeout
		case <-t.C:
		}
	}
}

// hold forwards the lease's release requests and its loss to
// requestRelease until Unlock.
func (k *lock) hold(ls lease.Lease, requestRelease func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.held = ls
	k.stop = make(chan struct{})
	stop := k.stop
	k.wg.Go(func() {
		select {
		case <-ls.ReleaseRequested():
		case <-ls.Lost():
			k.locker.log.Warn("lost the lock of an upload; asking its request to stop", "lock", k.name)
		case <-stop:
			return
		}
		k.mu.Lock()
		k.calling = true
		k.mu.Unlock()
		if requestRelease != nil {
			requestRelease() // may call Unlock itself
		}
	})
}

// Unlock releases the upload's lease. It is idempotent.
func (k *lock) Unlock() error {
	k.mu.Lock()
	ls, stop, calling := k.held, k.stop, k.calling
	k.held, k.stop, k.calling = nil, nil, false
	k.mu.Unlock()
	if ls == nil {
		return nil
	}
	close(stop)
	if !calling {
		// Once calling, the forwarder returns right after requestRelease,
		// which may be this very call: waiting would deadlock.
		k.wg.Wait()
	}
	if err := ls.Release(); err != nil {
		return fmt.Errorf("tuslock: unlocking %s: %w", k.name, err)
	}
	return nil
}
