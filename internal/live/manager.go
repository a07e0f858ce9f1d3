// Package live joins the stages of a live channel: it accepts publications
// from the ingest listeners, plans the ladder, runs the transcoder and feeds
// its renditions to the packager, one session per publishing channel.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// Channels finds the channel a stream key belongs to.
type Channels interface {
	ChannelByStreamKey(ctx context.Context, key string) (catalog.Channel, error)
}

// Config tunes live sessions.
type Config struct {
	Ladder    config.Ladder
	Transcode transcode.Config
	Packager  packager.Config
	// DrainTimeout bounds how long a session waits, after its publisher has
	// left, for the transcoder to finish the last segments; default 15s.
	DrainTimeout time.Duration
}

// Manager keeps the live sessions, at most one per channel.
type Manager struct {
	cfg      Config
	channels Channels
	store    storage.Store
	log      *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	removed  map[string]bool // channels being or already deleted: no new publisher
	wg       sync.WaitGroup
}

// NewManager returns a Manager that packages into store.
func NewManager(cfg Config, channels Channels, store storage.Store, log *slog.Logger) *Manager {
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 15 * time.Second
	}
	return &Manager{cfg: cfg, channels: channels, store: store, log: log.With("component", "live"), sessions: map[string]*session{}, removed: map[string]bool{}}
}

// Publish implements ingest.Handler: it admits a publisher whose key
// belongs to a channel that has no publisher yet.
func (m *Manager) Publish(ctx context.Context, req ingest.Request) (ingest.Publication, error) {
	ch, err := m.channels.ChannelByStreamKey(ctx, req.StreamKey)
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, ingest.ErrUnknownKey
	}
	if err != nil {
		return nil, fmt.Errorf("looking up stream key: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.removed[ch.ID] {
		return nil, ingest.ErrUnknownKey
	}
	if _, busy := m.sessions[ch.ID]; busy {
		return nil, fmt.Errorf("channel %s: %w", ch.ID, ingest.ErrBusy)
	}
	s := &session{
		m:      m,
		ch:     ch,
		req:    req,
		since:  time.Now().UTC(),
		log:    m.log.With("channel", ch.ID, "proto", req.Protocol, "remote", req.RemoteAddr.String()),
		doneCh: make(chan struct{}),
	}
	m.sessions[ch.ID] = s
	m.wg.Add(1)
	s.log.Info("publisher connected")
	return s, nil
}

// Status reports a channel's live state.
func (m *Manager) Status(channelID string) Status {
	m.mu.Lock()
	s := m.sessions[channelID]
	m.mu.Unlock()
	if s == nil {
		return Status{State: "idle"}
	}
	return s.status()
}

// Remove disconnects the channel's publisher, if any, and deletes the
// channel's packaged media. From then on the channel admits no publisher
// (its catalog row is deleted next); if Remove fails, it does again.
func (m *Manager) Remove(ctx context.Context, channelID string) (err error) {
	m.mu.Lock()
	s := m.sessions[channelID]
	m.removed[channelID] = true
	m.mu.Unlock()
	defer func() {
		if err != nil {
			m.mu.Lock()
			delete(m.removed, channelID)
			m.mu.Unlock()
		}
	}()
	if s != nil {
		s.stop()
		select {
		case <-s.doneCh:
		case <-ctx.Done():
			return fmt.Errorf("waiting for channel %s to stop: %w", channelID, ctx.Err())
		}
	}
	if err := m.store.DeletePrefix(ctx, Prefix(channelID)+"/"); err != nil {
		return fmt.Errorf("deleting media of channel %s: %w", channelID, err)
	}
	return nil
}

// Wait blocks until every session has ended (after the ingest listeners
// have closed their connections) or ctx is done.
func (m *Manager) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Prefix is where a channel's live media are stored.
func Prefix(channelID string) string { return "live/" + channelID }

func (m *Manager) forget(s *session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[s.ch.ID] == s {
		delete(m.sessions, s.ch.ID)
	}
}

// Recover ends the manifests of sessions that a crash left live (kill -9,
// power loss), so that viewers see those streams as ended, the last window
// still playable. Call it at startup, before the ingest listeners start.
func (m *Manager) Recover(ctx context.Context, channelIDs []string) {
	for _, id := range channelIDs {
		ok, err := packager.Recover(ctx, m.store, Prefix(id), m.cfg.Packager, m.log.With("channel", id))
		switch {
		case err != nil:
			// Not fatal: the channel's next session ends them too.
			m.log.Error("ending the manifests of an interrupted session", "channel", id, "err", err)
		case ok:
			m.log.Warn("ended the manifests of a session interrupted by a crash", "channel", id)
		}
	}
}
