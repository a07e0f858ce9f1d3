package srt

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	gosrt "github.com/datarhei/gosrt"
)

// srtLogger routes gosrt's topic logging to slog and listens for two events
// its API does not expose: a peer's shutdown message (a clean end) and the
// peer idle timeout. gosrt calls Print for every packet, so it returns fast
// for topics it does not want.
type srtLogger struct {
	log *slog.Logger

	mu       sync.Mutex
	shutdown map[uint32]bool // socket ids that received a shutdown
	idle     map[uint32]bool // socket ids closed by gosrt's peer idle timeout

	lastFull time.Time // rate limit for "receive queue is full"

	closed chan gosrt.Log // Listen's channel; nothing is ever sent on it
}

var _ gosrt.Logger = (*srtLogger)(nil)

func newSRTLogger(log *slog.Logger) *srtLogger {
	l := &srtLogger{
		log:      log,
		shutdown: map[uint32]bool{},
		idle:     map[uint32]bool{},
		closed:   make(chan gosrt.Log),
	}
	close(l.closed)
	return l
}

// HasTopic implements gosrt.Logger.
func (l *srtLogger) HasTopic(topic string) bool {
	switch {
	case strings.HasPrefix(topic, "control:recv:shutdown"):
		return true
	case topic == "listen", topic == "handshake:recv:error", topic == "connection:close", topic == "connection:error":
		return l.log.Enabled(context.Background(), slog.LevelDebug)
	}
	return false
}

// Print implements gosrt.Logger.
func (l *srtLogger) Print(topic string, socketID uint32, _ int, message func() string) {
	switch {
	case strings.HasPrefix(topic, "control:recv:shutdown"):
		l.mu.Lock()
		l.shutdown[socketID] = true
		l.mu.Unlock()
	case topic == "connection:close":
		msg := message()
		if strings.HasPrefix(msg, "no more data received from peer") {
			l.mu.Lock()
			l.idle[socketID] = true
			l.mu.Unlock()
		}
		l.log.Debug("gosrt: "+msg, "topic", topic, "socket_id", socketID)
	case topic == "listen":
		msg := message()
		if strings.Contains(msg, "full") { // packets are being dropped
			l.mu.Lock()
			warn := time.Since(l.lastFull) > time.Second
			if warn {
				l.lastFull = time.Now()
			}
			l.mu.Unlock()
			if warn {
				l.log.Warn("gosrt: "+msg+" (dropping packets; host overloaded?)", "topic", topic)
			}
			return
		}
		l.log.Debug("gosrt: "+msg, "topic", topic)
	case topic == "handshake:recv:error", topic == "connection:error":
		if l.log.Enabled(context.Background(), slog.LevelDebug) {
			l.log.Debug("gosrt: "+message(), "topic", topic, "socket_id", socketID)
		}
	}
}

// ended reports, and forgets, how gosrt saw the connection end.
func (l *srtLogger) ended(socketID uint32) (shutdown, idle bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	shutdown, idle = l.shutdown[socketID], l.idle[socketID]
	delete(l.shutdown, socketID)
	delete(l.idle, socketID)
	return shutdown, idle
}

// Listen implements gosrt.Logger; messages go to slog instead.
func (l *srtLogger) Listen() <-chan gosrt.Log { return l.closed }

// Close implements gosrt.Logger.
func (l *srtLogger) Close() {}
