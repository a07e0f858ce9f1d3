package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
)

// migrationFiles holds the schema history: migrations/NNNNN_name.sql, each
// with goose Up and Down sections. Never edit a released migration; add one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// newMigrator returns a goose provider for db that sees only this package's
// migrations (no global registry).
func newMigrator(db *sql.DB, log *slog.Logger) (*goose.Provider, error) {
	dir, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectSQLite3, db, dir,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log),
	)
}

// migrate applies every pending migration and returns the schema version.
// It refuses a database whose schema is newer than this binary knows, which
// happens after a downgrade.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) (int64, error) {
	p, err := newMigrator(db, log.With("step", "migrate"))
	if err != nil {
		return 0, fmt.Errorf("catalog/sqlite: loading migrations: %w", err)
	}
	// Do not call p.Close: it would close db.
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("catalog/sqlite: migrating: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("catalog/sqlite: reading schema version: %w", err)
	}
	if current != target {
		return 0, fmt.Errorf("catalog/sqlite: schema version %d, but this build knows up to %d (downgrade?)", current, target)
	}
	return current, nil
}
