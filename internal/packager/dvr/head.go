package dvr

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// head is what every request about a channel's DVR window reads first: the
// catalog (dvr.json) and the newest chunk, which is open and changes with
// every segment. A Reader with a reuse time keeps each channel's head
// that long and lets concurrent requests share one read, so that players
// reloading time-shifted playlists and the DVR window cost the store a
// few reads per second per channel, not two per request.
type head struct {
	c        *Catalog
	from, to time.Time
	last     *manifest.View
}

// headFetchTimeout bounds a shared read of a head: it runs on behalf of
// every request waiting for it, so no single request's context cancels it.
const headFetchTimeout = 10 * time.Second

// maxHeads bounds how many channels' heads a Reader keeps; past it, the
// stale ones are dropped.
const maxHeads = 4096

type headCache struct {
	reuse time.Duration
	now   func() time.Time
	mu    sync.Mutex
	heads map[string]*headCall // by channel prefix
}

// headCall is one read of a channel's head, in flight until done closes.
type headCall struct {
	done chan struct{}
	h    *head
	err  error
	at   time.Time // when the read finished
}

func newHeadCache(reuse time.Duration) *headCache {
	return &headCache{reuse: reuse, now: time.Now, heads: map[string]*headCall{}}
}

// get returns the head of the channel under prefix: the one read less
// than the reuse time ago, the one being read, or a new read by fetch.
// Errors other than ErrNoIndex are not kept.
func (hc *headCache) get(ctx context.Context, prefix string, fetch func(context.Context) (*head, error)) (*head, error) {
	hc.mu.Lock()
	call, ok := hc.heads[prefix]
	if !ok || hc.stale(call) {
		call = &headCall{done: make(chan struct{})}
		if len(hc.heads) >= maxHeads {
			hc.dropStale()
		}
		hc.heads[prefix] = call
		go hc.fetch(prefix, call, fetch)
	}
	hc.mu.Unlock()
	select {
	case <-call.done:
		return call.h, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (hc *headCache) fetch(prefix string, call *headCall, fetch func(context.Context) (*head, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), headFetchTimeout)
	defer cancel()
	h, err := fetch(ctx)
	hc.mu.Lock()
	defer hc.mu.Unlock()
	call.h, call.err, call.at = h, err, hc.now()
	close(call.done)
	if err != nil && !errors.Is(err, ErrNoIndex) && hc.heads[prefix] == call {
		delete(hc.heads, prefix) // the next request reads again
	}
}

// forget drops the channel's head: the next request reads it again.
func (hc *headCache) forget(prefix string) {
	hc.mu.Lock()
	delete(hc.heads, prefix)
	hc.mu.Unlock()
}

// stale reports whether a finished read is older than the reuse time.
// Called with mu held.
func (hc *headCache) stale(call *headCall) bool {
	select {
	case <-call.done:
		return hc.now().Sub(call.at) >= hc.reuse
	default:
		return false // in flight: share it
	}
}

// dropStale forgets the heads older than the reuse time. Called with mu
// held.
func (hc *headCache) dropStale() {
	for p, call := range hc.heads {
		if hc.stale(call) {
			delete(hc.heads, p)
		}
	}
}
