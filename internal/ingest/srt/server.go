// Package srt is Osprey's SRT ingest listener.
//
// Publishers call srt://HOST:9000 in caller mode with a stream id of
// "publish:{key}" or the SRT access-control form "#!::r={key},m=publish"
// (keys in any order, u= and others ignored). The key is checked with
// Handler.Publish while the handshake waits, so refused publishers get an
// SRT rejection code and never send media.
//
// The payload must be MPEG-TS carrying H.264 or H.265 video and AAC or Opus
// audio; one video and one audio track per session. Units are delivered
// through ingest.Feed (see its documentation for the timeline and ownership
// rules); MPEG-TS timestamps are unwrapped with mpegts.TimeDecoder.
package srt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/ospreyvideo/osprey/internal/ingest"
)

// Defaults for the zero fields of Config.
const (
	DefaultAuthTimeout  = 2 * time.Second
	DefaultStartTimeout = 10 * time.Second
	DefaultReadTimeout  = 10 * time.Second
	DefaultMaxConns     = 64
)

// Config configures a Server. Zero durations and counts take the defaults.
type Config struct {
	Addr string // UDP address to listen on, e.g. ":9000"

	// AuthTimeout bounds Handler.Publish. SRT callers give up on a
	// handshake after about 3 s, so keep it below that.
	AuthTimeout time.Duration
	// StartTimeout bounds the time from the accepted connection to the
	// first video key frame (MPEG-TS tables and parameter sets included).
	StartTimeout time.Duration
	// ReadTimeout is how long a connected publisher may send no data. (A
	// peer that stops sending anything, even keepalives, is dropped by
	// gosrt after PeerIdleTimeout.)
	ReadTimeout time.Duration
	// PeerIdleTimeout overrides gosrt's (5 s) when set.
	PeerIdleTimeout time.Duration
	// Latency is the minimum receiver latency (SRT picks the larger of
	// both sides'); gosrt's default is 120 ms.
	Latency time.Duration
	// MaxConns caps concurrent sessions, including those being authenticated.
	MaxConns int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AuthTimeout, DefaultAuthTimeout)
	def(&c.StartTimeout, DefaultStartTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	return c
}

// Server accepts SRT publishers and hands them to an ingest.Handler.
type Server struct {
	cfg    Config
	h      ingest.Handler
	log    *slog.Logger
	srtLog *srtLogger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	ln       gosrt.Listener
	conns    map[gosrt.Conn]struct{}
	pending  int // requests being authenticated
	closed   bool
	lastFull time.Time // rate limit for the "too many connections" warning
}

// New returns a server; Start binds it.
func New(cfg Config, h ingest.Handler, log *slog.Logger) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	log = log.With("component", "ingest.srt")
	return &Server{
		cfg:    cfg.withDefaults(),
		h:      h,
		log:    log,
		srtLog: newSRTLogger(log),
		ctx:    ctx,
		cancel: cancel,
		conns:  map[gosrt.Conn]struct{}{},
	}
}

// Start binds the UDP listener and starts accepting connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ingest.ErrServerClosed
	}
	if s.ln != nil {
		return errors.New("srt server already started")
	}
	conf := gosrt.DefaultConfig()
	conf.Logger = s.srtLog
	if s.cfg.Latency > 0 {
		conf.ReceiverLatency = s.cfg.Latency
	}
	if s.cfg.PeerIdleTimeout > 0 {
		conf.PeerIdleTimeout = s.cfg.PeerIdleTimeout
	}
	ln, err := gosrt.Listen("srt", s.cfg.Addr, conf)
	if err != nil {
		return fmt.Errorf("listening for SRT on %s: %w", s.cfg.Addr, err)
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
// is idempotent and safe before Start. gosrt's own goroutines stop
// asynchronously, within milliseconds.
//
// A session inside Handler.Publish (its context is cancelled) or a blocking
// Publication.WriteUnit holds Close until that call returns.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cancel()
		if s.ln != nil {
			s.ln.Close() // also closes every connection it accepted
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

func (s *Server) acceptLoop(ln gosrt.Listener) {
	defer s.wg.Done()
	for {
		req, err := ln.Accept2()
		if err != nil {
			if !s.isClosed() {
				s.log.Error("SRT listener failed", "err", err)
			}
			return
		}
		if reason, warn, ok := s.admit(); !ok {
			req.Reject(reason)
			if warn {
				s.log.Warn("refused publisher", "proto", "srt", "remote", req.RemoteAddr().String(),
					"reason", fmt.Sprintf("too many connections (max %d)", s.cfg.MaxConns))
			}
			continue
		}
		s.wg.Add(1)
		go s.handle(req)
	}
}

// admit reserves room for a connection request. When it refuses, warn
// says whether to log it (at most once a second, so a flood does not flood
// the log).
func (s *Server) admit() (reason gosrt.RejectionReason, warn, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return gosrt.REJ_CLOSE, false, false
	}
	if s.pending+len(s.conns) >= s.cfg.MaxConns {
		warn = time.Since(s.lastFull) > time.Second
		if warn {
			s.lastFull = time.Now()
		}
		return gosrt.REJX_OVERLOAD, warn, false
	}
	s.pending++
	return 0, false, true
}

// promote turns a reserved request into a tracked connection; false when
// the server closed meanwhile.
func (s *Server) promote(c gosrt.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending--
}

func (s *Server) untrack(c gosrt.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// handle authenticates a connection request during the handshake and, once
// accepted, serves the connection until it ends.
func (s *Server) handle(req gosrt.ConnRequest) {
	defer s.wg.Done()
	remote := req.RemoteAddr()
	log := s.log.With("proto", "srt", "remote", remote.String())

	key, err := parseStreamID(req.StreamId())
	if err == nil && req.IsEncrypted() {
		err = &refusal{gosrt.REJ_UNSECURE, errors.New("encrypted SRT (passphrase) is not supported")}
	}
	if err != nil {
		req.Reject(rejectReason(err))
		s.release()
		log.Warn("refused publisher", "reason", err)
		return
	}
	log = log.With("key", ingest.RedactKey(key))

	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.AuthTimeout)
	pub, err := s.h.Publish(ctx, ingest.Request{Protocol: "srt", StreamKey: key, RemoteAddr: remote})
	cancel()
	if err != nil {
		req.Reject(s.rejectFor(err))
		s.release()
		log.Warn("refused publisher", "reason", err)
		return
	}

	conn, err := req.Accept()
	if err != nil {
		s.release()
		pub.Close(fmt.Errorf("accepting SRT connection: %w", err))
		log.Warn("publication ended", "cause", err)
		return
	}
	if !s.promote(conn) {
		_ = conn.Close()
		pub.Close(ingest.ErrServerClosed)
		return
	}
	defer s.untrack(conn)
	defer conn.Close()

	sess := &session{s: s, conn: conn, pub: pub, log: log, born: time.Now()}
	log.Info("publisher connected")
	var cause error
	func() {
		defer func() {
			// parsing untrusted input with third-party code: never take the process down
			if r := recover(); r != nil {
				log.Error("panic serving connection", "panic", r)
				cause = fmt.Errorf("internal error: %v", r)
			}
		}()
		cause = sess.run()
	}()
	sess.end(cause)
}

// rejectFor maps a handler's refusal to an SRT rejection reason.
func (s *Server) rejectFor(err error) gosrt.RejectionReason {
	switch {
	case errors.Is(err, ingest.ErrUnknownKey):
		return gosrt.REJX_UNAUTHORIZED
	case errors.Is(err, ingest.ErrBusy):
		return gosrt.REJX_CONFLICT
	case s.isClosed():
		return gosrt.REJ_CLOSE
	case errors.Is(err, context.DeadlineExceeded):
		return gosrt.REJX_ISE
	}
	return gosrt.REJX_FORBIDDEN
}
