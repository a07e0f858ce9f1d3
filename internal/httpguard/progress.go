package httpguard

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"time"
)

// progressChunk is the most written in one go between two extensions of
// the write deadline: a client must take at least this much per progress
// timeout (256 KiB a minute by default, about 4 KiB/s).
const progressChunk = 256 << 10

// extendEvery limits how often a deadline is moved, to keep writes cheap:
// at most every second, and four times per timeout.
func extendEvery(timeout time.Duration) time.Duration {
	return min(time.Second, timeout/4)
}

// deadliner is what net/http's response writers (HTTP/1 and HTTP/2)
// implement; other writers (tests, wrappers without Unwrap) get no
// deadlines.
type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

func findDeadliner(w http.ResponseWriter) deadliner {
	for {
		if d, ok := w.(deadliner); ok {
			return d
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
}

// progressWriter moves the connection's write deadline timeout ahead of
// every write that follows a pause, and writes at most progressChunk at a
// time, so a stalled reader is cut after timeout while a slow but steady
// one is served whatever the size.
type progressWriter struct {
	http.ResponseWriter
	d        deadliner
	timeout  time.Duration
	extended time.Time
}

func (p *progressWriter) extend() {
	now := time.Now()
	if now.Sub(p.extended) >= extendEvery(p.timeout) {
		p.extended = now
		_ = p.d.SetWriteDeadline(now.Add(p.timeout))
	}
}

// limit makes d the timeout from now on, when shorter, and moves the
// deadline at once (the one in place may be further away).
func (p *progressWriter) limit(d time.Duration) {
	if d > 0 && d < p.timeout {
		p.timeout = d
	}
	now := time.Now()
	p.extended = now
	_ = p.d.SetWriteDeadline(now.Add(p.timeout))
}

// LimitStall asks the guard in front of w to cut the response when a
// write to it makes no progress for d (instead of progress_timeout, when d
// is shorter), from now to the end of the response. The guard owns the
// connection's write deadline: a handler behind it must not set one
// itself, since the guard's would replace it at the next write. The edge
// uses it for viewers of a windowed flight, whom the other viewers wait
// for. LimitStall reports false when w is not behind a Guard's deadlines
// (a test server, a writer without deadlines): the caller is then the
// only owner of the deadline and may set it.
func LimitStall(w http.ResponseWriter, d time.Duration) bool {
	for {
		if p, ok := w.(*progressWriter); ok {
			p.limit(d)
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n := 0
	for {
		p.extend()
		chunk := b[n:]
		if len(chunk) > progressChunk {
			chunk = chunk[:progressChunk]
		}
		m, err := p.ResponseWriter.Write(chunk)
		n += m
		if err != nil || n == len(b) {
			return n, err
		}
	}
}

// ReadFrom keeps net/http's sendfile path, a chunk at a time. A source
// that is an *io.LimitedReader (io.CopyN, http.ServeContent) is unwrapped,
// so that each chunk is one LimitedReader over the file, the shape the
// kernel copy recognises.
func (p *progressWriter) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := p.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{p}, r)
	}
	src, remain := r, int64(-1) // -1: until EOF
	if lr, ok := r.(*io.LimitedReader); ok {
		src, remain = lr.R, max(lr.N, 0)
		defer func() { lr.N = remain }()
	}
	var total int64
	chunk := &io.LimitedReader{R: src}
	for remain != 0 {
		p.extend()
		n := int64(progressChunk)
		if remain > 0 && remain < n {
			n = remain
		}
		chunk.N = n
		m, err := rf.ReadFrom(chunk)
		total += m
		if remain > 0 {
			remain -= m
		}
		if err != nil || m < n {
			return total, err
		}
	}
	return total, nil
}

func (p *progressWriter) Flush() {
	p.extend()
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// Hijack is passed through, for handlers that take over the connection.
func (p *progressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if h, ok := p.ResponseWriter.(http.Hijacker); ok {
		return h.Hijack()
	}
	return nil, nil, errors.ErrUnsupported
}

// finish leaves the connection a deadline for what net/http still writes
// after the handler (its buffer, the chunked trailer): an HTTP/1
// connection keeps the last deadline set, so it must not stay in the past
// for the next request, nor be zero for a client that stops reading now.
func (p *progressWriter) finish() {
	now := time.Now()
	if now.Sub(p.extended) >= extendEvery(p.timeout) {
		_ = p.d.SetWriteDeadline(now.Add(p.timeout))
	}
}

// progressBody moves the read deadline timeout ahead of every read after
// a pause, until the end of the body: net/http then reads the connection
// in the background (with no deadline), and a deadline set under that read
// would cancel the request's context in the middle of a long response.
type progressBody struct {
	io.ReadCloser
	d        deadliner
	timeout  time.Duration
	extended time.Time
	done     bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	now := time.Now()
	if now.Sub(b.extended) >= extendEvery(b.timeout) {
		b.extended = now
		_ = b.d.SetReadDeadline(now.Add(b.timeout))
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done = true
	}
	return n, err
}
