package clip

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// TestReapAbandoned: a clip or recording nobody touched for
// abandonedAfter is failed, its outputs removed and asset.failed sent;
// others are left alone.
func TestReapAbandoned(t *testing.T) {
	store, _, _ := liveStore(t)
	s, cat, ev := newService(t, store)
	ctx := context.Background()
	now := time.Now().UTC()
	old := now.Add(-abandonedAfter - time.Second)
	put := func(id, origin, stage string, status catalog.AssetStatus, updated time.Time) {
		t.Helper()
		a := catalog.Asset{ID: id, Title: id, Status: status, Stage: stage, Source: catalog.AssetSource{Origin: origin, Filename: testChannel},
			CreatedAt: updated, UpdatedAt: updated}
		if err := cat.CreateAsset(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, AssetPrefix(id)+"/v/1.m4s", []byte("copied")); err != nil {
			t.Fatal(err)
		}
	}
	put("as_clipdead", OriginClip, stageClip, catalog.AssetProcessing, old)
	put("as_recdead", OriginRecord, stageClip, catalog.AssetProcessing, old)
	put("as_clipalive", OriginClip, stageClip, catalog.AssetProcessing, now.Add(-abandonedAfter/2))
	put("as_clipready", OriginClip, "", catalog.AssetReady, old)
	put("as_upload", "tus", "transcode", catalog.AssetProcessing, old) // the VoD pipeline's: its job's business

	n, err := s.Reap(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Reap = %d, %v; want the 2 abandoned", n, err)
	}
	for _, tt := range []struct {
		id     string
		status catalog.AssetStatus
		stored bool
	}{
		{"as_clipdead", catalog.AssetFailed, false},
		{"as_recdead", catalog.AssetFailed, false},
		{"as_clipalive", catalog.AssetProcessing, true},
		{"as_clipready", catalog.AssetReady, true},
		{"as_upload", catalog.AssetProcessing, true},
	} {
		a, err := cat.GetAsset(ctx, tt.id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != tt.status || (tt.status == catalog.AssetFailed && a.Error != abandonedError) {
			t.Errorf("%s: %s %q, want %s", tt.id, a.Status, a.Error, tt.status)
		}
		obj, err := store.Open(ctx, AssetPrefix(tt.id)+"/v/1.m4s")
		if err == nil {
			obj.Close()
		}
		if stored := err == nil; stored != tt.stored {
			t.Errorf("%s: outputs stored: %v, want %v (%v)", tt.id, stored, tt.stored, err)
		}
	}
	if !slices.Equal(ev.types, []string{eventFailed, eventFailed}) {
		t.Errorf("events %v, want two asset.failed", ev.types)
	}
	if n, err := s.Reap(ctx); n != 0 || err != nil {
		t.Errorf("second Reap = %d, %v; want nothing left", n, err)
	}
}

// slowStore makes every Put take a while, so that a clip takes longer
// than the abandonment delay.
type slowStore struct {
	storage.Store
	delay time.Duration
}

func (s slowStore) Put(ctx context.Context, key string, data []byte) error {
	time.Sleep(s.delay)
	return s.Store.Put(ctx, key, data)
}

// TestHeartbeatKeepsClipAlive: a clip taking longer than abandonedAfter is
// not reaped while its maker works on it.
func TestHeartbeatKeepsClipAlive(t *testing.T) {
	store, _, v := liveStore(t)
	writeIndex(t, store, v, 4, false)
	slow := slowStore{Store: store, delay: 40 * time.Millisecond}
	s, _, _ := newService(t, slow)
	s.heartbeatEvery, s.abandonedAfter = 20*time.Millisecond, 150*time.Millisecond
	ctx := context.Background()

	var reaped atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			n, err := s.Reap(ctx)
			if err != nil {
				t.Error(err)
			}
			reaped.Add(int64(n))
		}
	}()
	start, _ := segmentSpan(v.Window[0])
	_, end := segmentSpan(v.Window[5])
	began := time.Now()
	res, err := s.Clip(ctx, testChannel, Request{Start: start, End: end})
	took := time.Since(began)
	close(stop)
	<-done
	if err != nil {
		t.Fatalf("clip: %v", err)
	}
	if took < 2*s.abandonedAfter {
		t.Fatalf("the clip took %v, not long enough to prove anything (abandoned after %v)", took, s.abandonedAfter)
	}
	if res.Asset.Status != catalog.AssetReady || reaped.Load() != 0 {
		t.Fatalf("clip %s after %v, %d reaped while it was being made", res.Asset.Status, took, reaped.Load())
	}
}
