package jobs

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

// TestReplaceArgs checks that a job's stored arguments can be overwritten,
// so that nothing of the old ones stays in the row.
func TestReplaceArgs(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	q := startQueue(t, db, &echoWorker{done: make(chan int, 1)})
	ctx := context.Background()
	id, err := q.Insert(ctx, echoArgs{N: 424242}, &river.InsertOpts{Queue: QueueImports, ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.ReplaceArgs(ctx, id, echoArgs{N: 7}); err != nil {
		t.Fatal(err)
	}
	var args string
	if err := db.QueryRowContext(ctx, `SELECT json(args) FROM river_job WHERE id = ?`, id).Scan(&args); err != nil {
		t.Fatal(err)
	}
	if args != `{"n":7}` {
		t.Errorf("args = %s, want {\"n\":7}", args)
	}
	var raw []byte
	if err := db.QueryRowContext(ctx, `SELECT CAST(args AS blob) FROM river_job WHERE id = ?`, id).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "424242") {
		t.Errorf("the old arguments are still in the row: %q", raw)
	}
	if err := q.ReplaceArgs(ctx, 999999, echoArgs{}); !errors.Is(err, river.ErrNotFound) {
		t.Errorf("ReplaceArgs of a missing job = %v, want river.ErrNotFound", err)
	}
}
