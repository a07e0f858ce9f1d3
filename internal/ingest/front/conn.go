package front

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/pollio"
)

// Conn is a connection's entry in the door: its deadlines and, once the
// door cut it, why.
type Conn struct {
	d   *Door
	key netip.Addr

	ctx    context.Context // done when the connection is cut or released
	cancel context.CancelFunc
	last   atomic.Int64 // time of the last data, in ns since d.base

	mu          sync.Mutex
	timer       *time.Timer // handshake deadline, then idle watchdog
	closeFn     func()
	cause       error
	established bool
	released    bool
}

func newConn(d *Door, key netip.Addr) *Conn {
	ctx, cancel := context.WithCancel(d.ctx)
	c := &Conn{d: d, key: key, ctx: ctx, cancel: cancel}
	c.mu.Lock()
	c.timer = time.AfterFunc(d.cfg.HandshakeTimeout, c.watch)
	c.mu.Unlock()
	return c
}

// Context is done once the connection is cut (deadline, Close, Cut) or
// released. Pass it to work done for the connection, e.g. Handler.Publish.
func (c *Conn) Context() context.Context { return c.ctx }

// OnCut sets the function that closes the underlying connection when the
// door cuts it. If it was already cut, fn runs at once.
func (c *Conn) OnCut(fn func()) {
	c.mu.Lock()
	if c.cause == nil {
		c.closeFn = fn
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	fn()
}

// Cut closes the connection with cause, unless it was already cut (the
// first cause stays).
func (c *Conn) Cut(cause error) {
	c.mu.Lock()
	if c.cause != nil {
		c.mu.Unlock()
		return
	}
	c.cause = cause
	fn := c.closeFn
	c.timer.Stop()
	c.mu.Unlock()
	c.cancel()
	if fn != nil {
		fn()
	}
}

// Cause returns why the door (or a Cut) closed the connection, or nil.
func (c *Conn) Cause() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// Established marks the handshake and the stream key check as done: the
// handshake deadline stops and the idle deadline starts. It returns the
// cause if the connection was already cut.
func (c *Conn) Established() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cause != nil {
		return c.cause
	}
	if !c.established {
		c.established = true
		c.touch()
		c.timer.Reset(c.d.cfg.IdleTimeout)
	}
	return nil
}

// Release removes the connection from the door and stops its deadlines.
// The serving goroutine calls it once it is done; it is idempotent.
func (c *Conn) Release() {
	c.mu.Lock()
	c.released = true
	c.timer.Stop()
	c.mu.Unlock()
	c.cancel()
	c.d.release(c)
}

func (c *Conn) touch() { c.last.Store(int64(time.Since(c.d.base))) }

// watch runs when the timer fires: at the handshake deadline, then every
// IdleTimeout after the last data seen at the time.
func (c *Conn) watch() {
	cfg := c.d.cfg
	c.mu.Lock()
	if c.released || c.cause != nil {
		c.mu.Unlock()
		return
	}
	if !c.established {
		c.mu.Unlock()
		c.Cut(fmt.Errorf("%w: handshake and stream key not done within %s", ingest.ErrTimeout, cfg.HandshakeTimeout))
		return
	}
	idle := time.Since(c.d.base) - time.Duration(c.last.Load())
	if idle < cfg.IdleTimeout {
		c.timer.Reset(cfg.IdleTimeout - idle)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.Cut(fmt.Errorf("%w: no data for %s", ingest.ErrTimeout, cfg.IdleTimeout))
}

// Watch returns r reporting every read that returns data to the idle
// deadline.
func (c *Conn) Watch(r io.Reader) io.Reader { return &watchedReader{r: r, c: c} }

type watchedReader struct {
	r io.Reader
	c *Conn
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.c.touch()
	}
	return n, err
}

// watchedConn is a net.Conn whose reads feed the idle deadline.
type watchedConn struct {
	net.Conn
	c *Conn
	r io.Reader // the socket, read with raw system calls where it can be
}

func newWatchedConn(nc net.Conn, c *Conn) *watchedConn {
	return &watchedConn{Conn: nc, c: c, r: pollio.ReaderFor(nc)}
}

func (w *watchedConn) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.c.touch()
	}
	return n, err
}
