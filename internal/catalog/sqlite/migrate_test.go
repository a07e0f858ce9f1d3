package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestMigrationsDownUp checks every migration's Down section undoes its Up:
// all the way down and up again must succeed.
func TestMigrationsDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := rawDB(t, filepath.Join(t.TempDir(), "catalog.db"))
	p, err := newMigrator(db, discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("migrating down: %v", err)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('channels', 'assets', 'webhooks', 'webhook_deliveries')").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("%d catalog tables left after migrating down", tables)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
}
