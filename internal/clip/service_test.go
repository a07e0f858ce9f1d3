package clip

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// events records emitted event types.
type events struct {
	mu    sync.Mutex
	types []string
	ids   []string
}

func (e *events) Emit(_ context.Context, typ string, data any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.types = append(e.types, typ)
	e.ids = append(e.ids, data.(catalog.Asset).ID)
	return nil
}

func newService(t *testing.T, store storage.Store) (*Service, catalog.Store, *events) {
	t.Helper()
	cat, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	ev := &events{}
	s, err := New(Config{Catalog: cat, Storage: store, Notify: ev, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s, cat, ev
}

// TestClip makes a clip through the service: a ready asset in the
// catalog, with renditions, duration, thumbnails, and its events.
func TestClip(t *testing.T) {
	store, _, v := liveStore(t)
	writeIndex(t, store, v, 4, false)
	s, cat, ev := newService(t, store)
	ctx := context.Background()
	s1, _ := segmentSpan(v.Window[1])
	_, e3 := segmentSpan(v.Window[3])
	res, err := s.Clip(ctx, testChannel, Request{Start: s1.Add(time.Second), End: e3.Add(-time.Second), Title: "Goal"})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Asset
	// The start snaps back to segment 101's keyframe; the end is cut at
	// the asked instant (a frame boundary here).
	if d, e := res.Start.Sub(s1), res.End.Sub(e3.Add(-time.Second)); d < -time.Millisecond || d > time.Millisecond || e < -time.Millisecond || e > time.Millisecond {
		t.Fatalf("clip holds %v to %v, want %v to %v", res.Start, res.End, s1, e3.Add(-time.Second))
	}
	got, err := cat.GetAsset(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != catalog.AssetReady || got.Title != "Goal" || got.Source.Origin != OriginClip || got.ReadyAt.IsZero() {
		t.Fatalf("asset %+v", got)
	}
	if d := got.Duration; d < 5*time.Second || d > 5*time.Second+30*time.Millisecond {
		t.Fatalf("duration %v, want 5 s (from segment 101's start to the asked end)", d)
	}
	if len(got.Output.Renditions) != 2 || got.Output.Renditions[0].Name != videoName || got.Output.Renditions[0].Height != 180 ||
		got.Output.Renditions[1].Kind != "audio" {
		t.Fatalf("renditions %+v", got.Output.Renditions)
	}
	if got.Output.Poster == "" || got.Output.Thumbnails == "" || got.Output.Sprite == "" {
		t.Fatalf("no thumbnails: %+v", got.Output)
	}
	for _, p := range []string{got.Output.Poster, got.Output.Thumbnails, got.Output.Sprite, "index.m3u8", "manifest.mpd"} {
		readKey(t, store, AssetPrefix(a.ID)+"/"+p)
	}
	if !slices.Equal(ev.types, []string{eventCreated, eventReady}) || ev.ids[1] != a.ID {
		t.Fatalf("events %v for %v", ev.types, ev.ids)
	}
}

// TestClipRefused: outside the window and never live make no asset.
func TestClipRefused(t *testing.T) {
	store, _, v := liveStore(t)
	writeIndex(t, store, v, 4, false)
	s, cat, ev := newService(t, store)
	ctx := context.Background()
	_, to := segmentSpan(v.Window[5])
	_, err := s.Clip(ctx, testChannel, Request{Start: to.Add(-time.Second), End: to.Add(time.Minute)})
	var we *WindowError
	if !errors.As(err, &we) {
		t.Fatalf("clip past the live edge: %v, want a WindowError", err)
	}
	if _, err := s.Clip(ctx, "ch_other", Request{Start: to.Add(-time.Minute), End: to}); !errors.Is(err, ErrNeverLive) {
		t.Fatalf("clip of a channel never live: %v, want ErrNeverLive", err)
	}
	page, err := cat.ListAssets(ctx, catalog.AssetFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 || len(ev.types) != 0 {
		t.Fatalf("refused clips left %d assets, events %v", len(page.Items), ev.types)
	}
}

// TestRecord makes an asset of the whole newest session.
func TestRecord(t *testing.T) {
	store, root, v := liveStore(t)
	writeIndex(t, store, v, 4, true)
	s, _, _ := newService(t, store)
	res, err := s.Record(context.Background(), catalog.Channel{ID: testChannel, Name: "Studio"}, "")
	if err != nil {
		t.Fatal(err)
	}
	a := res.Asset
	if a.Status != catalog.AssetReady || a.Source.Origin != OriginRecord {
		t.Fatalf("asset %+v", a)
	}
	got := ffprobeDuration(t, filepath.Join(root, AssetPrefix(a.ID), "index.m3u8"))
	if d := got - 12*time.Second; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Fatalf("recording plays %v, want the session's 12 s", got)
	}
}
