package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// TestUpdateAssetTx checks that fn's writes through tx commit with the
// asset's update, and that fn's error rolls back both.
func TestUpdateAssetTx(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	if err := s.CreateAsset(ctx, catalog.Asset{ID: "as_1", Title: "t", Status: catalog.AssetImporting}, nil); err != nil {
		t.Fatal(err)
	}
	channel := func(ctx context.Context, tx catalog.Tx, id string) error {
		now := s.stamp()
		return insertChannel(ctx, tx, catalog.Channel{ID: id, Name: id, StreamKey: "sk_" + id, CreatedAt: now, UpdatedAt: now})
	}
	boom := errors.New("boom")
	_, err := s.UpdateAssetTx(ctx, "as_1", func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error {
		a.Status = catalog.AssetQueued
		if err := channel(ctx, tx, "ch_rolled"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateAssetTx = %v, want fn's error", err)
	}
	if _, err := s.GetChannel(ctx, "ch_rolled"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("the write of a failed update is there: %v", err)
	}
	if a, _ := s.GetAsset(ctx, "as_1"); a.Status != catalog.AssetImporting {
		t.Errorf("status after a failed update = %q, want %q", a.Status, catalog.AssetImporting)
	}
	a, err := s.UpdateAssetTx(ctx, "as_1", func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error {
		a.Status = catalog.AssetQueued
		a.JobID = 7
		return channel(ctx, tx, "ch_kept")
	})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != catalog.AssetQueued || a.JobID != 7 {
		t.Errorf("asset %+v", a)
	}
	if _, err := s.GetChannel(ctx, "ch_kept"); err != nil {
		t.Errorf("the write of the update is missing: %v", err)
	}
}

// TestUpdatesAcrossStores: two Stores on one database (two nodes) updating
// one asset at once lose nothing: the row lock serializes them.
func TestUpdatesAcrossStores(t *testing.T) {
	const perStore, workers = 10, 3
	ctx := context.Background()
	u := schemaURL(t)
	stores := []*Store{openURL(t, u), openURL(t, u)}
	if err := stores[0].CreateAsset(ctx, catalog.Asset{ID: "as_shared"}, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*workers*perStore)
	for _, s := range stores {
		for range workers {
			wg.Go(func() {
				for range perStore {
					_, err := s.UpdateAsset(ctx, "as_shared", func(a *catalog.Asset) error {
						a.Attempts++
						return nil
					})
					if err != nil {
						errs <- err
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	a, err := stores[1].GetAsset(ctx, "as_shared")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(stores) * workers * perStore; a.Attempts != want {
		t.Fatalf("Attempts = %d after %d increments from two Stores: updates were lost", a.Attempts, want)
	}
}

// TestTimesTruncated: a time with nanoseconds is stored truncated to the
// microsecond (as catalog/sqlite does), not rounded, and comes back in UTC.
func TestTimesTruncated(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	in := time.Date(2026, 3, 4, 5, 6, 7, 999_999_999, time.FixedZone("X", 3600))
	ch := catalog.Channel{ID: "ch_t", Name: "T", StreamKey: "sk_t", CreatedAt: in, UpdatedAt: in}
	if err := s.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetChannel(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := in.UTC().Truncate(time.Microsecond)
	if !got.CreatedAt.Equal(want) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v (%v), want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), want)
	}
}
