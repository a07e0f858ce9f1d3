// Package ingesttest holds test helpers for the ingest listeners: a fake
// Handler that records publications, a Contract publication that checks
// every promise as units arrive (for fuzz targets), a short test clip and a
// goroutine leak check.
package ingesttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/media"
)

// Handler is a fake ingest.Handler. It accepts the keys it was built with,
// refuses others with ingest.ErrUnknownKey and a second publisher on a live
// key with ingest.ErrBusy, like the real channel registry.
type Handler struct {
	// WriteErr, when set, is returned by every publication's WriteUnit.
	WriteErr error

	mu       sync.Mutex
	keys     map[string]bool
	live     map[string]bool
	requests []ingest.Request
	accepted int
	queue    []*Publication // accepted, not yet taken by NextPublication
	notify   chan struct{}
}

// NewHandler returns a handler accepting keys.
func NewHandler(keys ...string) *Handler {
	h := &Handler{keys: map[string]bool{}, live: map[string]bool{}, notify: make(chan struct{}, 1)}
	for _, k := range keys {
		h.keys[k] = true
	}
	return h
}

// Publish implements ingest.Handler.
func (h *Handler) Publish(_ context.Context, req ingest.Request) (ingest.Publication, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	if !h.keys[req.StreamKey] {
		return nil, fmt.Errorf("key %q: %w", ingest.RedactKey(req.StreamKey), ingest.ErrUnknownKey)
	}
	if h.live[req.StreamKey] {
		return nil, fmt.Errorf("key %q: %w", ingest.RedactKey(req.StreamKey), ingest.ErrBusy)
	}
	h.live[req.StreamKey] = true
	h.accepted++
	p := &Publication{
		Req:     req,
		h:       h,
		started: make(chan struct{}),
		closed:  make(chan struct{}),
		changed: make(chan struct{}, 1),
	}
	h.queue = append(h.queue, p)
	select {
	case h.notify <- struct{}{}:
	default:
	}
	return p, nil
}

// Requests returns the Publish calls so far.
func (h *Handler) Requests() []ingest.Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

// Published returns how many publications were accepted so far.
func (h *Handler) Published() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accepted
}

// NextPublication waits for the next accepted publication.
func (h *Handler) NextPublication(t testing.TB, timeout time.Duration) *Publication {
	t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		if len(h.queue) > 0 {
			p := h.queue[0]
			h.queue = h.queue[1:]
			h.mu.Unlock()
			return p
		}
		h.mu.Unlock()
		select {
		case <-h.notify:
		case <-deadline:
			t.Fatalf("no publication within %s", timeout)
			return nil
		}
	}
}

// Publication records what a listener delivers.
type Publication struct {
	Req ingest.Request

	h       *Handler
	started chan struct{}
	closed  chan struct{}
	changed chan struct{}

	mu         sync.Mutex
	tracks     []*media.Track
	units      []Unit
	cause      error
	starts     int
	closes     int
	afterClose int // units or Start calls received after Close
}

// Unit is a unit as delivered, with its track index.
type Unit struct {
	Track int
	media.Unit
}

// Start implements ingest.Publication.
func (p *Publication) Start(tracks []*media.Track) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts++
	if p.closes > 0 {
		p.afterClose++
	}
	if p.starts == 1 {
		p.tracks = tracks
		close(p.started)
	}
	return nil
}

// WriteUnit implements ingest.Publication.
func (p *Publication) WriteUnit(track int, u *media.Unit) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closes > 0 || p.starts == 0 {
		p.afterClose++
	}
	p.units = append(p.units, Unit{Track: track, Unit: *u})
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return p.h.WriteErr
}

// Close implements ingest.Publication.
func (p *Publication) Close(cause error) {
	p.mu.Lock()
	p.closes++
	first := p.closes == 1
	if first {
		p.cause = cause
	}
	p.mu.Unlock()
	if first {
		p.h.mu.Lock()
		delete(p.h.live, p.Req.StreamKey)
		p.h.mu.Unlock()
		close(p.closed)
	}
}

// WaitStarted waits for Start and returns its tracks.
func (p *Publication) WaitStarted(t testing.TB, timeout time.Duration) []*media.Track {
	t.Helper()
	select {
	case <-p.started:
	case <-time.After(timeout):
		t.Fatalf("publication not started within %s", timeout)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tracks
}

// WaitUnits waits until at least n units arrived and returns a copy of all of them.
func (p *Publication) WaitUnits(t testing.TB, n int, timeout time.Duration) []Unit {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if u := p.Units(); len(u) >= n {
			return u
		}
		select {
		case <-p.changed:
		case <-p.closed:
			if u := p.Units(); len(u) >= n {
				return u
			}
			t.Fatalf("publication closed (cause %v) after %d units, want %d", p.Cause(), len(p.Units()), n)
		case <-deadline:
			t.Fatalf("got %d units within %s, want %d", len(p.Units()), timeout, n)
		}
	}
}

// Units returns a copy of the units received so far.
func (p *Publication) Units() []Unit {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.units)
}

// WaitClosed waits for Close and returns its cause.
func (p *Publication) WaitClosed(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(timeout):
		t.Fatalf("publication not closed within %s", timeout)
	}
	return p.Cause()
}

// Closed reports whether Close was called.
func (p *Publication) Closed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// Cause returns the cause Close was called with.
func (p *Publication) Cause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause
}

// CheckContract fails t if Start or Close were called other than once, or
// anything arrived before Start or after Close. Call it after WaitClosed.
func (p *Publication) CheckContract(t testing.TB) {
	t.Helper()
	// let a wrongly late second Close land before counting
	time.Sleep(20 * time.Millisecond)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closes != 1 {
		t.Errorf("Close called %d times, want 1", p.closes)
	}
	if p.starts > 1 {
		t.Errorf("Start called %d times, want at most 1", p.starts)
	}
	if p.afterClose != 0 {
		t.Errorf("%d calls arrived before Start or after Close", p.afterClose)
	}
}
