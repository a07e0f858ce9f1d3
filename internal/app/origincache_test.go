package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// On S3 the origin reads through a cache; an asset deleted on another node
// (its objects removed from the bucket, the deletion announced on the bus)
// is no longer served from this node's cache.
func TestOriginCacheDropsDeletedAssets(t *testing.T) {
	srv := s3test.Start(t)
	store := srv.Store(t, "")
	bus := events.NewLocal(slog.New(slog.DiscardHandler))
	defer bus.Close()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	ctx := context.Background()
	cached, oc, err := openOriginCache(ctx, cfg, store, bus, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if oc == nil {
		t.Fatal("no cache in front of S3")
	}
	defer oc.close()

	const key = "vod/as_1/720p/seg_1.m4s"
	if err := store.Put(ctx, key, []byte("segment bytes")); err != nil {
		t.Fatal(err)
	}
	read := func() (string, error) {
		o, err := cached.Open(ctx, key)
		if err != nil {
			return "", err
		}
		defer o.Close()
		b, err := io.ReadAll(o)
		return string(b), err
	}
	if got, err := read(); err != nil || got != "segment bytes" {
		t.Fatalf("first read: %q, %v", got, err)
	}
	// Another node deletes the asset: straight in the bucket, then the event.
	if err := store.DeletePrefix(ctx, "vod/as_1/"); err != nil {
		t.Fatal(err)
	}
	if got, err := read(); err != nil || got != "segment bytes" {
		t.Fatalf("before the event the cache still serves it (else this test proves nothing): %q, %v", got, err)
	}
	// What announcingVOD.Delete publishes.
	if err := bus.Publish(ctx, events.AssetState("as_1"), []byte(`{"state":"deleted"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := read()
		if errors.Is(err, storage.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still served 5 s after the deletion event: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A local folder needs no cache (the kernel's page cache is one).
func TestNoOriginCacheOnFiles(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	d, err := openDeps(context.Background(), cfg, "n1", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	st, oc, err := openOriginCache(context.Background(), cfg, d.store, d.bus, slog.New(slog.DiscardHandler))
	if err != nil || oc != nil || st != d.store {
		t.Fatalf("cache on a folder: %v %v", oc, err)
	}
}
