package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Timings of the channel state that ingest nodes announce.
const (
	// stateEvery is how often an ingest node announces its live channels.
	stateEvery = 2 * time.Second
	// stateStale is when an announcement no longer counts: the node is
	// gone or the channel ended without its idle announcement arriving.
	stateStale = 3 * stateEvery
)

// Actions carried by channel control events (subject events.ChannelKey).
const (
	actionDisconnect = "disconnect" // end the publication (key rotated with disconnect)
	actionDelete     = "delete"     // the channel is being deleted
)

// ErrNodesUnreachable is wrapped by Remove and Disconnect when the channel
// is live on another node and the events bus cannot reach it (NATS down).
var ErrNodesUnreachable = errors.New("live: the ingest node of the channel cannot be reached (events bus down)")

type controlEvent struct {
	Node   string `json:"node"`
	Action string `json:"action"`
}

type stateEvent struct {
	Node   string    `json:"node"`
	At     time.Time `json:"at"`
	Status Status    `json:"status"`
	// Origin is the base URL of the announcing node's origin, for the
	// other nodes' PeerSource ("" when it has none to offer).
	Origin string `json:"origin,omitempty"`
}

// Cluster is a node's view of live channels across the cluster, for the
// API: which channels are live on which node, and the operator's actions
// (disconnect, delete) that must reach the ingest node a publisher is on.
//
// Ingest nodes (those with a local Manager) announce their channels' state
// on the events bus every couple of seconds and at once when a publication
// ends, and obey control events. Whether a publication is still running
// anywhere is answered by its lease (LeaseName), which lapses when its
// node dies, so that Remove and Disconnect can wait for the real end.
type Cluster struct {
	local  *Manager // nil without the ingest role
	bus    events.Bus
	leases lease.Leaser
	store  storage.Store
	node   string
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	remote map[string]stateEvent // by channel: the last announcement of another node
	origin string                // as Advertise set it ("": not announced)

	subs   []events.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ClusterConfig wires a Cluster.
type ClusterConfig struct {
	Local  *Manager // the node's sessions; nil on a node without the ingest role
	Bus    events.Bus
	Leases lease.Leaser
	Store  storage.Store
	NodeID string
	Log    *slog.Logger
}

// NewCluster subscribes to channel state and, on an ingest node, to
// control events, and starts announcing the local channels' state.
func NewCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		local: cfg.Local, bus: cfg.Bus, leases: cfg.Leases, store: cfg.Store, node: cfg.NodeID,
		log: cfg.Log.With("component", "live.cluster"), now: time.Now, remote: map[string]stateEvent{},
	}
	sub, err := c.bus.Subscribe(ctx, events.AllChannelStates, events.SubscribeOptions{}, c.onState)
	if err != nil {
		return nil, fmt.Errorf("live: subscribing to channel state: %w", err)
	}
	c.subs = append(c.subs, sub)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	if c.local != nil {
		sub, err := c.bus.Subscribe(ctx, events.AllChannelKeys, events.SubscribeOptions{}, c.onControl)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("live: subscribing to channel control events: %w", err)
		}
		c.subs = append(c.subs, sub)
		c.local.setEnded(func(id string) { c.announce(runCtx, id, Status{State: "idle"}) })
		c.wg.Go(func() { c.announceLoop(runCtx) })
	}
	return c, nil
}

// Close stops announcing and listening.
func (c *Cluster) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	for _, s := range c.subs {
		_ = s.Stop()
	}
	c.subs = nil
}

// Status reports a channel's live state: this node's session, else the
// latest fresh announcement of another node, else idle.
func (c *Cluster) Status(channelID string) Status {
	if c.local != nil {
		if st := c.local.Status(channelID); st.State != "idle" {
			return st
		}
	}
	c.mu.Lock()
	ev, ok := c.remote[channelID]
	c.mu.Unlock()
	if ok && c.now().Sub(ev.At) < stateStale && ev.Status.State != "idle" {
		return ev.Status
	}
	return Status{State: "idle"}
}

// Advertise sets the base URL (scheme://host:port) at which the other
// nodes reach this node's origin, announced with its live channels so that
// their origins serve the channels' low-latency edge (PeerSource); until it
// is called nothing is announced (their origins serve storage). The node
// calls it once it knows where it listens.
func (c *Cluster) Advertise(baseURL string) {
	c.mu.Lock()
	c.origin = strings.TrimRight(baseURL, "/")
	c.mu.Unlock()
}

// peerOrigin returns the origin URL another node announced with the
// channel live on it, if the announcement is fresh.
func (c *Cluster) peerOrigin(channelID string) (string, bool) {
	c.mu.Lock()
	ev, ok := c.remote[channelID]
	c.mu.Unlock()
	if !ok || ev.Origin == "" || ev.Status.State == "idle" || c.now().Sub(ev.At) >= stateStale {
		return "", false
	}
	return ev.Origin, true
}

// Remove ends the channel's publication wherever it runs and deletes its
// media. It returns once no node holds the channel's lease (or ctx ends).
func (c *Cluster) Remove(ctx context.Context, channelID string) error {
	if c.local != nil {
		if err := c.local.Remove(ctx, channelID); err != nil {
			return err
		}
	}
	if err := c.command(ctx, channelID, actionDelete); err != nil {
		return err
	}
	// A remote session may have written its last objects meanwhile.
	if err := c.store.DeletePrefix(ctx, Prefix(channelID)+"/"); err != nil {
		return fmt.Errorf("deleting media of channel %s: %w", channelID, err)
	}
	return nil
}

// Disconnect ends the channel's publication wherever it runs and returns
// once it has ended (or ctx ends).
func (c *Cluster) Disconnect(ctx context.Context, channelID string) error {
	if c.local != nil {
		if err := c.local.Disconnect(ctx, channelID); err != nil {
			return err
		}
	}
	return c.command(ctx, channelID, actionDisconnect)
}

// command tells the other nodes to apply action to the channel when its
// lease is held elsewhere, and waits until it no longer is.
func (c *Cluster) command(ctx context.Context, channelID, action string) error {
	held, err := c.leases.Held(ctx, LeaseName(channelID))
	if err != nil {
		return fmt.Errorf("asking whether channel %s is live: %w", channelID, err)
	}
	data, _ := json.Marshal(controlEvent{Node: c.node, Action: action})
	if !held {
		if action == actionDelete {
			// Nobody publishes, but origins' read caches hold the
			// channel's segments: tell them, best effort (their entries
			// expire anyway).
			if err := c.bus.Publish(ctx, events.ChannelKey(channelID), data); err != nil {
				c.log.Warn("announcing a channel's deletion", "channel", channelID, "err", err)
			}
		}
		return nil
	}
	if err := c.bus.Publish(ctx, events.ChannelKey(channelID), data); err != nil {
		return fmt.Errorf("telling the ingest nodes to %s channel %s: %w: %w", action, channelID, ErrNodesUnreachable, err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		held, err := c.leases.Held(ctx, LeaseName(channelID))
		if err == nil && !held {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the publication of channel %s to end on its ingest node: %w", channelID, ctx.Err())
		case <-tick.C:
		}
	}
}

// DeletedChannel tells whether e, an event on events.AllChannelKeys,
// announces a channel's deletion, and which (origins drop what they cached
// of it).
func DeletedChannel(e events.Event) (string, bool) {
	var ev controlEvent
	if json.Unmarshal(e.Data, &ev) != nil || ev.Action != actionDelete {
		return "", false
	}
	return events.IDOf(e.Subject)
}

// onControl applies another node's disconnect or delete to a local session.
func (c *Cluster) onControl(ctx context.Context, e events.Event) error {
	var ev controlEvent
	if err := json.Unmarshal(e.Data, &ev); err != nil {
		c.log.Warn("ignoring a malformed channel control event", "subject", e.Subject, "err", err)
		return nil
	}
	id, ok := events.IDOf(e.Subject)
	if !ok || ev.Node == c.node {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	switch ev.Action {
	case actionDelete:
		c.log.Info("channel deleted on another node; ending its publication here", "channel", id, "from", ev.Node)
		return c.local.Remove(ctx, id)
	case actionDisconnect:
		c.log.Info("publisher disconnect asked on another node", "channel", id, "from", ev.Node)
		return c.local.Disconnect(ctx, id)
	}
	return nil
}

// onState records another node's announcement.
func (c *Cluster) onState(_ context.Context, e events.Event) error {
	var ev stateEvent
	if err := json.Unmarshal(e.Data, &ev); err != nil {
		return nil
	}
	id, ok := events.IDOf(e.Subject)
	if !ok || ev.Node == c.node {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.remote[id]; ok && old.At.After(ev.At) {
		return nil // a late, older announcement
	}
	if ev.Status.State == "idle" {
		delete(c.remote, id)
		return nil
	}
	c.remote[id] = ev
	return nil
}

// announceLoop announces every local live channel every stateEvery.
func (c *Cluster) announceLoop(ctx context.Context) {
	t := time.NewTicker(stateEvery)
	defer t.Stop()
	for {
		for id, st := range c.local.liveStatuses() {
			c.announce(ctx, id, st)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Cluster) announce(ctx context.Context, id string, st Status) {
	c.mu.Lock()
	adv := c.origin
	c.mu.Unlock()
	data, _ := json.Marshal(stateEvent{Node: c.node, At: c.now().UTC(), Status: st, Origin: adv})
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.bus.Publish(pctx, events.ChannelState(id), data); err != nil && !errors.Is(err, context.Canceled) {
		c.log.Debug("announcing channel state", "channel", id, "err", err)
	}
}
