package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// origin is one upstream with its health: an origin that failed to answer
// (connect error or timeout) is down until downUntil and is then tried
// again; meanwhile a probe may bring it back earlier.
type origin struct {
	base      *url.URL // scheme, host and path prefix (no trailing slash)
	prefix    string   // base as a string: requests append the escaped path
	name      string
	downUntil atomic.Int64 // UnixNano; 0 when up
	probing   atomic.Bool
}

// url returns the origin's URL for an escaped path and a query.
func (o *origin) url(escapedPath, query string) string {
	u := o.prefix + escapedPath
	if query != "" {
		u += "?" + query
	}
	return u
}

// up reports whether the origin should be tried first.
func (o *origin) up(now time.Time) bool {
	d := o.downUntil.Load()
	return d == 0 || now.UnixNano() >= d
}

// originError is a failed origin attempt, for logs and the 502/504 answer.
type originError struct {
	origin  string
	timeout bool
	err     error
}

func (e *originError) Error() string {
	if e.timeout {
		return fmt.Sprintf("origin %s timed out: %v", e.origin, e.err)
	}
	return fmt.Sprintf("origin %s: %v", e.origin, e.err)
}
func (e *originError) Unwrap() error { return e.err }

// upstreamRequest describes what to ask the origins for.
type upstreamRequest struct {
	method string
	path   string // escaped path
	query  string // forwarded query
	header http.Header
	held   bool // a blocking reload: the origin may hold it (llhls.go)
}

// lastOriginTimeout bounds the wait for the response headers of the last
// origin left to try (nginx's proxy_read_timeout is 60 s).
const lastOriginTimeout = 30 * time.Second

// fetched is the response chosen among the origins.
type fetched struct {
	resp   *http.Response
	origin *origin
	cancel context.CancelFunc // ends the attempt's context (body reads)
}

// order returns the origins in the order to try them: those up, in their
// configured order, then those down (so that something is tried when every
// origin is marked down).
func (e *Edge) order(now time.Time) []*origin {
	if len(e.origins) == 1 {
		return e.origins
	}
	list := make([]*origin, 0, len(e.origins))
	for _, o := range e.origins {
		if o.up(now) {
			list = append(list, o)
		}
	}
	for _, o := range e.origins {
		if !o.up(now) {
			list = append(list, o)
		}
	}
	return list
}

// fetch sends ur to the origins in order until one answers below 500. A
// connect error or a timeout marks the origin down; a 5xx only moves this
// request on. When every origin fails, the last 5xx response is returned
// if there was one, else the last error. ctx bounds the whole exchange,
// body included; each attempt's wait for headers is bounded by
// OriginTimeout, except the last origin's (lastOriginTimeout). A blocking
// reload (ur.held) waits holdTimeout on every origin, and neither a timeout
// nor a 5xx that came after the origin held it moves it on (llhls.go).
func (e *Edge) fetch(ctx context.Context, ur upstreamRequest) (*fetched, error) {
	var last5xx *fetched
	var lastErr error
	list := e.order(e.now())
	for i, o := range list {
		// OriginTimeout bounds the wait when another origin can take
		// over; the last one is given longer, since giving up on it only
		// turns a slow answer (an edge busy with a storm of viewers, an
		// origin under load) into an error.
		timeout := e.cfg.OriginTimeout
		if i == len(list)-1 {
			timeout = max(timeout, lastOriginTimeout)
		}
		if ur.held {
			timeout = e.holdTimeout()
		}
		start := time.Now() // the real clock: e.now may be a test's
		f, err := e.try(ctx, o, ur, timeout)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			var oe *originError
			if errors.As(err, &oe) && oe.timeout {
				if ur.held {
					break // held past the bound: not a slow origin, the answer is 504
				}
				e.metrics.originFailover(o.name, "timeout")
			} else {
				e.metrics.originFailover(o.name, "error")
			}
			continue
		}
		if f.resp.StatusCode >= 500 && ur.held && time.Since(start) > e.cfg.OriginTimeout {
			// The origin held the request, then gave up (503: the part
			// did not come in time): that is the answer.
			if last5xx != nil {
				last5xx.close()
			}
			return f, nil
		}
		if f.resp.StatusCode >= 500 {
			e.metrics.originFailover(o.name, "5xx")
			if last5xx != nil {
				last5xx.close()
			}
			last5xx = f
			continue
		}
		if last5xx != nil {
			last5xx.close()
		}
		return f, nil
	}
	if last5xx != nil {
		return last5xx, nil
	}
	if lastErr == nil {
		lastErr = errors.New("no origin")
	}
	return nil, lastErr
}

// try makes one attempt on origin o.
func (e *Edge) try(parent context.Context, o *origin, ur upstreamRequest, timeout time.Duration) (*fetched, error) {
	ctx, cancel := context.WithCancel(parent)
	req, err := http.NewRequestWithContext(ctx, ur.method, o.url(ur.path, ur.query), nil)
	if err != nil {
		cancel()
		return nil, &originError{origin: o.name, err: err}
	}
	for k, v := range ur.header {
		req.Header[k] = v
	}
	for k, v := range e.cfg.OriginHeader {
		req.Header[k] = v
	}
	timedOut := atomic.Bool{}
	timer := time.AfterFunc(timeout, func() {
		timedOut.Store(true)
		cancel()
	})
	start := e.now()
	if ur.held {
		e.metrics.blockingOrigin.Inc()
	}
	resp, err := e.transport.RoundTrip(req)
	stopped := timer.Stop()
	elapsed := e.now().Sub(start)
	if err != nil || !stopped {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		if parent.Err() != nil {
			return nil, &originError{origin: o.name, err: parent.Err()}
		}
		if err == nil {
			err = errors.New("no response headers in time")
		}
		oe := &originError{origin: o.name, timeout: timedOut.Load(), err: err}
		e.metrics.originResult(o.name, "error", elapsed, ur.held)
		if !(ur.held && oe.timeout) {
			// An origin holding a blocking reload past the bound is alive
			// (its other requests tell whether it is well).
			e.markDown(o, oe)
		}
		return nil, oe
	}
	e.metrics.originResult(o.name, statusClass(resp.StatusCode), elapsed, ur.held)
	o.downUntil.Store(0)
	return &fetched{resp: resp, origin: o, cancel: cancel}, nil
}

func (f *fetched) close() {
	f.resp.Body.Close()
	f.cancel()
}

// markDown skips o for OriginRetryAfter and starts probing it.
func (e *Edge) markDown(o *origin, err error) {
	if len(e.origins) > 1 || e.cfg.OriginHealthPath != "" {
		was := o.up(e.now())
		o.downUntil.Store(e.now().Add(e.cfg.OriginRetryAfter).UnixNano())
		if was {
			e.log.Warn("origin marked down", "origin", o.name, "for", e.cfg.OriginRetryAfter, "err", err)
		}
	}
	if e.cfg.OriginHealthPath == "" || !o.probing.CompareAndSwap(false, true) {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer o.probing.Store(false)
		e.probe(o)
	}()
}

// probe asks a down origin for its health path every probeInterval until it
// answers below 500, then marks it up.
func (e *Edge) probe(o *origin) {
	interval := min(e.cfg.OriginRetryAfter/2, time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		if o.downUntil.Load() == 0 {
			return // a request got through
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.OriginTimeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url(e.cfg.OriginHealthPath, ""), nil)
		if err != nil {
			cancel()
			return
		}
		for k, v := range e.cfg.OriginHeader {
			req.Header[k] = v
		}
		resp, err := e.transport.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode < 500 {
			o.downUntil.Store(0)
			e.log.Info("origin is back", "origin", o.name)
			return
		}
	}
}

func statusClass(code int) string {
	switch {
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	case code >= 300:
		return "3xx"
	default:
		return "2xx"
	}
}
