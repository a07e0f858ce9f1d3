package jobs

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	_ "modernc.org/sqlite"
)

type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "test.echo" }

type echoWorker struct {
	river.WorkerDefaults[echoArgs]
	done  chan int
	block chan struct{} // when set, Work waits for it or its context
	calls atomic.Int32
}

func (w *echoWorker) Work(ctx context.Context, job *river.Job[echoArgs]) error {
	w.calls.Add(1)
	if w.block != nil {
		select {
		case <-w.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.done <- job.Args.N
	return nil
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func startQueue(t *testing.T, db *sql.DB, w *echoWorker) *Queue {
	t.Helper()
	return startQueueEvery(t, db, w, 50*time.Millisecond)
}

// startQueueEvery is startQueue with the given Config.PollInterval.
func startQueueEvery(t *testing.T, db *sql.DB, w *echoWorker, poll time.Duration) *Queue {
	t.Helper()
	ctx := context.Background()
	q, err := OpenSQLite(ctx, db, Config{PollInterval: poll}, nil)
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(q.Workers(), w)
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	})
	return q
}

func waitValue(t *testing.T, ch chan int) int {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not run in 10 s")
		return 0
	}
}

// A job inserted in a transaction runs only if the transaction commits.
func TestInsertTxFollowsTheTransaction(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	w := &echoWorker{done: make(chan int, 4)}
	q := startQueue(t, db, w)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE things (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO things VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := q.InsertTx(ctx, tx, echoArgs{N: 1}, &river.InsertOpts{Queue: QueueVOD}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.InsertTx(ctx, tx, echoArgs{N: 2}, &river.InsertOpts{Queue: QueueVOD}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := waitValue(t, w.done); got != 2 {
		t.Fatalf("ran job %d, want 2 (the rolled-back one must not exist)", got)
	}
	select {
	case v := <-w.done:
		t.Fatalf("rolled-back job %d ran", v)
	case <-time.After(500 * time.Millisecond):
	}
	if _, err := q.InsertTx(ctx, "not a tx", echoArgs{}, nil); err == nil {
		t.Fatal("InsertTx accepted a value that is not a *sql.Tx")
	}
}

// A job a dead process left running is run again by the next one.
func TestJobsLeftRunningAreReleasedAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()

	// First process: the job starts and the process "dies" (the worker
	// never returns and the job row stays running).
	db1 := openDB(t, path)
	w1 := &echoWorker{done: make(chan int, 1), block: make(chan struct{})}
	q1, err := OpenSQLite(ctx, db1, Config{PollInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(q1.Workers(), w1)
	if err := q1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := q1.Insert(ctx, echoArgs{N: 7}, &river.InsertOpts{Queue: QueueVOD}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for w1.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if w1.calls.Load() == 0 {
		t.Fatal("the job did not start")
	}
	var state string
	if err := db1.QueryRowContext(ctx, `SELECT state FROM river_job`).Scan(&state); err != nil || state != "running" {
		t.Fatalf("job state %q (%v), want running", state, err)
	}
	// Snapshot the database as a crash would leave it: copy the file while
	// the job is running (VACUUM INTO writes a consistent copy).
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	if _, err := db1.ExecContext(ctx, `VACUUM INTO ?`, crashed); err != nil {
		t.Fatal(err)
	}
	close(w1.block)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = q1.Stop(sctx)

	// Second process on the crashed copy.
	db2 := openDB(t, crashed)
	w2 := &echoWorker{done: make(chan int, 1)}
	startQueue(t, db2, w2)
	if got := waitValue(t, w2.done); got != 7 {
		t.Fatalf("ran job %d, want 7", got)
	}
	var attempt int
	if err := db2.QueryRowContext(ctx, `SELECT attempt FROM river_job`).Scan(&attempt); err != nil {
		t.Fatal(err)
	}
	if attempt != 2 {
		t.Errorf("attempt %d, want 2 (the lost run counts)", attempt)
	}
}

// Cancel of a job that has not run yet means it never runs.
func TestCancelQueuedJob(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	w := &echoWorker{done: make(chan int, 1)}
	q := startQueue(t, db, w)
	ctx := context.Background()
	id, err := q.Insert(ctx, echoArgs{N: 1}, &river.InsertOpts{Queue: QueueVOD, ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := db.QueryRowContext(ctx, `SELECT state FROM river_job WHERE id = ?`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != "cancelled" {
		t.Fatalf("job state %q after Cancel, want cancelled", state)
	}
	if err := q.Cancel(ctx, 999999); err != nil {
		t.Errorf("cancelling a job that does not exist: %v", err)
	}
}

func TestQueueNotStarted(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	q, err := OpenSQLite(context.Background(), db, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Insert(context.Background(), echoArgs{}, nil); err == nil {
		t.Fatal("Insert before Start succeeded")
	}
}
