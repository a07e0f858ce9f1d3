package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// migrationFiles holds the schema history: migrations/NNNNN_name.sql, each
// with goose Up and Down sections, numbered and named as catalog/sqlite's so
// both dialects stand at the same version. Never edit a released migration;
// add one (to both backends).
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the advisory lock key goose holds while migrating
// (chosen for Osprey, so another goose user of the same database does not
// wait on ours).
const migrationLockID int64 = 0x6f737072_65790001 // "ospr" "ey" 1

// newMigrator returns a goose provider for db that sees only this package's
// migrations (no global registry) and migrates under a session-level
// advisory lock, polled every second for up to five minutes.
func newMigrator(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	dir, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, dir,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
		goose.WithSlog(log),
	)
}

// migrate applies every pending migration and returns the schema version.
// It refuses a database whose schema is newer than this binary knows, which
// happens after a downgrade (or while a newer node of a rolling upgrade has
// already migrated).
func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (int64, error) {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close() // does not close pool
	p, err := newMigrator(db, log.With("step", "migrate"))
	if err != nil {
		return 0, fmt.Errorf("catalog/postgres: loading migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("catalog/postgres: migrating: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("catalog/postgres: reading schema version: %w", err)
	}
	if current != target {
		return 0, fmt.Errorf("catalog/postgres: schema version %d, but this build knows up to %d (downgrade?)", current, target)
	}
	return current, nil
}
