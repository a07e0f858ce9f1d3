package edge

import (
	"io"
	"net/http"
	"time"
)

// Cache outcomes, as logged and counted.
const (
	statusHit         = "hit"         // fresh in the cache
	statusMiss        = "miss"        // fetched (or joined a fetch) and stored
	statusPass        = "pass"        // fetched, not storable
	statusRevalidated = "revalidated" // expired, the origin said 304
	statusUpdating    = "updating"    // expired, served stale while revalidating
	statusStale       = "stale"       // expired, served because the origins failed
	statusBypass      = "bypass"      // not a cacheable request
	statusDenied      = "denied"      // signature missing or invalid
	statusError       = "error"       // nothing to serve
	statusRejected    = "rejected"    // path not canonical (400)
)

// record wraps the viewer's ResponseWriter to observe the answer for the
// access log and the metrics.
type record struct {
	http.ResponseWriter
	r            *http.Request
	start        time.Time
	firstByte    time.Duration
	status       int
	bytes        int64
	cache        string
	tier         string
	origin       string
	originStatus int
	collapsed    bool
	blocking     bool // an LL-HLS blocking reload (_HLS_msn)
	broken       bool
	detail       string
}

func (e *Edge) begin(w http.ResponseWriter, r *http.Request) *record {
	// Durations use the real clock; e.now (freshness) may be a test's.
	return &record{ResponseWriter: w, r: r, start: time.Now()}
}

func (rec *record) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
		rec.firstByte = time.Since(rec.start)
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *record) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the server's sendfile path for bodies read from files.
func (rec *record) ReadFrom(src io.Reader) (int64, error) {
	if rec.status == 0 {
		rec.WriteHeader(http.StatusOK)
	}
	n, err := io.Copy(rec.ResponseWriter, src)
	rec.bytes += n
	return n, err
}

func (rec *record) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (rec *record) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// end logs and counts a finished request (also when the handler panicked
// with http.ErrAbortHandler, which it passes on).
func (e *Edge) end(rec *record) {
	if rec.cache == "" {
		rec.cache = statusError
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	elapsed := time.Since(rec.start)
	e.metrics.request(rec)
	if e.access != nil {
		e.access.write(rec, e.clientAddr(rec.r), elapsed)
	}
}
