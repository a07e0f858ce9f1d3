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
//
// Connection requests come in through the ingest front door (package
// ingest/front): a global and a per-address cap (over them: REJX_OVERLOAD),
// a deadline for the stream key check, then an idle deadline while
// publishing.
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
	"github.com/ospreyvideo/osprey/internal/ingest/front"
)

// Defaults for the zero fields of Config.
const (
	DefaultAuthTimeout  = 2 * time.Second
	DefaultStartTimeout = 10 * time.Second
)

// Config configures a Server. Zero durations take the defaults.
type Config struct {
	Addr string // UDP address to listen on, e.g. ":9000"

	// Front caps the sessions (in total and per client address, those
	// being authenticated included) and sets the handshake deadline (a
	// connection request must be accepted or rejected by then) and the
	// idle deadline: how long a connected publisher may send no data. (A
	// peer that stops sending anything, even keepalives, is dropped by
	// gosrt after PeerIdleTimeout.) Zero fields take the front package's
	// defaults.
	Front front.Config
	// AuthTimeout bounds Handler.Publish. SRT callers give up on a
	// handshake after about 3 s, so keep it below that.
	AuthTimeout time.Duration
	// StartTimeout bounds the time from the accepted connection to the
	// first video key frame (MPEG-TS tables and parameter sets included).
	StartTimeout time.Duration
	// PeerIdleTimeout overrides gosrt's (5 s) when set.
	PeerIdleTimeout time.Duration
	// Latency is the minimum receiver latency (SRT picks the larger of
	// both sides'); gosrt's default is 120 ms.
	Latency time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.AuthTimeout, DefaultAuthTimeout)
	def(&c.StartTimeout, DefaultStartTimeout)
	c.Front = c.Front.WithDefaults()
	return c
}

// Server accepts SRT publishers and hands them to an ingest.Handler.
type Server struct {
	cfg    Config
	h      ingest.Handler
	log    *slog.Logger
	srtLog *srtLogger
	door   *front.Door

	mu   sync.Mutex
	addr net.Addr
}

// New returns a server; Start binds it.
func New(cfg Config, h ingest.Handler, log *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	log = log.With("component", "ingest.srt")
	return &Server{
		cfg:    cfg,
		h:      h,
		log:    log,
		srtLog: newSRTLogger(log),
		door:   front.New(cfg.Front, log),
	}
}

// Start binds the UDP listener and starts accepting connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.door.Closed() {
		return ingest.ErrServerClosed
	}
	if s.addr != nil {
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
	addr, err := s.door.ListenSRT(s.cfg.Addr, conf, s.handle)
	if err != nil {
		return fmt.Errorf("listening for SRT: %w", err)
	}
	s.addr = addr
	s.log.Info("listening", "addr", addr.String())
	return nil
}

// Addr returns the bound address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Close stops accepting, cuts every connection (their publications end with
// ingest.ErrServerClosed) and waits for all of the server's goroutines. It
// is idempotent and safe before Start. gosrt's own goroutines stop
// asynchronously, within milliseconds.
//
// A session inside Handler.Publish (its context is cancelled) or a blocking
// Publication.WriteUnit holds Close until that call returns.
func (s *Server) Close() error {
	s.door.Close()
	return nil
}

func (s *Server) isClosed() bool { return s.door.Closed() }

// handle authenticates a connection request during the handshake and, once
// accepted, serves the connection until it ends.
func (s *Server) handle(fc *front.Conn, req gosrt.ConnRequest) {
	remote := req.RemoteAddr()
	log := s.log.With("proto", "srt", "remote", remote.String())

	key, err := parseStreamID(req.StreamId())
	if err == nil && req.IsEncrypted() {
		err = &refusal{gosrt.REJ_UNSECURE, errors.New("encrypted SRT (passphrase) is not supported")}
	}
	if err != nil {
		req.Reject(rejectReason(err))
		log.Warn("refused publisher", "reason", err)
		return
	}
	log = log.With("key", ingest.RedactKey(key))

	// the door's handshake deadline ends ctx too
	ctx, cancel := context.WithTimeout(fc.Context(), s.cfg.AuthTimeout)
	pub, err := s.h.Publish(ctx, ingest.Request{Protocol: "srt", StreamKey: key, RemoteAddr: remote})
	cancel()
	if err != nil {
		if cut := fc.Cause(); cut != nil {
			err = fmt.Errorf("%w: %w", cut, err) // the handshake deadline passed, or Close
		}
		req.Reject(s.rejectFor(err))
		log.Warn("refused publisher", "reason", err)
		return
	}

	conn, err := req.Accept()
	if err != nil {
		pub.Close(fmt.Errorf("accepting SRT connection: %w", err))
		log.Warn("publication ended", "cause", err)
		return
	}
	defer conn.Close()
	fc.OnCut(func() { _ = conn.Close() })
	if err := fc.Established(); err != nil {
		pub.Close(err)
		log.Warn("publication ended", "cause", err)
		return
	}

	sess := &session{s: s, fc: fc, conn: conn, pub: pub, log: log, born: time.Now()}
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
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return gosrt.REJX_ISE
	}
	return gosrt.REJX_FORBIDDEN
}
