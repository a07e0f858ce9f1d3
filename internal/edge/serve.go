package edge

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/cache"
)

// serveEntry answers from a cached entry. It returns false, having written
// nothing, when the entry's body can no longer be read (its file was
// removed), so that the caller treats the request as a miss.
func (e *Edge) serveEntry(rec *record, r *http.Request, ent *cache.Entry, cacheStatus, status string) bool {
	rec.cache = status
	rec.tier = ent.Tier.String()
	if b := ent.Bytes(); b != nil || ent.Meta.Size == 0 {
		e.serveBytes(rec, r, &ent.Meta, b, cacheStatus)
		return true
	}
	if ent.Meta.Status == http.StatusOK && r.Header.Get("Range") == "" && !hasConditional(r) {
		// A whole body from disk: sendfile (a limited *os.File is what
		// the server sends without copying through user space).
		f, err := ent.OpenFile()
		if err != nil {
			e.log.Debug("cached body unreadable", "key", ent.Meta.Key, "err", err)
			return false
		}
		defer f.Close()
		e.head(rec, &ent.Meta, cacheStatus)
		rec.Header().Set("Content-Length", strconv.FormatInt(ent.Meta.Size, 10))
		rec.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			rec.ReadFrom(io.LimitReader(f, ent.Meta.Size))
		}
		return true
	}
	body, err := ent.Open()
	if err != nil {
		e.log.Debug("cached body unreadable", "key", ent.Meta.Key, "err", err)
		return false
	}
	defer body.Close()
	e.serveBody(rec, r, &ent.Meta, body, cacheStatus)
	return true
}

// serveBytes answers from a body held in memory.
func (e *Edge) serveBytes(rec *record, r *http.Request, m *cache.Meta, body []byte, cacheStatus string) {
	if m.Status == http.StatusOK && (r.Header.Get("Range") != "" || hasConditional(r)) {
		e.serveBody(rec, r, m, bytes.NewReader(body), cacheStatus)
		return
	}
	e.head(rec, m, cacheStatus)
	rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
	rec.WriteHeader(m.Status)
	if r.Method != http.MethodHead && len(body) > 0 {
		rec.Write(body)
	}
}

// serveBody answers from a seekable body: http.ServeContent does Range
// (206, multipart ranges, 416), If-Range and the conditional requests
// against the stored ETag and Last-Modified.
func (e *Edge) serveBody(rec *record, r *http.Request, m *cache.Meta, body io.ReadSeeker, cacheStatus string) {
	e.head(rec, m, cacheStatus)
	if m.Status != http.StatusOK {
		rec.Header().Set("Content-Length", strconv.FormatInt(m.Size, 10))
		rec.WriteHeader(m.Status)
		if r.Method != http.MethodHead {
			io.Copy(rec, body)
		}
		return
	}
	var modtime time.Time
	if lm := m.Header.Get("Last-Modified"); lm != "" {
		modtime, _ = http.ParseTime(lm)
	}
	http.ServeContent(rec, r, "", modtime, body)
}

// head sets the stored headers, Age, Cache-Status and Via.
func (e *Edge) head(rec *record, m *cache.Meta, cacheStatus string) {
	h := rec.Header()
	for k, v := range m.Header {
		h[k] = v // shared with the cache: only ever replaced, never appended to
	}
	h.Set("Age", seconds(m.Age(e.now())))
	e.addTrace(h, cacheStatus)
}

// addTrace adds this edge's Cache-Status entry (RFC 9211: after those of
// the caches nearer the origin) and its Via entry.
func (e *Edge) addTrace(h http.Header, cacheStatus string) {
	if prev := h.Get("Cache-Status"); prev != "" {
		cacheStatus = prev + ", " + cacheStatus
	}
	h.Set("Cache-Status", cacheStatus)
	via := e.via
	if prev := h.Get("Via"); prev != "" {
		via = prev + ", " + via
	}
	h.Set("Via", via)
}

func cacheStatusHit(name string, ttl time.Duration) string {
	return name + "; hit; ttl=" + seconds(ttl)
}

// copyFlush copies a streamed body, flushing after every read.
func copyFlush(rec *record, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := rec.Write(buf[:n]); werr != nil {
				return
			}
			rec.Flush()
		}
		if err != nil {
			if err != io.EOF {
				rec.broken = true
				panic(http.ErrAbortHandler)
			}
			return
		}
	}
}
