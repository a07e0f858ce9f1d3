package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/live"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/readcache"
	"github.com/ospreyvideo/osprey/internal/vod"
)

// assetDeleted is the payload published on events.AssetState when an
// asset is deleted, so that every origin node drops its cached segments.
type assetDeleted struct {
	State string `json:"state"` // "deleted"
}

// originCache is the read cache in front of S3 for the origin, with the
// subscriptions that keep it in step with deletions made on other nodes.
type originCache struct {
	cache *readcache.Store
	subs  []events.Subscription
}

// openOriginCache wraps store for the origin when it is not a local folder
// (the page cache serves a folder already) and the cache is not turned off;
// otherwise it returns store itself and a nil cache.
func openOriginCache(ctx context.Context, cfg config.Config, store storage.Store, bus events.Bus, log *slog.Logger) (storage.Store, *originCache, error) {
	if _, local := store.(storage.FileStore); local || cfg.Origin.CacheSize == 0 {
		return store, nil, nil
	}
	dir := filepath.Join(cfg.DataDir, "cache", "origin")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("creating the origin cache folder: %w", err)
	}
	if err := readcache.CheckDir(dir); err != nil {
		// Memory files then: slower to send where shmem has no huge pages.
		log.Warn("the origin cache keeps segments in memory files", "err", err)
		dir = ""
	}
	c := &originCache{cache: readcache.New(store, readcache.Config{MaxBytes: cfg.Origin.CacheSize, Dir: dir})}
	// Deleted channels and assets: drop what this node cached of them.
	onChannel := func(_ context.Context, e events.Event) error {
		if id, ok := live.DeletedChannel(e); ok {
			c.cache.Invalidate(live.Prefix(id) + "/")
		}
		return nil
	}
	onAsset := func(_ context.Context, e events.Event) error {
		var ev assetDeleted
		if id, ok := events.IDOf(e.Subject); ok && json.Unmarshal(e.Data, &ev) == nil && ev.State == "deleted" {
			c.cache.Invalidate("vod/" + id + "/")
		}
		return nil
	}
	for pattern, h := range map[string]events.Handler{events.AllChannelKeys: onChannel, events.AllAssetStates: onAsset} {
		sub, err := bus.Subscribe(ctx, pattern, events.SubscribeOptions{}, h)
		if err != nil {
			c.close()
			return nil, nil, fmt.Errorf("subscribing to deletions for the origin cache: %w", err)
		}
		c.subs = append(c.subs, sub)
	}
	log.Info("origin read cache on", "max_bytes", cfg.Origin.CacheSize, "dir", dir)
	return c.cache, c, nil
}

// gatherer exposes the cache's metrics.
func (c *originCache) gatherer() prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	for _, col := range c.cache.Collectors() {
		reg.MustRegister(col)
	}
	return reg
}

func (c *originCache) close() {
	for _, s := range c.subs {
		_ = s.Stop()
	}
}

// announcingVOD is the VoD service as the API uses it, telling every node
// when an asset is deleted (origin caches drop its segments).
type announcingVOD struct {
	*vod.Service
	bus events.Bus
	log *slog.Logger
}

// Delete deletes the asset, then announces it.
func (v announcingVOD) Delete(ctx context.Context, id string) error {
	if err := v.Service.Delete(ctx, id); err != nil {
		return err
	}
	data, _ := json.Marshal(assetDeleted{State: "deleted"})
	if err := v.bus.Publish(ctx, events.AssetState(id), data); err != nil {
		// The caches' MaxAge bounds how long the segments stay visible.
		v.log.Warn("announcing an asset's deletion to the other nodes", "asset", id, "err", err)
	}
	return nil
}
