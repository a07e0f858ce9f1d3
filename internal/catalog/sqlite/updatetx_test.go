package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// TestUpdateAssetTx checks that fn's writes through tx commit with the
// asset's update, and that fn's error rolls back both.
func TestUpdateAssetTx(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := context.Background()
	if err := s.CreateAsset(ctx, catalog.Asset{ID: "as_1", Title: "t", Status: catalog.AssetImporting}, nil); err != nil {
		t.Fatal(err)
	}
	channel := func(ctx context.Context, tx catalog.Tx, id string) error {
		_, err := tx.(*sql.Tx).ExecContext(ctx, "INSERT INTO channels ("+channelColumns+") VALUES (?, ?, ?, ?, ?, 0, 0)",
			id, id, "sk_"+id, formatTime(s.stamp()), formatTime(s.stamp()))
		return err
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
