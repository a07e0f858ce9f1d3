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
//
// Connections come in through the ingest front door (package ingest/front):
// a global and a per-address cap, and a deadline for the handshake and
// the stream key check, then an idle deadline while publishing.
package rtmp

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/front"
)

// Defaults for the zero fields of Config.
const (
	DefaultStartTimeout = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultAuthTimeout  = 5 * time.Second
)

// Config configures a Server. Zero durations take the defaults.
type Config struct {
	Addr string // TCP address to listen on, e.g. ":1935"

	// Front caps the connections (in total and per client address) and
	// sets the handshake deadline (from TCP accept to the accepted publish
	// command, stream key check included) and the idle deadline of
	// publishers. Zero fields take the front package's defaults.
	Front front.Config
	// StartTimeout bounds the time from the accepted publish command to the
	// first key frame: tracks must be announced and media must flow.
	StartTimeout time.Duration
	// WriteTimeout bounds every write to the publisher (acks, status).
	WriteTimeout time.Duration
	// AuthTimeout bounds Handler.Publish (within the handshake deadline).
	AuthTimeout time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StartTimeout, DefaultStartTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.AuthTimeout, DefaultAuthTimeout)
	c.Front = c.Front.WithDefaults()
	return c
}

// Server accepts RTMP publishers and hands them to an ingest.Handler.
type Server struct {
	cfg  Config
	h    ingest.Handler
	log  *slog.Logger
	door *front.Door

	mu   sync.Mutex
	addr net.Addr
}

// New returns a server; Start binds it.
func New(cfg Config, h ingest.Handler, log *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	log = log.With("component", "ingest.rtmp")
	return &Server{cfg: cfg, h: h, log: log, door: front.New(cfg.Front, log)}
}

// Start binds the listener and starts accepting connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.door.Closed() {
		return ingest.ErrServerClosed
	}
	if s.addr != nil {
		return errors.New("rtmp server already started")
	}
	addr, err := s.door.ListenTCP(s.cfg.Addr, s.serve)
	if err != nil {
		return fmt.Errorf("listening for RTMP: %w", err)
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
// is idempotent and safe before Start.
//
// A session inside Handler.Publish (its context is cancelled) or a blocking
// Publication.WriteUnit holds Close until that call returns.
func (s *Server) Close() error {
	s.door.Close()
	return nil
}

func (s *Server) isClosed() bool { return s.door.Closed() }

// serve runs one admitted connection; the door closes it afterwards.
func (s *Server) serve(c *front.Conn, nc net.Conn) {
	sess := &session{
		s:    s,
		fc:   c,
		nc:   nc,
		log:  s.log.With("proto", "rtmp", "remote", nc.RemoteAddr().String()),
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
