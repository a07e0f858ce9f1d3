package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/catalogtest"
)

var discard = slog.New(slog.DiscardHandler)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"), discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	catalogtest.RunAll(t, func(t *testing.T) catalog.Store { return openTemp(t) }, catalogtest.Options{
		WriteInTx: func(ctx context.Context, tx catalog.Tx, ch catalog.Channel) error {
			sqlTx, ok := tx.(*sql.Tx)
			if !ok {
				return fmt.Errorf("Tx is a %T, want *sql.Tx", tx)
			}
			_, err := sqlTx.ExecContext(ctx, "INSERT INTO channels ("+channelColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)",
				ch.ID, ch.Name, ch.StreamKey, formatTime(ch.CreatedAt), formatTime(ch.UpdatedAt), int64(ch.DVRWindow), ch.Record)
			return err
		},
	})
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := context.Background()
	tests := []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "foreign_keys", "1"},
		{s.w, "synchronous", "1"}, // NORMAL
		{s.w, "busy_timeout", "5000"},
		{s.w, "query_only", "0"},
		{s.r, "journal_mode", "wal"},
		{s.r, "foreign_keys", "1"},
		{s.r, "busy_timeout", "5000"},
		{s.r, "query_only", "1"},
	}
	for _, tc := range tests {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			pool := "writer"
			if tc.db == s.r {
				pool = "reader"
			}
			t.Errorf("%s PRAGMA %s = %q, want %q", pool, tc.pragma, got, tc.want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer MaxOpenConnections = %d, want 1", n)
	}
	if s.DB() != s.w {
		t.Error("DB() is not the writer pool")
	}
}

// TestReadersNotBlockedByWriter holds the only writer connection in an open
// write transaction and checks reads still answer, from committed data.
func TestReadersNotBlockedByWriter(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	ctx := context.Background()
	ch := catalog.Channel{ID: "ch_a", Name: "A", StreamKey: "sk_a"}
	if err := s.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE channels SET name = 'uncommitted' WHERE id = 'ch_a'"); err != nil {
		t.Fatal(err)
	}

	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	got, err := s.ChannelByStreamKey(rctx, "sk_a")
	if err != nil {
		t.Fatalf("read during a write transaction: %v", err)
	}
	if got.Name != "A" {
		t.Fatalf("read saw name %q, want the committed %q", got.Name, "A")
	}
	// The reader pool refuses writes.
	if _, err := s.r.ExecContext(rctx, "DELETE FROM channels"); err == nil {
		t.Fatal("reader pool accepted a write")
	}
}

func TestOpenTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	ch := catalog.Channel{ID: "ch_a", Name: "A", StreamKey: "sk_a"}

	s, err := Open(ctx, path, discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	rows1 := versionRows(t, s.w)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, discard)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer s.Close()
	if rows2 := versionRows(t, s.w); rows2 != rows1 {
		t.Fatalf("second Open changed goose_db_version from %d to %d rows", rows1, rows2)
	}
	if _, err := s.GetChannel(ctx, "ch_a"); err != nil {
		t.Fatalf("channel lost across reopen: %v", err)
	}
}

// TestUpgradeFromEveryOlderVersion builds a database at each older schema
// version, as an older release left it (with a channel once the table
// exists), and checks Open brings it to the latest version with data intact.
func TestUpgradeFromEveryOlderVersion(t *testing.T) {
	t.Parallel()
	latest := latestVersion(t)
	if latest < 2 {
		t.Fatalf("latest schema version %d: this test needs at least two migrations", latest)
	}
	for v := int64(0); v < latest; v++ {
		t.Run(fmt.Sprintf("from_v%d", v), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "catalog.db")
			db := rawDB(t, path)
			if v > 0 {
				p, err := newMigrator(db, discard)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := p.UpTo(ctx, v); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, `INSERT INTO channels VALUES
					('ch_old', 'Old', 'sk_old', '2025-06-01T00:00:00.000000Z', '2025-06-01T00:00:00.000000Z')`); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			s, err := Open(ctx, path, discard)
			if err != nil {
				t.Fatalf("Open of a v%d database: %v", v, err)
			}
			defer s.Close()
			var got int64
			if err := s.w.QueryRowContext(ctx, "SELECT MAX(version_id) FROM goose_db_version").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != latest {
				t.Fatalf("schema version after Open = %d, want %d", got, latest)
			}
			var idx int
			if err := s.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'channels_created_at'").Scan(&idx); err != nil {
				t.Fatal(err)
			}
			if idx != 1 {
				t.Fatal("index from migration 2 missing after upgrade")
			}
			if v > 0 {
				ch, err := s.GetChannel(ctx, "ch_old")
				if err != nil {
					t.Fatalf("channel written at v%d lost: %v", v, err)
				}
				if want := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC); !ch.CreatedAt.Equal(want) {
					t.Fatalf("CreatedAt = %v, want %v", ch.CreatedAt, want)
				}
				if ch.DVRWindow != 0 || ch.Record {
					t.Fatalf("channel from v%d: DVRWindow %v, Record %v; want the defaults 0, false", v, ch.DVRWindow, ch.Record)
				}
			}
		})
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	s, err := Open(ctx, path, discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.ExecContext(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, discard)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a database from a newer release")
	}
	t.Logf("Open: %v", err)
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, path := range map[string]string{
		"empty":     "",
		"directory": t.TempDir(),
	} {
		if s, err := Open(ctx, path, discard); err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", name)
		}
	}
}

func TestMapErr(t *testing.T) {
	t.Parallel()
	other := errors.New("disk on fire")
	if got := mapErr(other); got != other {
		t.Errorf("mapErr(other) = %v, want it unchanged", got)
	}
	if got := mapErr(sql.ErrNoRows); !errors.Is(got, catalog.ErrNotFound) {
		t.Errorf("mapErr(ErrNoRows) = %v, want ErrNotFound", got)
	}
	// A CHECK violation is a constraint error but not a conflict.
	s := openTemp(t)
	_, err := s.w.Exec("INSERT INTO channels VALUES ('', 'n', 'k', 't', 't')")
	if err == nil {
		t.Fatal("CHECK constraint did not fire")
	}
	if errors.Is(mapErr(err), catalog.ErrConflict) {
		t.Errorf("CHECK violation mapped to ErrConflict: %v", err)
	}
}

// rawDB opens path without running migrations.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, url.Values{"_busy_timeout": {"5000"}}))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func latestVersion(t *testing.T) int64 {
	t.Helper()
	db := rawDB(t, filepath.Join(t.TempDir(), "probe.db"))
	p, err := newMigrator(db, discard)
	if err != nil {
		t.Fatal(err)
	}
	sources := p.ListSources()
	return sources[len(sources)-1].Version
}

func versionRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM goose_db_version").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
