package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/live"
)

// memCatalog is an in-memory catalog.Store. It passes the catalogtest
// conformance suite (see TestMemCatalogConforms), so API tests against it
// hold for the real store too.
type memCatalog struct {
	// Asset and webhook methods are not faked: tests of those endpoints use
	// the real SQLite catalog in a temporary folder.
	catalog.AssetStore
	catalog.WebhookStore

	mu       sync.Mutex
	channels map[string]catalog.Channel
	closed   bool
	pingErr  error
	failWith error // when set, the read and create methods fail with it
}

func newMemCatalog(chs ...catalog.Channel) *memCatalog {
	c := &memCatalog{channels: map[string]catalog.Channel{}}
	for _, ch := range chs {
		c.channels[ch.ID] = ch
	}
	return c
}

func (c *memCatalog) check(ctx context.Context) error {
	if c.failWith != nil {
		return c.failWith
	}
	if c.closed {
		return errors.New("catalog closed")
	}
	return ctx.Err()
}

func (c *memCatalog) CreateChannel(ctx context.Context, ch catalog.Channel) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return err
	}
	if ch.ID == "" || ch.Name == "" || ch.StreamKey == "" {
		return errors.New("channel needs an ID, a name and a stream key")
	}
	for _, o := range c.channels {
		if o.ID == ch.ID || o.Name == ch.Name || o.StreamKey == ch.StreamKey {
			return fmt.Errorf("inserting channel: %w", catalog.ErrConflict)
		}
	}
	if ch.CreatedAt.IsZero() {
		ch.CreatedAt = time.Now()
	}
	if ch.UpdatedAt.IsZero() {
		ch.UpdatedAt = ch.CreatedAt
	}
	ch.CreatedAt, ch.UpdatedAt = ch.CreatedAt.UTC(), ch.UpdatedAt.UTC()
	c.channels[ch.ID] = ch
	return nil
}

func (c *memCatalog) GetChannel(ctx context.Context, id string) (catalog.Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return catalog.Channel{}, err
	}
	ch, ok := c.channels[id]
	if !ok {
		return catalog.Channel{}, fmt.Errorf("channel %s: %w", id, catalog.ErrNotFound)
	}
	return ch, nil
}

func (c *memCatalog) ChannelByStreamKey(ctx context.Context, key string) (catalog.Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return catalog.Channel{}, err
	}
	for _, ch := range c.channels {
		if ch.StreamKey == key {
			return ch, nil
		}
	}
	return catalog.Channel{}, catalog.ErrNotFound
}

func (c *memCatalog) ListChannels(ctx context.Context) ([]catalog.Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return nil, err
	}
	out := []catalog.Channel{}
	for _, ch := range c.channels {
		out = append(out, ch)
	}
	slices.SortFunc(out, func(a, b catalog.Channel) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (c *memCatalog) DeleteChannel(ctx context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := c.channels[id]; !ok {
		return catalog.ErrNotFound
	}
	delete(c.channels, id)
	return nil
}

func (c *memCatalog) SetStreamKey(ctx context.Context, id, key string) (catalog.Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return catalog.Channel{}, err
	}
	ch, ok := c.channels[id]
	if !ok {
		return catalog.Channel{}, catalog.ErrNotFound
	}
	if key == "" {
		return catalog.Channel{}, errors.New("empty stream key")
	}
	for _, o := range c.channels {
		if o.ID != id && o.StreamKey == key {
			return catalog.Channel{}, catalog.ErrConflict
		}
	}
	ch.StreamKey = key
	ch.UpdatedAt = time.Now().UTC()
	c.channels[id] = ch
	return ch, nil
}

func (c *memCatalog) Ping(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("catalog closed")
	}
	return c.pingErr
}

func (c *memCatalog) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *memCatalog) get(id string) (catalog.Channel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.channels[id]
	return ch, ok
}

// fakeLive reports the statuses it is given and records removals.
type fakeLive struct {
	mu        sync.Mutex
	statuses  map[string]live.Status
	removed   []string
	removeErr error
}

func (l *fakeLive) Status(id string) live.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, ok := l.statuses[id]; ok {
		return st
	}
	return live.Status{State: "idle"}
}

func (l *fakeLive) Remove(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.removeErr != nil {
		return l.removeErr
	}
	l.removed = append(l.removed, id)
	return nil
}

func (l *fakeLive) removedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.removed)
}

var errBoom = errors.New("disk on fire")

func (c *memCatalog) UpdateChannel(ctx context.Context, id string, fn func(*catalog.Channel) error) (catalog.Channel, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check(ctx); err != nil {
		return catalog.Channel{}, err
	}
	orig, ok := c.channels[id]
	if !ok {
		return catalog.Channel{}, catalog.ErrNotFound
	}
	ch := orig
	if err := fn(&ch); err != nil {
		return catalog.Channel{}, err
	}
	if ch.Name == "" || ch.DVRWindow < 0 {
		return catalog.Channel{}, errors.New("channel needs a name and a DVR window >= 0")
	}
	for _, o := range c.channels {
		if o.ID != id && o.Name == ch.Name {
			return catalog.Channel{}, catalog.ErrConflict
		}
	}
	orig.Name, orig.DVRWindow, orig.Record = ch.Name, ch.DVRWindow, ch.Record
	orig.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	c.channels[id] = orig
	return orig, nil
}
