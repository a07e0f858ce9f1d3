package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// versionRows counts goose's version rows in the Store's schema.
func versionRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), "SELECT COUNT(*) FROM goose_db_version").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func migrationCount(t *testing.T) int {
	t.Helper()
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// TestOpenTwiceIsIdempotent: opening a migrated database applies nothing
// and keeps its rows.
func TestOpenTwiceIsIdempotent(t *testing.T) {
	ctx := context.Background()
	u := schemaURL(t)
	s, err := Open(ctx, u, discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChannel(ctx, catalog.Channel{ID: "ch_a", Name: "A", StreamKey: "sk_a"}); err != nil {
		t.Fatal(err)
	}
	rows1 := versionRows(t, s)
	// goose records version 0 (the empty schema) and then each migration.
	if want := migrationCount(t) + 1; rows1 != want {
		t.Fatalf("goose_db_version has %d rows after the first Open, want %d", rows1, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openURL(t, u)
	if rows2 := versionRows(t, s); rows2 != rows1 {
		t.Fatalf("second Open changed goose_db_version from %d to %d rows", rows1, rows2)
	}
	if _, err := s.GetChannel(ctx, "ch_a"); err != nil {
		t.Fatalf("channel lost across reopen: %v", err)
	}
}

// TestConcurrentOpen starts several Stores on one empty database at once,
// as several nodes starting together do: all open, and each migration is
// applied exactly once.
func TestConcurrentOpen(t *testing.T) {
	const n = 4
	u := schemaURL(t)
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(context.Background(), u, discard) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	if got, want := versionRows(t, stores[0]), migrationCount(t)+1; got != want {
		t.Fatalf("goose_db_version has %d rows, want %d: a migration was recorded twice or not at all", got, want)
	}
}

// TestMigrationsDownUp checks every migration's Down section undoes its Up.
func TestMigrationsDownUp(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := newMigrator(db, discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("migrating down: %v", err)
	}
	var tables int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename IN ('channels', 'assets', 'webhooks', 'webhook_deliveries')`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("%d catalog tables left after migrating down", tables)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
}

// TestRefusesNewerSchema: a database migrated by a newer release is refused.
func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	u := schemaURL(t)
	s, err := Open(ctx, u, discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, u, discard)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer release")
	}
	t.Logf("Open: %v", err)
}

// TestMapErr: only unique violations are conflicts.
func TestMapErr(t *testing.T) {
	other := errors.New("disk on fire")
	if got := mapErr(other); got != other {
		t.Errorf("mapErr(other) = %v, want it unchanged", got)
	}
	s := openTemp(t)
	_, err := s.pool.Exec(context.Background(), "INSERT INTO channels VALUES ('', 'n', 'k', now(), now())")
	if err == nil {
		t.Fatal("CHECK constraint did not fire")
	}
	if got := mapErr(err); errors.Is(got, catalog.ErrConflict) || errors.Is(got, catalog.ErrNotFound) {
		t.Errorf("CHECK violation mapped to %v", got)
	}
}
