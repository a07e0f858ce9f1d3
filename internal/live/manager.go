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
	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/lease"
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
	Ladder    transcode.Ladder
	Transcode transcode.Config
	Packager  packager.Config
	// DrainTimeout bounds how long a session waits, after its publisher has
	// left, for the transcoder to finish the last segments; default 15s.
	DrainTimeout time.Duration
	// EndTimeout bounds the writes that end the manifests, which come after
	// the drain with a deadline of their own; default 15s.
	EndTimeout time.Duration

	// Shedding load: when the transcoder's output trails its input by more
	// than ShedLag (default 1.5 segment durations, at least 3s: ffmpeg's
	// start and encoder delay stay under it) for ShedAfter (default 5s),
	// the ladder restarts one step cheaper. NoShedding turns it off.
	ShedLag    time.Duration
	ShedAfter  time.Duration
	NoShedding bool

	// Leases makes a channel live on at most one ingest node of a cluster:
	// a publication holds the lease "channel/{id}" (see LeaseName). Nil
	// means an in-process table (one node).
	Leases lease.Leaser
	// Recorder makes a session of a channel with record: true an asset
	// when it ends; nil: channels are not recorded.
	Recorder Recorder

	// RecoverEvery is how often an ingest node looks for sessions a crash
	// left live whose continuation grace (Packager.ContinueGrace) has
	// passed, and ends them (see Recover); default 10s.
	RecoverEvery time.Duration
}

func (c *Config) setDefaults() {
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 15 * time.Second
	}
	if c.EndTimeout == 0 {
		c.EndTimeout = 15 * time.Second
	}
	if c.ShedLag == 0 {
		seg := c.Transcode.SegmentDuration
		if seg == 0 {
			seg = 2 * time.Second
		}
		c.ShedLag = max(seg*3/2, 3*time.Second)
	}
	if c.ShedAfter == 0 {
		c.ShedAfter = 5 * time.Second
	}
	if c.Leases == nil {
		c.Leases = lease.NewLocal()
	}
	if c.RecoverEvery == 0 {
		c.RecoverEvery = 10 * time.Second
	}
}

// packagerConfig is the packager's configuration for a channel: its own
// DVR window (catalog.Channel.DVRWindow) if it has one, else the
// deployment's (Packager.DVRWindow, from live.dvr_window).
func (m *Manager) packagerConfig(ch catalog.Channel) packager.Config {
	cfg := m.cfg.Packager
	if ch.DVRWindow > 0 {
		cfg.DVRWindow = ch.DVRWindow
	}
	return cfg
}

// LeaseName is the lease a channel's publication holds.
func LeaseName(channelID string) string { return "channel/" + channelID }

// tombstoneTTL is how long a removed channel refuses publishers. Its
// catalog row is deleted right after Remove, and from then on its key is
// unknown anyway: the tombstone only covers a publisher whose key lookup
// raced the deletion, which takes milliseconds.
const tombstoneTTL = 10 * time.Minute

// Manager keeps the live sessions, at most one per channel. Each session is
// owned by a goroutine of its own (see session); the Manager's lock covers
// only the registry.
type Manager struct {
	cfg      Config
	channels Channels
	store    storage.Store
	log      *slog.Logger
	now      func() time.Time

	mu       sync.Mutex
	sessions map[string]*session
	removed  map[string]time.Time   // channels being or lately deleted, when: no new publisher
	wg       sync.WaitGroup         // one per session goroutine
	ended    func(channelID string) // called when a session has ended (see Cluster)

	sweep sweeper // ends interrupted sessions nobody continued (recover.go)
}

// NewManager returns a Manager that packages into store.
func NewManager(cfg Config, channels Channels, store storage.Store, log *slog.Logger) *Manager {
	cfg.setDefaults()
	return &Manager{
		cfg:      cfg,
		channels: channels,
		store:    store,
		log:      log.With("component", "live"),
		now:      time.Now,
		sessions: map[string]*session{},
		removed:  map[string]time.Time{},
	}
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
	if err := m.admissible(ch.ID); err != nil {
		return nil, err
	}
	// The cluster-wide lease: a publisher of this channel on another
	// ingest node holds it.
	l, err := m.cfg.Leases.Acquire(ctx, LeaseName(ch.ID))
	switch {
	case errors.Is(err, lease.ErrHeld):
		return nil, fmt.Errorf("channel %s is live on another node: %w", ch.ID, ingest.ErrBusy)
	case err != nil:
		return nil, fmt.Errorf("taking the lease of channel %s: %w", ch.ID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.admissibleLocked(ch.ID); err != nil {
		_ = l.Release()
		return nil, err
	}
	s := newSession(m, ch, req, l)
	m.sessions[ch.ID] = s
	m.wg.Add(1)
	go s.run()
	s.log.Info("publisher connected")
	return s, nil
}

// admissible tells whether the channel may take a publisher on this node.
func (m *Manager) admissible(channelID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.admissibleLocked(channelID)
}

func (m *Manager) admissibleLocked(channelID string) error {
	m.pruneTombstones()
	if _, gone := m.removed[channelID]; gone {
		return ingest.ErrUnknownKey
	}
	if _, busy := m.sessions[channelID]; busy {
		return fmt.Errorf("channel %s: %w", channelID, ingest.ErrBusy)
	}
	return nil
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
// channel's packaged media. It returns once the session has ended, its
// transcoder process reaped. From then on the channel admits no publisher
// (its catalog row is deleted next); if Remove fails, it does again.
func (m *Manager) Remove(ctx context.Context, channelID string) (err error) {
	m.mu.Lock()
	m.pruneTombstones()
	s := m.sessions[channelID]
	m.removed[channelID] = m.now()
	m.mu.Unlock()
	defer func() {
		if err != nil {
			m.mu.Lock()
			delete(m.removed, channelID)
			m.mu.Unlock()
		}
	}()
	if s != nil {
		s.stop(ctx, true)
		select {
		case <-s.done:
		case <-ctx.Done():
			return fmt.Errorf("waiting for channel %s to stop: %w", channelID, ctx.Err())
		}
	}
	if err := m.store.DeletePrefix(ctx, Prefix(channelID)+"/"); err != nil {
		return fmt.Errorf("deleting media of channel %s: %w", channelID, err)
	}
	return nil
}

// Disconnect ends the channel's current publication, if any, as if its
// publisher had left: the transcoder finishes the last segments and the
// manifests end. It returns once the session has ended; without a
// publisher it does nothing. The publisher may publish again (rotate the
// key first to keep it out).
func (m *Manager) Disconnect(ctx context.Context, channelID string) error {
	m.mu.Lock()
	s := m.sessions[channelID]
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	s.stop(ctx, false)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the publication of channel %s to end: %w", channelID, ctx.Err())
	}
}

// pruneTombstones forgets removals older than tombstoneTTL; m.mu is held.
func (m *Manager) pruneTombstones() {
	for id, at := range m.removed {
		if m.now().Sub(at) > tombstoneTTL {
			delete(m.removed, id)
		}
	}
}

// Wait blocks until every session has ended (after the ingest listeners
// have closed their connections) or ctx is done. The node is shutting
// down: it first stops the periodic check Recover started (see Close).
func (m *Manager) Wait(ctx context.Context) error {
	m.Close()
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

// forget unregisters a session that has ended.
func (m *Manager) forget(s *session) {
	m.mu.Lock()
	if m.sessions[s.ch.ID] == s {
		delete(m.sessions, s.ch.ID)
	}
	ended := m.ended
	m.mu.Unlock()
	if ended != nil {
		ended(s.ch.ID)
	}
}

// setEnded sets the function told of each session's end.
func (m *Manager) setEnded(f func(channelID string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = f
}

// liveStatuses returns the status of every channel with a session here.
func (m *Manager) liveStatuses() map[string]Status {
	m.mu.Lock()
	sessions := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	m.mu.Unlock()
	out := make(map[string]Status, len(sessions))
	for _, s := range sessions {
		out[s.ch.ID] = s.status()
	}
	return out
}
