package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/cache"
)

// A flight is one origin request shared by every viewer who asked for the
// same object while it ran (request collapsing). Its leader goroutine reads
// the origin's body into buf; each viewer streams buf as it grows, so the
// first bytes reach every waiting viewer as soon as they arrive. When the
// body is complete the response is stored, and only then does the flight
// leave the map: a request either joins the flight or finds the object in
// the cache.
//
// A body of unknown length that grows past MaxObjectSize cannot be stored,
// and must not be held whole either: the flight then leaves the map (a
// later viewer makes its own origin request) and becomes a pass-through
// stream for the viewers already on it, holding only a window of the body
// (see window.go).
type flight struct {
	fkey  string       // key in Edge.flights: cache key + accept-encoding
	key   string       // cache key
	ae    string       // accept-encoding asked of the origin
	path  string       // escaped path, for TTL rules and invalidation
	stale *cache.Entry // the expired entry being revalidated, if any
	gen   uint64       // invalidation generation when the flight started

	ready chan struct{} // closed once the fields below are set
	done  chan struct{} // closed when the flight is over

	status    int
	header    http.Header // response header in stored form
	size      int64       // body length, -1 when unknown
	age       time.Duration
	origin    string
	err       error        // no usable response at all
	refreshed *cache.Entry // 304: the revalidated entry to serve
	pass      *passBody    // too large to buffer: one viewer takes the body
	storeable bool         // the response may be stored (if it completes)

	mu      sync.Mutex
	buf     []byte // the body so far (before windowing)
	end     bool
	bodyErr error
	wake    chan struct{} // closed and replaced whenever the body grows or ends
	win     window        // the body's window, once windowed
	cursors map[*cursor]struct{}
	moved   chan struct{} // a viewer advanced or left (capacity 1)

	joined atomic.Int32 // viewers beyond the first
}

// A cursor is one viewer's position in a flight's body: the bytes before
// off have been written to the viewer.
type cursor struct{ off int64 }

// passBody hands an uncacheable large body to exactly one viewer.
type passBody struct {
	rc       io.ReadCloser
	claimed  atomic.Bool
	released chan struct{}
}

// errTruncated marks an origin body shorter than its Content-Length.
var errTruncated = errors.New("origin body ended early")

func newFlight(fkey, key, ae, path string, stale *cache.Entry, gen uint64) *flight {
	return &flight{
		fkey: fkey, key: key, ae: ae, path: path, stale: stale, gen: gen,
		ready: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}),
		size: -1, cursors: map[*cursor]struct{}{}, moved: make(chan struct{}, 1),
	}
}

// join returns the flight for fkey, starting one if none runs. Under the
// same lock it first calls recheck, which looks in the cache again: a
// flight that ended between the caller's lookup and now has stored its
// object. A non-nil entry from recheck is returned instead of a flight.
// A viewer's cursor c (nil for a background revalidation) is attached to
// the flight under the lock too, so that the flight cannot drop the start
// of its body before the viewer has it (see window.go); the caller
// detaches it when done.
func (e *Edge) join(fkey string, recheck func() *cache.Entry, start func() *flight, c *cursor) (*flight, *cache.Entry, bool) {
	e.flightsMu.Lock()
	if f := e.flights[fkey]; f != nil {
		f.attach(c)
		e.flightsMu.Unlock()
		f.joined.Add(1)
		return f, nil, false
	}
	if recheck != nil {
		if ent := recheck(); ent != nil {
			e.flightsMu.Unlock()
			return nil, ent, false
		}
	}
	f := start()
	f.attach(c)
	e.flights[fkey] = f
	e.flightsMu.Unlock()
	return f, nil, true
}

// attach registers a viewer's cursor (nil: none).
func (f *flight) attach(c *cursor) {
	if c == nil {
		return
	}
	f.mu.Lock()
	f.cursors[c] = struct{}{}
	f.mu.Unlock()
}

// detach unregisters a viewer's cursor; it may be called more than once.
func (f *flight) detach(c *cursor) {
	if c == nil {
		return
	}
	f.mu.Lock()
	delete(f.cursors, c)
	f.mu.Unlock()
	f.signalMoved()
}

// advance records that a viewer has written n more bytes, and wakes the
// leader of a windowed flight, which may be waiting for this viewer.
func (f *flight) advance(c *cursor, n int) {
	f.mu.Lock()
	c.off += int64(n)
	windowed := f.win.on
	f.mu.Unlock()
	if windowed {
		f.signalMoved()
	}
}

// stallLimit is how long an origin body may send nothing, and how long a
// write to a viewer of a flight that may turn windowed (unknown length)
// may block, before it is cut off.
func (e *Edge) stallLimit() time.Duration {
	return max(10*e.cfg.OriginTimeout, 10*time.Second)
}

// signalMoved wakes the leader if it waits for viewers (see window.go).
func (f *flight) signalMoved() {
	select {
	case f.moved <- struct{}{}:
	default:
	}
}

func (e *Edge) leave(f *flight) {
	e.flightsMu.Lock()
	if e.flights[f.fkey] == f {
		delete(e.flights, f.fkey)
	}
	e.flightsMu.Unlock()
}

// run is the leader: it fetches from the origins and fills the flight.
func (e *Edge) run(f *flight, ur upstreamRequest) {
	defer e.wg.Done()
	defer close(f.done)
	got, err := e.fetch(e.ctx, ur)
	if err != nil {
		f.err = err
		e.leave(f)
		close(f.ready)
		return
	}
	resp := got.resp
	f.origin = got.origin.name
	now := e.now()

	if resp.StatusCode == http.StatusNotModified {
		defer got.close()
		if f.stale == nil {
			f.err = &originError{origin: got.origin.name, err: errors.New("unexpected 304 to an unconditional request")}
		} else {
			f.refreshed = e.refresh(f, resp.Header, now)
			f.status = http.StatusNotModified
		}
		e.leave(f)
		close(f.ready)
		return
	}

	f.status = resp.StatusCode
	f.header = storedHeader(resp.Header)
	f.size = resp.ContentLength
	f.age = initialAge(resp.Header)
	fr := e.decide(f.path, resp.StatusCode, f.header, now)
	if vary := varyNames(f.header); fr.store && len(vary) > 0 && (len(vary) > 1 || vary[0] != "accept-encoding") {
		fr = freshness{why: "vary " + strings.Join(vary, ",")}
	}
	f.storeable = fr.store

	if f.size > e.cfg.MaxObjectSize {
		// Too large to hold in memory: the first viewer streams it straight
		// through; others who joined fetch it themselves.
		p := &passBody{rc: resp.Body, released: make(chan struct{})}
		f.pass = p
		f.storeable = false
		e.leave(f)
		close(f.ready)
		select {
		case <-p.released:
		case <-time.After(10 * time.Second):
			if !p.claimed.CompareAndSwap(false, true) {
				<-p.released
			}
		case <-e.ctx.Done():
		}
		got.close()
		return
	}
	defer got.close()

	initial := f.size
	if initial < 0 {
		initial = 64 << 10
	}
	buf := make([]byte, 0, initial)
	f.buf = buf
	close(f.ready)

	idleLimit := e.stallLimit()
	idle := time.AfterFunc(idleLimit, got.cancel)
	defer idle.Stop()
	var readErr error
	for {
		if len(buf) == cap(buf) {
			// Grow, but never much past the limit: past it, the body
			// goes through a window instead.
			size := 2*cap(buf) + 4096
			if int64(size) > e.cfg.MaxObjectSize {
				size = int(e.cfg.MaxObjectSize) + windowChunk
			}
			grown := make([]byte, len(buf), size)
			copy(grown, buf)
			buf = grown
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		if n > 0 {
			idle.Reset(idleLimit)
			buf = buf[:len(buf)+n]
			if int64(len(buf)) == f.size {
				// Complete: store before the viewers get the last bytes,
				// so that a viewer who has the whole body finds the
				// object in the cache on its next request.
				break
			}
			f.publish(buf, false, nil)
			if int64(len(buf)) > e.cfg.MaxObjectSize && err == nil {
				// Too large to store, length unknown: stream the rest
				// through a bounded window.
				e.streamWindowed(f, got, buf, idle, idleLimit)
				return
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("reading from origin %s: %w", got.origin.name, err)
			break
		}
	}
	if readErr == nil && f.size >= 0 && int64(len(buf)) != f.size {
		readErr = fmt.Errorf("origin %s sent %d of %d bytes: %w", got.origin.name, len(buf), f.size, errTruncated)
	}
	if readErr != nil {
		e.log.Warn("origin body failed", "path", f.path, "err", readErr)
		e.leave(f)
		f.publish(buf, true, readErr)
		return
	}
	// Store and leave the map at once (see join): a viewer who saw the new
	// object in the cache never joins this finished flight, and one who
	// joins it gets the same object.
	e.flightsMu.Lock()
	if f.storeable && int64(len(buf)) <= e.cfg.MaxObjectSize && !e.invalidatedSince(f.gen, f.key) {
		e.store(f, fr, buf, now)
	}
	if e.flights[f.fkey] == f {
		delete(e.flights, f.fkey)
	}
	e.flightsMu.Unlock()
	f.publish(buf, true, nil)
}

// publish makes buf visible to the viewers and wakes them.
func (f *flight) publish(buf []byte, end bool, err error) {
	f.mu.Lock()
	f.buf = buf
	if end {
		f.end = true
		f.bodyErr = err
	}
	wake := f.wake
	f.wake = make(chan struct{})
	f.mu.Unlock()
	close(wake)
}

// next returns the body bytes from c.off on, waiting until there are
// some; end is true (with chunk empty) once the body is complete or failed.
// The caller calls advance once it has written the chunk.
func (f *flight) next(ctx context.Context, c *cursor) (chunk []byte, end bool, err error) {
	for {
		f.mu.Lock()
		var behind bool
		chunk, behind = f.at(c.off)
		if len(chunk) > 0 {
			f.mu.Unlock()
			return chunk, false, nil
		}
		if behind {
			f.mu.Unlock()
			return nil, true, errFellBehind
		}
		if f.end {
			err = f.bodyErr
			f.mu.Unlock()
			return nil, true, err
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, true, ctx.Err()
		}
	}
}

// complete waits for the end of the body and returns it whole.
func (f *flight) complete(ctx context.Context) ([]byte, error) {
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.win.on {
		return nil, errWindowed
	}
	return f.buf, f.bodyErr
}

// at returns the body bytes held from off on (nil when there are none
// yet); behind is true when the bytes at off were dropped already.
func (f *flight) at(off int64) (chunk []byte, behind bool) {
	if f.win.on {
		return f.win.at(off)
	}
	if int64(len(f.buf)) > off {
		return f.buf[off:], false
	}
	return nil, false
}

// store puts a complete response in the cache: under its key, or, when it
// varies on Accept-Encoding, under the variant key with a marker at the key.
func (e *Edge) store(f *flight, fr freshness, body []byte, now time.Time) {
	meta := cache.Meta{
		Key:                  f.key,
		Status:               f.status,
		Header:               f.header,
		Size:                 int64(len(body)),
		Stored:               now,
		InitialAge:           f.age,
		Fresh:                fr.fresh,
		StaleWhileRevalidate: fr.swr,
		StaleIfError:         fr.sie,
	}
	if len(varyNames(f.header)) > 0 {
		marker := meta
		marker.Status = 0
		marker.Header = http.Header{"Vary": {"Accept-Encoding"}}
		marker.Size = 0
		e.cache.Put(marker, nil)
		meta.Key = aeVariant(f.key, f.ae)
	}
	e.cache.Put(meta, body)
}

// aeVariant is the key of the Accept-Encoding variant of key.
func aeVariant(key, ae string) string { return key + "\x00ae=" + ae }

// refresh applies a 304 to the entry being revalidated (RFC 9111 §4.3.4:
// the stored headers are updated with those of the 304) and returns the
// entry to serve.
func (e *Edge) refresh(f *flight, h http.Header, now time.Time) *cache.Entry {
	header := f.stale.Meta.Header.Clone()
	for k, v := range storedHeader(h) {
		switch k {
		case "Content-Length", "Content-Encoding", "Content-Type", "Content-Range":
			continue
		}
		header[k] = v
	}
	fr := e.decide(f.path, f.stale.Meta.Status, header, now)
	update := func(m *cache.Meta) {
		m.Header = header
		m.Stored = now
		m.InitialAge = initialAge(h)
		m.Fresh = fr.fresh
		m.StaleWhileRevalidate = fr.swr
		m.StaleIfError = fr.sie
	}
	if fr.store && !e.invalidatedSince(f.gen, f.key) {
		if e.cache.Refresh(f.stale.Meta.Key, update) {
			if ent, ok := e.cache.Get(f.stale.Meta.Key); ok {
				return ent
			}
		}
	}
	ent := *f.stale
	update(&ent.Meta)
	return &ent
}

// hopByHop are the headers that describe one connection, not the response.
var hopByHop = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// storedHeader copies an origin response's header without hop-by-hop
// fields, Age and Content-Length (both are set when serving).
func storedHeader(h http.Header) http.Header {
	out := h.Clone()
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			out.Del(strings.TrimSpace(name))
		}
	}
	for _, name := range hopByHop {
		out.Del(name)
	}
	out.Del("Age")
	out.Del("Content-Length")
	return out
}
