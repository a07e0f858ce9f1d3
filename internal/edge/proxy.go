package edge

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// serveProxy answers a viewer's request from the cache or the origins; r's
// path is canonical (see ServeHTTP).
func (e *Edge) serveProxy(w http.ResponseWriter, r *http.Request) {
	rec := e.begin(w, r)
	defer e.end(rec)

	// Protected paths need a signature whatever the method (a CORS
	// preflight, which carries no cookies and reveals nothing, excepted).
	// Patterns are matched against the canonical path both decoded and
	// escaped, so that "/vod+x/*" covers /vod%2Bx/... too.
	if r.Method != http.MethodOptions && (e.protected(r.URL.Path) || e.protected(r.URL.EscapedPath())) {
		if err := e.verifySigned(r); err != nil {
			rec.cache = statusDenied
			rec.detail = err.Error()
			e.deny(rec, err)
			return
		}
	}
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || r.Header.Get("Authorization") != "" {
		// RFC 9111 §3.5: a shared cache does not answer requests carrying
		// credentials from its store; other methods are not cacheable.
		rec.cache = statusBypass
		e.bypass.ServeHTTP(rec, r)
		return
	}

	key, query := e.cacheKey(r)
	rec.blocking = blockingReload(query)
	path := keyPath(key)
	ae := acceptEncoding(r)
	now := e.now()
	ent := e.lookup(key, ae)
	if ent != nil {
		ttl := ent.Meta.TTL(now)
		if ttl > 0 {
			if e.serveEntry(rec, r, ent, cacheStatusHit(e.cfg.Name, ttl), statusHit) {
				return
			}
			ent = nil // its file vanished: a miss
		} else if -ttl <= ent.Meta.StaleWhileRevalidate {
			e.revalidate(key, ae, path, query, ent)
			if e.serveEntry(rec, r, ent, e.cfg.Name+"; hit; ttl="+seconds(ttl)+"; detail=stale-while-revalidate", statusUpdating) {
				return
			}
			ent = nil
		}
	}

	fkey := key + "\x00" + ae
	c := new(cursor)
	f, fresh, leader := e.join(fkey, func() *cache.Entry {
		if ent := e.lookup(key, ae); ent != nil && ent.Meta.TTL(e.now()) > 0 {
			return ent
		}
		return nil
	}, func() *flight {
		return newFlight(fkey, key, ae, path, ent, e.invalidations.generation())
	}, c)
	if fresh != nil {
		if e.serveEntry(rec, r, fresh, cacheStatusHit(e.cfg.Name, fresh.Meta.TTL(now)), statusHit) {
			return
		}
		// Extremely unlikely (evicted and unlinked between two lookups):
		// fall through to a flight of our own.
		f, _, leader = e.join(fkey, nil, func() *flight {
			return newFlight(fkey, key, ae, path, nil, e.invalidations.generation())
		}, c)
	}
	defer f.detach(c)
	if leader {
		e.wg.Add(1)
		go e.run(f, e.upstream(f, query))
	} else {
		rec.collapsed = true
	}
	e.serveFlight(rec, r, f, c, ent)
}

// lookup finds key's entry, following an Accept-Encoding variant marker.
func (e *Edge) lookup(key, ae string) *cache.Entry {
	ent, ok := e.cache.Get(key)
	if !ok {
		return nil
	}
	if ent.Meta.Status == 0 { // variant marker
		if ent, ok = e.cache.Get(aeVariant(key, ae)); !ok {
			return nil
		}
	}
	return ent
}

// upstream is the origin request of a flight: the object itself, with the
// validators of the entry being revalidated.
func (e *Edge) upstream(f *flight, query string) upstreamRequest {
	h := http.Header{
		"Via":        {e.via},
		"User-Agent": {"osprey-edge"},
	}
	if f.ae != "" {
		h["Accept-Encoding"] = []string{f.ae}
	}
	if f.stale != nil {
		if etag := f.stale.Meta.Header.Get("ETag"); etag != "" {
			h["If-None-Match"] = []string{etag}
		}
		if lm := f.stale.Meta.Header.Get("Last-Modified"); lm != "" {
			h["If-Modified-Since"] = []string{lm}
		}
	}
	return upstreamRequest{method: http.MethodGet, path: f.path, query: query, header: h, held: blockingReload(query)}
}

// revalidate starts (or joins) a background revalidation of an entry being
// served stale (stale-while-revalidate).
func (e *Edge) revalidate(key, ae, path, query string, ent *cache.Entry) {
	fkey := key + "\x00" + ae
	f, _, leader := e.join(fkey, nil, func() *flight {
		return newFlight(fkey, key, ae, path, ent, e.invalidations.generation())
	}, nil)
	if leader {
		e.wg.Add(1)
		go e.run(f, e.upstream(f, query))
	}
}

// serveFlight answers from a flight: streaming its body from cursor c, or
// from the stale entry when the origins failed and stale-if-error allows
// it. The caller detaches c afterwards.
func (e *Edge) serveFlight(rec *record, r *http.Request, f *flight, c *cursor, stale *cache.Entry) {
	ctx := r.Context()
	select {
	case <-f.ready:
	case <-ctx.Done():
		rec.cache = statusError
		return
	}
	rec.origin = f.origin
	rec.originStatus = f.status
	now := e.now()
	staleOK := stale != nil && -stale.Meta.TTL(now) <= stale.Meta.StaleIfError

	switch {
	case f.err != nil:
		if staleOK && e.serveEntry(rec, r, stale, e.cfg.Name+"; fwd=stale; ttl="+seconds(stale.Meta.TTL(now))+"; detail=stale-if-error", statusStale) {
			e.metrics.stale.WithLabelValues("error").Inc()
			return
		}
		e.originFailed(rec, f.err)
		return
	case f.status >= 500:
		if staleOK && e.serveEntry(rec, r, stale, e.cfg.Name+"; fwd=stale; fwd-status="+strconv.Itoa(f.status)+"; ttl="+seconds(stale.Meta.TTL(now))+"; detail=stale-if-error", statusStale) {
			e.metrics.stale.WithLabelValues("5xx").Inc()
			return
		}
	case f.refreshed != nil:
		if e.serveEntry(rec, r, f.refreshed, e.cfg.Name+"; fwd=stale; fwd-status=304; ttl="+seconds(f.refreshed.Meta.TTL(now)), statusRevalidated) {
			return
		}
		e.originFailed(rec, errors.New("revalidated object vanished"))
		return
	case f.pass != nil:
		if f.pass.claimed.CompareAndSwap(false, true) {
			defer close(f.pass.released)
			rec.cache = statusPass
			e.writeHead(rec, f, e.cfg.Name+"; fwd=miss; fwd-status="+strconv.Itoa(f.status)+"; detail=too-large")
			if r.Method != http.MethodHead {
				copyFlush(rec, f.pass.rc)
			}
			return
		}
		rec.cache = statusBypass
		e.bypass.ServeHTTP(rec, r)
		return
	}

	rec.cache = statusMiss
	if !f.storeable {
		rec.cache = statusPass
	}
	fwd := "miss"
	if stale != nil {
		fwd = "stale"
	}
	cs := e.cfg.Name + "; fwd=" + fwd + "; fwd-status=" + strconv.Itoa(f.status)
	if rec.collapsed {
		cs += "; collapsed"
	}
	if f.storeable {
		cs += "; stored"
	}

	// Ranges and conditionals need the whole object: wait for it and
	// answer like a hit would.
	if f.status == http.StatusOK && (r.Header.Get("Range") != "" || hasConditional(r)) {
		f.detach(c) // the flight must not wait for this viewer
		body, err := f.complete(ctx)
		if errors.Is(err, errWindowed) {
			// Too large to have been kept: ask the origin ourselves.
			rec.cache = statusBypass
			e.bypass.ServeHTTP(rec, r)
			return
		}
		if err != nil {
			e.originFailed(rec, err)
			return
		}
		e.serveBytes(rec, r, flightMeta(f, body, now), body, cs)
		return
	}

	e.writeHead(rec, f, cs)
	if r.Method == http.MethodHead {
		return
	}
	if f.size < 0 {
		// A body of unknown length may be produced as it is sent (a
		// preload-hinted LL-HLS part): the origin answered at once, so do
		// the viewers, instead of holding the headers until its first byte.
		rec.Flush()
	}
	e.streamFlight(rec, ctx, f, c)
}

// streamFlight copies the flight's body to the viewer as it arrives. On a
// windowed flight, whose other viewers wait for the slowest, a write that
// stays blocked for the stall limit cuts the viewer off (see stallCut).
// The limit applies from the first byte to every flight of unknown length,
// since any of them may turn windowed while a write to this viewer is
// already blocked.
func (e *Edge) streamFlight(rec *record, ctx context.Context, f *flight, c *cursor) {
	stall := stallCut{w: rec, limit: e.stallLimit()}
	defer stall.end()
	mayWindow := f.size < 0 // only a body of unknown length is windowed
	for {
		chunk, end, err := f.next(ctx, c)
		if end {
			if err != nil && ctx.Err() == nil {
				// The origin failed mid-body: cut the connection so the
				// viewer sees a broken response, not a short complete one.
				rec.broken = true
				panic(http.ErrAbortHandler)
			}
			return
		}
		if mayWindow {
			stall.beforeWrite()
		}
		if _, werr := rec.Write(chunk); werr != nil {
			return
		}
		rec.Flush()
		f.advance(c, len(chunk))
	}
}

// stallCut cuts a viewer whose writes stay blocked for limit. The
// connection's write deadline has one owner. Behind the front door
// (`osprey serve` and `osprey edge`), that is the guard, which moves it
// ahead of every write: it is asked to use limit for the rest of this
// response (httpguard.LimitStall), and the edge sets no deadline. Without
// a guard (an Edge served bare), the edge owns it: it sets one before
// every write and clears it at the end.
type stallCut struct {
	w     http.ResponseWriter
	limit time.Duration
	armed bool                     // the limit applies
	own   *http.ResponseController // no guard: the edge sets the deadline
	set   bool                     // the edge has set a deadline, to clear at the end
}

// beforeWrite applies the limit to the next write.
func (s *stallCut) beforeWrite() {
	if !s.armed {
		s.armed = true
		if !httpguard.LimitStall(s.w, s.limit) {
			s.own = http.NewResponseController(s.w)
		}
	}
	if s.own != nil && s.own.SetWriteDeadline(time.Now().Add(s.limit)) == nil {
		s.set = true
	}
}

// end clears the edge's own deadline, for the connection's next request.
func (s *stallCut) end() {
	if s.set {
		_ = s.own.SetWriteDeadline(time.Time{})
	}
}

// writeHead sends the flight's status and headers.
func (e *Edge) writeHead(rec *record, f *flight, cacheStatus string) {
	h := rec.Header()
	for k, v := range f.header {
		h[k] = v
	}
	if f.size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(f.size, 10))
	}
	h.Set("Age", seconds(f.age))
	e.addTrace(h, cacheStatus)
	rec.WriteHeader(f.status)
}

// flightMeta describes a completed flight's response like a cached one,
// to answer ranges and conditionals from it.
func flightMeta(f *flight, body []byte, now time.Time) *cache.Meta {
	return &cache.Meta{Key: f.key, Status: f.status, Header: f.header, Size: int64(len(body)), Stored: now, InitialAge: f.age}
}

func hasConditional(r *http.Request) bool {
	return r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" ||
		r.Header.Get("If-Match") != "" || r.Header.Get("If-Unmodified-Since") != ""
}

// originFailed answers 504 when the origins timed out, 502 otherwise.
func (e *Edge) originFailed(rec *record, err error) {
	rec.cache = statusError
	rec.detail = err.Error()
	status := http.StatusBadGateway
	var oe *originError
	if errors.As(err, &oe) && oe.timeout {
		status = http.StatusGatewayTimeout
	}
	h := rec.Header()
	h.Set("Cache-Control", "no-store")
	e.addTrace(h, e.cfg.Name+"; fwd=miss; detail=origin-unreachable")
	http.Error(rec, http.StatusText(status)+": the origin did not answer", status)
}

// seconds formats a duration as whole seconds (truncated toward zero).
func seconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}
