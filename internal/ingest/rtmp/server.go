// Package rtmp is Osprey's RTMP ingest listener.
//
// Publishers connect to rtmp://HOST:1935/live/{stream_key} (OBS: server
// rtmp://HOST/live, stream key {key}); a query string after the key is
// ignored. The key is checked with Handler.Publish when the publish command
// arrives, before any media is accepted. Other applications, play requests
// and codecs Osprey cannot carry are refused.
//
// Carried codecs: H.264 and H.265 (legacy FLV and Enhanced RTMP) video, AAC
// and Opus (Enhanced RTMP) audio; one video and one audio track per session.
// Units are delivered through ingest.Feed (see its documentation for the
// timeline and ownership rules).
package rtmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
)

// Defaults for the zero fields of Config.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultStartTimeout     = 10 * time.Second
	DefaultReadTimeout      = 10 * time.Second
	DefaultWriteTimeout     = 10 * time.Second
	DefaultAuthTimeout      = 5 * time.Second
	DefaultMaxConns         = 64
)

// Config configures a Server. Zero durations and counts take the defaults.
type Config struct {
	Addr string // TCP address to listen on, e.g. ":1935"

	// HandshakeTimeout bounds the time from TCP accept to the publish command.
	HandshakeTimeout time.Duration
	// StartTimeout bounds the time from the accepted publish command to the
	// first key frame: tracks must be announced and media must flow.
	StartTimeout time.Duration
	// ReadTimeout is how long a publishing connection may stay silent.
	ReadTimeout time.Duration
	// WriteTimeout bounds every write to the publisher (acks, status).
	WriteTimeout time.Duration
	// AuthTimeout bounds Handler.Publish.
	AuthTimeout time.Duration
	// MaxConns caps concurrent connections, publishing or not.
	MaxConns int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&c.StartTimeout, DefaultStartTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.AuthTimeout, DefaultAuthTimeout)
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// Server accepts RTMP publishers and hands them to an ingest.Handler.
type Server struct {
	cfg Config
	h   ingest.Handler
	log *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	closed   bool
	lastFull time.Time // rate limit for the "too many connections" warning
}

// New returns a server; Start binds it.
func New(cfg Config, h ingest.Handler, log *slog.Logger) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:    cfg.withDefaults(),
		h:      h,
		log:    log.With("component", "ingest.rtmp"),
		ctx:    ctx,
		cancel: cancel,
		conns:  map[net.Conn]struct{}{},
	}
}

// Start binds the listener and starts accepting connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ingest.ErrServerClosed
	}
	if s.ln != nil {
		return errors.New("rtmp server already started")
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening for RTMP on %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.acceptLoop(ln)
	s.log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the bound address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Close stops accepting, cuts every connection (their publications end with
// ingest.ErrServerClosed) and waits for all of the server's goroutines. It
// is idempotent and safe before Start.
//
// A session inside Handler.Publish (its context is cancelled) or a blocking
// Publication.WriteUnit holds Close until that call returns.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cancel()
		if s.ln != nil {
			_ = s.ln.Close()
		}
		for c := range s.conns {
			_ = c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return
			}
			// e.g. EMFILE: wait and retry rather than spin or give up
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		if !s.track(c) {
			_ = c.Close()
		}
	}
}

// track registers c and starts serving it, unless the server is closed or full.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if len(s.conns) >= s.cfg.MaxConns {
		if time.Since(s.lastFull) > time.Second { // a flood must not flood the log too
			s.lastFull = time.Now()
			s.log.Warn("refused connection: too many connections",
				"remote", c.RemoteAddr().String(), "max_conns", s.cfg.MaxConns)
		}
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	go s.serve(c)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	defer s.untrack(c)
	defer c.Close()
	sess := &session{
		s:    s,
		nc:   c,
		log:  s.log.With("proto", "rtmp", "remote", c.RemoteAddr().String()),
		born: time.Now(),
	}
	defer func() {
		// parsing untrusted input with third-party code: never take the process down
		if r := recover(); r != nil {
			sess.log.Error("panic serving connection", "panic", r)
			sess.end(fmt.Errorf("internal error: %v", r))
		}
	}()
	sess.run()
}
