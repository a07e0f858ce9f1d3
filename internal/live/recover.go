package live

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/packager"
)

// Crash recovery. A session a crash left live (kill -9, a lost ingest
// node: its lease lapses, no End ran) is continued by the channel's next
// publication, on any ingest node, if that one starts within the
// packager's ContinueGrace of the crashed session's last publish and has
// the same renditions (packager/continue.go): same playlists, media
// sequence going on, EXT-X-DISCONTINUITY. One nobody continues must still
// end: Recover at startup, then every RecoverEvery, each ingest node ends
// the sessions whose grace has passed, holding the channel's lease while
// it does so that it never races a publication.

// ChannelLister lists every channel; the catalog implements it. When the
// Manager's Channels implements it too, the periodic check covers channels
// created after startup; otherwise it covers those given to Recover.
type ChannelLister interface {
	ListChannels(ctx context.Context) ([]catalog.Channel, error)
}

// recoverTimeout bounds the writes that end one interrupted session.
const recoverTimeout = 15 * time.Second

// sweeper is the periodic check Recover starts.
type sweeper struct {
	mu     sync.Mutex
	chans  []catalog.Channel // the channels given to Recover
	cancel context.CancelFunc
	closed bool
	wg     sync.WaitGroup
}

// Recover ends the manifests of sessions that a crash left live and that
// can no longer be continued, so that viewers see those streams as ended,
// the last window still playable. A session still within its continuation
// grace is left live for its publisher to continue, here or on another
// ingest node. Call it at startup, before the ingest listeners start.
//
// It then starts a periodic check (every Config.RecoverEvery, until ctx is
// done or Close) that ends such sessions once their grace has passed and
// no publication continued them. A channel whose lease is held elsewhere
// (live on another node, or another node ending it) is left alone.
func (m *Manager) Recover(ctx context.Context, chans []catalog.Channel) {
	for _, ch := range chans {
		m.recoverChannel(ctx, ch, true, true)
	}
	sw := &m.sweep
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.cancel != nil || sw.closed {
		return
	}
	sw.chans = slices.Clone(chans)
	runCtx, cancel := context.WithCancel(ctx)
	sw.cancel = cancel
	sw.wg.Go(func() { m.sweepLoop(runCtx) })
}

// Close stops the periodic check Recover started and waits for it; it
// does not touch sessions. Calling it again does nothing.
func (m *Manager) Close() {
	sw := &m.sweep
	sw.mu.Lock()
	sw.closed = true
	cancel := sw.cancel
	sw.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	sw.wg.Wait()
}

func (m *Manager) sweepLoop(ctx context.Context) {
	t := time.NewTicker(m.cfg.RecoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		chans, current := m.channelList(ctx)
		for _, ch := range chans {
			if ctx.Err() != nil {
				return
			}
			m.recoverChannel(ctx, ch, false, current)
		}
	}
}

// channelList lists the channels the periodic check covers. current is
// false when they are those given to Recover, as they were then, because
// the list could not be read: their DVR windows and recording may have
// changed since.
func (m *Manager) channelList(ctx context.Context) (chans []catalog.Channel, current bool) {
	if l, ok := m.channels.(ChannelLister); ok {
		chans, err := l.ListChannels(ctx)
		if err == nil {
			return chans, true
		}
		if ctx.Err() == nil {
			m.log.Warn("listing channels to end interrupted sessions; checking those known at startup", "err", err)
		}
	}
	m.sweep.mu.Lock()
	defer m.sweep.mu.Unlock()
	return slices.Clone(m.sweep.chans), false
}

// recoverChannel ends the channel's interrupted session if there is one
// whose grace has passed (recording it when the channel has record: true),
// and applies its DVR retention (packager.Sweep), when the channel's lease
// is free. It reads state.json and dvr.json first, without the lease: most
// channels have nothing to do. current says ch is as the catalog has it
// now; otherwise nothing is deleted or recorded (its DVR window or record
// setting may have changed) until a check that is.
func (m *Manager) recoverChannel(ctx context.Context, ch catalog.Channel, startup, current bool) {
	id := ch.ID
	m.mu.Lock()
	_, here := m.sessions[id]
	_, gone := m.removed[id]
	m.mu.Unlock()
	if here || gone {
		return
	}
	log := m.log.With("channel", id)
	cfg := m.packagerConfig(ch)
	in, err := packager.Interrupted(ctx, m.store, Prefix(id), cfg)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			log.Error("reading the state of a channel's last session", "err", err)
		}
		return
	case in.Live && m.now().Before(in.ContinueUntil):
		if startup {
			log.Warn("a session interrupted by a crash stays live for its publisher to continue",
				"last_publish", in.LastPublish, "until", in.ContinueUntil)
		}
		return
	}
	sweep := false
	if cfg.DVRWindow > 0 && current {
		due, err := packager.SweepDue(ctx, m.store, Prefix(id), cfg.DVRWindow, m.now())
		if err != nil && ctx.Err() == nil {
			log.Error("reading a channel's DVR index", "err", err)
		}
		sweep = due || in.Live
	}
	if !in.Live && !sweep {
		return
	}
	l, err := m.cfg.Leases.Acquire(ctx, LeaseName(id))
	if err != nil {
		if !errors.Is(err, lease.ErrHeld) && ctx.Err() == nil {
			log.Error("not ending the manifests of a channel: its lease is out of reach", "err", err)
		}
		return
	}
	// Once begun, the writes are not cut short by shutdown: a half-ended
	// session would have to wait for the next check.
	defer func() { _ = l.Release() }()
	if in.Live {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recoverTimeout)
		ok, err := packager.Recover(rctx, m.store, Prefix(id), cfg, log)
		cancel()
		switch {
		case err != nil:
			// Not fatal: the next check, or the channel's next session, ends them.
			log.Error("ending the manifests of an interrupted session", "err", err)
		case ok:
			log.Warn("ended the manifests of a session interrupted by a crash", "last_publish", in.LastPublish, "session", in.Dir)
			if current {
				// record: true makes it an asset, as an ended session.
				m.recordSession(m.cfg.Recorder, ch, in.Dir, log)
			}
		}
	}
	if sweep {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sweepTimeout)
		err := packager.Sweep(sctx, m.store, Prefix(id), cfg.DVRWindow, m.now())
		cancel()
		if err != nil {
			// Not fatal: the next check sweeps again.
			log.Error("deleting what aged out of the DVR window", "err", err)
		}
	}
}

// sweepTimeout bounds one DVR sweep of a channel (hundreds of deletions
// when a long window ages out at once).
const sweepTimeout = 2 * time.Minute
