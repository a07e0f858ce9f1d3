package catalogtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

func testAssetCreateGet(t *testing.T, s catalog.Store) {
	want := asset(1)
	want.ReadyAt = base.Add(time.Hour)
	createAsset(t, s, want)
	sameAsset(t, "GetAsset", getAsset(t, s, want.ID), want)

	// Zoned input comes back as the same instant in UTC; empty output and
	// sub-microsecond times survive as stored.
	other := asset(2)
	other.Output = catalog.AssetOutput{}
	other.CreatedAt = other.CreatedAt.In(time.FixedZone("UTC-3", -3*3600))
	createAsset(t, s, other)
	sameAsset(t, "GetAsset (zoned input, empty output)", getAsset(t, s, other.ID), other)
}

func testAssetCreateDefaults(t *testing.T, s catalog.Store) {
	a := catalog.Asset{ID: "as_minimal"}
	before := time.Now().Add(-time.Second)
	createAsset(t, s, a)
	got := getAsset(t, s, a.ID)
	if got.Status != catalog.AssetQueued {
		t.Errorf("Status = %q, want %q", got.Status, catalog.AssetQueued)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about now", got.CreatedAt)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) || !got.ReadyAt.IsZero() {
		t.Errorf("UpdatedAt = %v, ReadyAt = %v; want CreatedAt and zero", got.UpdatedAt, got.ReadyAt)
	}
}

func testAssetCreateErrors(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	orig := asset(1)
	createAsset(t, s, orig)
	dup := asset(2)
	dup.ID = orig.ID
	called := false
	err := s.CreateAsset(ctx, dup, func(context.Context, catalog.Tx) error { called = true; return nil })
	wantErr(t, "CreateAsset(same ID)", err, catalog.ErrConflict)
	if called {
		t.Error("also ran although the insert failed")
	}
	sameAsset(t, "original after conflict", getAsset(t, s, orig.ID), orig)

	noID := asset(3)
	noID.ID = ""
	if err := s.CreateAsset(ctx, noID, nil); err == nil || errors.Is(err, catalog.ErrConflict) {
		t.Errorf("CreateAsset(no ID) = %v, want a validation error", err)
	}
	for _, id := range []string{"as_missing", "", orig.ID + "x"} {
		_, err := s.GetAsset(ctx, id)
		wantErr(t, "GetAsset("+id+")", err, catalog.ErrNotFound)
	}
}

// testAssetAlsoRollback: an error from also is returned as is and undoes
// both the asset and whatever also wrote with the transaction.
func testAssetAlsoRollback(t *testing.T, s catalog.Store, opts Options) {
	ctx := context.Background()
	boom := errors.New("queue is full")
	a := asset(1)
	err := s.CreateAsset(ctx, a, func(ctx context.Context, tx catalog.Tx) error {
		if tx == nil {
			t.Error("also got a nil Tx")
		}
		if opts.WriteInTx != nil {
			if err := opts.WriteInTx(ctx, tx, channel(1)); err != nil {
				t.Errorf("writing with the Tx: %v", err)
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("CreateAsset = %v, want also's error", err)
	}
	_, err = s.GetAsset(ctx, a.ID)
	wantErr(t, "GetAsset after rollback", err, catalog.ErrNotFound)
	if opts.WriteInTx != nil {
		_, err = s.GetChannel(ctx, channel(1).ID)
		wantErr(t, "GetChannel written in the rolled-back Tx", err, catalog.ErrNotFound)
	}
	// The ID is still free, and the store still writes.
	createAsset(t, s, a)
}

// testAssetAlsoCommits: also runs once inside the transaction; what it writes
// with the Tx commits with the asset.
func testAssetAlsoCommits(t *testing.T, s catalog.Store, opts Options) {
	ctx := context.Background()
	a := asset(1)
	calls := 0
	err := s.CreateAsset(ctx, a, func(ctx context.Context, tx catalog.Tx) error {
		calls++
		if tx == nil {
			t.Error("also got a nil Tx")
		}
		if opts.WriteInTx != nil {
			return opts.WriteInTx(ctx, tx, channel(1))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("CreateAsset: %v", err)
	}
	if calls != 1 {
		t.Fatalf("also ran %d times, want 1", calls)
	}
	sameAsset(t, "GetAsset", getAsset(t, s, a.ID), a)
	if opts.WriteInTx != nil {
		sameChannel(t, "channel written with the Tx", get(t, s, channel(1).ID), channel(1))
	}
}

func testUpdateAsset(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	orig := asset(1)
	createAsset(t, s, orig)
	before := time.Now().Add(-time.Second)
	got, err := s.UpdateAsset(ctx, orig.ID, func(a *catalog.Asset) error {
		if a.ID != orig.ID || a.Title != orig.Title {
			t.Errorf("fn got %+v, want the stored asset", a)
		}
		a.Status = catalog.AssetReady
		a.Progress = 100
		a.Stage = ""
		a.ReadyAt = base.Add(2 * time.Hour)
		a.Output.Thumbnails = "thumbs/thumbnails.vtt"
		a.Output.Renditions = a.Output.Renditions[:1]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := orig
	want.Status, want.Progress, want.Stage = catalog.AssetReady, 100, ""
	want.ReadyAt = base.Add(2 * time.Hour)
	want.Output.Thumbnails = "thumbs/thumbnails.vtt"
	want.Output.Renditions = want.Output.Renditions[:1]
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("UpdatedAt = %v, want about now", got.UpdatedAt)
	}
	want.UpdatedAt = got.UpdatedAt
	sameAsset(t, "UpdateAsset result", got, want)
	sameAsset(t, "GetAsset after update", getAsset(t, s, orig.ID), want)

	// fn's error comes back as is and changes nothing.
	boom := errors.New("not now")
	_, err = s.UpdateAsset(ctx, orig.ID, func(a *catalog.Asset) error { a.Title = "changed"; return boom })
	if err != boom {
		t.Fatalf("UpdateAsset = %v, want fn's error itself", err)
	}
	sameAsset(t, "GetAsset after aborted update", getAsset(t, s, orig.ID), want)

	called := false
	_, err = s.UpdateAsset(ctx, "as_missing", func(*catalog.Asset) error { called = true; return nil })
	wantErr(t, "UpdateAsset(missing)", err, catalog.ErrNotFound)
	if called {
		t.Error("fn ran for a missing asset")
	}
}

// testConcurrentUpdates: read-modify-write updates from many goroutines
// must not lose each other's changes.
func testConcurrentUpdates(t *testing.T, s catalog.Store) {
	const workers, each = 8, 10
	a := asset(1)
	a.Attempts = 0
	createAsset(t, s, a)
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				_, err := s.UpdateAsset(context.Background(), a.ID, func(a *catalog.Asset) error {
					a.Attempts++
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := getAsset(t, s, a.ID).Attempts; got != workers*each {
		t.Fatalf("Attempts = %d after %d increments: updates were lost", got, workers*each)
	}
}

func testDeleteAsset(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	a, b := asset(1), asset(2)
	createAsset(t, s, a)
	createAsset(t, s, b)
	if err := s.DeleteAsset(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetAsset(ctx, a.ID)
	wantErr(t, "GetAsset after delete", err, catalog.ErrNotFound)
	wantErr(t, "second DeleteAsset", s.DeleteAsset(ctx, a.ID), catalog.ErrNotFound)
	sameAsset(t, "untouched asset", getAsset(t, s, b.ID), b)
	createAsset(t, s, a) // the ID is free again
}
