// Package sqlite implements catalog.Store on an embedded SQLite database
// (the pure-Go modernc.org/sqlite driver), with versioned migrations applied
// by goose when the database is opened.
//
// The database runs in WAL mode with two connection pools on the same file:
// a writer limited to one connection, whose transactions begin IMMEDIATE so
// writers queue on busy_timeout instead of failing to upgrade a read lock,
// and a small query-only reader pool. WAL lets readers proceed while the
// writer commits, so a stream-key lookup at publish time never waits behind a
// long write transaction (such as a job queue's), and every read that starts
// after a write has committed sees it.
//
// One process owns the database file: migrations take no cross-process lock.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

const (
	busyTimeout = 5 * time.Second
	readerConns = 4
)

// Store is a catalog.Store on an SQLite database file. It is safe for
// concurrent use.
type Store struct {
	w   *sql.DB // single connection: every write goes here
	r   *sql.DB // query-only pool for reads
	log *slog.Logger
	now func() time.Time

	closeOnce sync.Once
	closeErr  error
}

var _ catalog.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path, applies pending
// migrations and returns the Store. The file's directory is created too.
func Open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "catalog.sqlite")
	if path == "" {
		return nil, errors.New("catalog/sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("catalog/sqlite: resolving %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("catalog/sqlite: creating directory: %w", err)
	}

	s := &Store{log: log, now: time.Now}
	if s.w, err = openWriter(ctx, abs); err != nil {
		return nil, err
	}
	version, err := migrate(ctx, s.w, log)
	if err != nil {
		_ = s.w.Close()
		return nil, err
	}
	if s.r, err = openReader(ctx, abs); err != nil {
		_ = s.w.Close()
		return nil, err
	}
	log.Info("catalog opened", "path", abs, "schema_version", version)
	return s, nil
}

// dsn builds a file: URI for the driver: SQLite decodes the path, and the
// driver applies the underscore parameters to every new connection.
func dsn(path string, params url.Values) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: params.Encode()}
	return u.String()
}

func openWriter(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, url.Values{
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
		"_journal_mode": {"WAL"},
		"_foreign_keys": {"1"},
		"_synchronous":  {"NORMAL"},
		"_txlock":       {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("catalog/sqlite: opening writer: %w", err)
	}
	// SQLite has one writer at a time; one connection makes database/sql
	// queue writers in Go instead of bouncing them off SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("catalog/sqlite: opening %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("catalog/sqlite: reading journal mode: %w", err)
	}
	if mode != "wal" {
		_ = db.Close()
		return nil, fmt.Errorf("catalog/sqlite: journal mode is %q, want wal (is the filesystem local?)", mode)
	}
	return db, nil
}

func openReader(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, url.Values{
		"_busy_timeout": {fmt.Sprint(busyTimeout.Milliseconds())},
		"_foreign_keys": {"1"},
		"_query_only":   {"1"},
	}))
	if err != nil {
		return nil, fmt.Errorf("catalog/sqlite: opening reader: %w", err)
	}
	db.SetMaxOpenConns(readerConns)
	db.SetMaxIdleConns(readerConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("catalog/sqlite: opening reader: %w", err)
	}
	return db, nil
}

// DB returns the single-connection writer pool, for components that share
// the database file (such as a job queue's SQLite driver). Closing the Store
// closes it.
func (s *Store) DB() *sql.DB { return s.w }

// Ping reports whether both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("catalog/sqlite: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("catalog/sqlite: ping reader: %w", err)
	}
	return nil
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		// Let SQLite refresh query-planner statistics it found stale; do not
		// wait long for a writer that still holds the connection.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := s.w.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			s.log.Warn("PRAGMA optimize failed", "err", err)
		}
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("catalog/sqlite: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}
