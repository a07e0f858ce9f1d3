package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

type testJobArgs struct {
	AssetID string `json:"asset_id"`
}

func (testJobArgs) Kind() string { return "test.catalog" }

// TestCreateAssetWithRiverJob inserts a River job in CreateAsset's also, as
// the VoD service does: the job exists exactly when the asset does.
func TestCreateAssetWithRiverJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openTemp(t)
	migrator, err := rivermigrate.New(riversqlite.New(s.DB()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		t.Fatal(err)
	}
	client, err := river.NewClient(riversqlite.New(s.DB()), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	jobs := func() int {
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job WHERE kind = 'test.catalog'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insertJob := func(id string, fail error) func(context.Context, catalog.Tx) error {
		return func(ctx context.Context, tx catalog.Tx) error {
			res, err := client.InsertTx(ctx, tx.(*sql.Tx), testJobArgs{AssetID: id}, nil)
			if err != nil {
				return err
			}
			if res.Job.ID == 0 {
				t.Error("job inserted without an ID")
			}
			return fail
		}
	}

	boom := errors.New("after the insert")
	if err := s.CreateAsset(ctx, catalog.Asset{ID: "as_rolled"}, insertJob("as_rolled", boom)); !errors.Is(err, boom) {
		t.Fatalf("CreateAsset = %v, want %v", err, boom)
	}
	if n := jobs(); n != 0 {
		t.Fatalf("%d jobs after a rolled-back create, want 0", n)
	}
	if _, err := s.GetAsset(ctx, "as_rolled"); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("GetAsset after rollback: %v", err)
	}

	if err := s.CreateAsset(ctx, catalog.Asset{ID: "as_ok"}, insertJob("as_ok", nil)); err != nil {
		t.Fatal(err)
	}
	if n := jobs(); n != 1 {
		t.Fatalf("%d jobs after a committed create, want 1", n)
	}
	if _, err := s.GetAsset(ctx, "as_ok"); err != nil {
		t.Fatal(err)
	}
}
