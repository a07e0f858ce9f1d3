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
	buf     []byte
	end     bool
	bodyErr error
	wake    chan struct{} // closed and replaced whenever buf grows or ends

	joined atomic.Int32 // viewers beyond the first
}

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
		size: -1,
	}
}

// join returns the flight for fkey, starting one if none runs. Under the
// same lock it first calls recheck, which looks in the cache again: a
// flight that ended between the caller's lookup and now has stored its
// object. A non-nil entry from recheck is returned instead of a flight.
func (e *Edge) join(fkey string, recheck func() *cache.Entry, start func() *flight) (*flight, *cache.Entry, bool) {
	e.flightsMu.Lock()
	if f := e.flights[fkey]; f != nil {
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
	e.flights[fkey] = f
	e.flightsMu.Unlock()
	return f, nil, true
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

	idleLimit := max(10*e.cfg.OriginTimeout, 10*time.Second)
	idle := time.AfterFunc(idleLimit, got.cancel)
	defer idle.Stop()
	var readErr error
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), 2*cap(buf)+4096)
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
			if int64(len(buf)) > e.cfg.MaxObjectSize {
				f.storeable = false // keep streaming, never store
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
	if f.storeable && !e.invalidatedSince(f.gen, f.key) {
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

// next returns the body bytes from off on, waiting until there are some;
// end is true (with chunk empty) once the body is complete or failed.
func (f *flight) next(ctx context.Context, off int) (chunk []byte, end bool, err error) {
	for {
		f.mu.Lock()
		if len(f.buf) > off {
			chunk = f.buf[off:]
			f.mu.Unlock()
			return chunk, false, nil
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
	return f.buf, f.bodyErr
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
