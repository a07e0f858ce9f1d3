package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

type testJobArgs struct {
	AssetID string `json:"asset_id"`
}

func (testJobArgs) Kind() string { return "test.catalog" }

// TestRiverJobsInCatalogTx inserts River jobs (riverpgxv5) with the pgx.Tx
// of CreateAsset and UpdateAssetTx, as the VoD service does: a job exists
// exactly when its asset's write committed.
func TestRiverJobsInCatalogTx(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	migrator, err := rivermigrate.New(riverpgxv5.New(s.Pool()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	client, err := river.NewClient(riverpgxv5.New(s.Pool()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	jobs := func(id string) int {
		t.Helper()
		var n int
		if err := s.pool.QueryRow(ctx, "SELECT COUNT(*) FROM river_job WHERE kind = 'test.catalog' AND args->>'asset_id' = $1", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insertJob := func(ctx context.Context, tx catalog.Tx, id string) error {
		pgxTx, ok := tx.(pgx.Tx)
		if !ok {
			return errors.New("catalog.Tx is not a pgx.Tx")
		}
		res, err := client.InsertTx(ctx, pgxTx, testJobArgs{AssetID: id}, nil)
		if err != nil {
			return err
		}
		if res.Job.ID == 0 {
			t.Error("job inserted without an ID")
		}
		return nil
	}
	boom := errors.New("after the insert")

	err = s.CreateAsset(ctx, catalog.Asset{ID: "as_rolled"}, func(ctx context.Context, tx catalog.Tx) error {
		if err := insertJob(ctx, tx, "as_rolled"); err != nil {
			t.Errorf("InsertTx: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("CreateAsset = %v, want %v", err, boom)
	}
	if n := jobs("as_rolled"); n != 0 {
		t.Fatalf("%d jobs after a rolled-back create, want 0", n)
	}
	if _, err := s.GetAsset(ctx, "as_rolled"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("GetAsset after rollback: %v", err)
	}

	err = s.CreateAsset(ctx, catalog.Asset{ID: "as_ok"}, func(ctx context.Context, tx catalog.Tx) error {
		return insertJob(ctx, tx, "as_ok")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := jobs("as_ok"); n != 1 {
		t.Fatalf("%d jobs after a committed create, want 1", n)
	}

	// UpdateAssetTx: the job of a failed update is gone, of a good one kept.
	_, err = s.UpdateAssetTx(ctx, "as_ok", func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error {
		a.Attempts++
		if err := insertJob(ctx, tx, "as_ok"); err != nil {
			t.Errorf("InsertTx: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateAssetTx = %v, want %v", err, boom)
	}
	if n := jobs("as_ok"); n != 1 {
		t.Fatalf("%d jobs after a rolled-back update, want 1", n)
	}
	a, err := s.UpdateAssetTx(ctx, "as_ok", func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error {
		a.Attempts++
		return insertJob(ctx, tx, "as_ok")
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := jobs("as_ok"); n != 2 || a.Attempts != 1 {
		t.Fatalf("after a committed update: %d jobs (want 2), Attempts %d (want 1)", n, a.Attempts)
	}
}
