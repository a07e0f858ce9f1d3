package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/lease/leasetest"
	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
	leasepg "github.com/ospreyvideo/osprey/internal/lease/postgres"
)

func TestMain(m *testing.M) {
	pgtest.RunChild(workerChild)
	os.Exit(m.Run())
}

// workerChild is the worker process of TestPostgresKilledWorker: its jobs
// block until it is killed; it writes "running <job id>" when one starts.
func workerChild(ctx context.Context, pool *pgxpool.Pool, node string) error {
	l, err := leasepg.New(ctx, pool, node, nil)
	if err != nil {
		return err
	}
	q, err := OpenPostgres(ctx, pool, Config{NodeID: node, PollInterval: 100 * time.Millisecond}, l, nil)
	if err != nil {
		return err
	}
	river.AddWorker(q.Workers(), river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
		fmt.Printf("running %d\n", job.ID)
		<-ctx.Done()
		return ctx.Err()
	}))
	if err := q.Start(ctx); err != nil {
		return err
	}
	select {}
}

// pgNode is one node's queue on a test database.
type pgNode struct {
	q      *Queue
	pool   *pgxpool.Pool
	leaser *leasepg.Leaser
}

func openPG(t *testing.T, db, node string, cfg Config) pgNode {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.Pool(t, db)
	l, err := leasepg.New(ctx, pool, node, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	cfg.NodeID = node
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	q, err := OpenPostgres(ctx, pool, cfg, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pgNode{q: q, pool: pool, leaser: l}
}

func (n pgNode) start(t *testing.T) {
	t.Helper()
	if err := n.q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.q.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

func jobState(t *testing.T, pool *pgxpool.Pool, id int64) (state string, attempt int) {
	t.Helper()
	if err := pool.QueryRow(context.Background(), `SELECT state, attempt FROM river_job WHERE id = $1`, id).Scan(&state, &attempt); err != nil {
		t.Fatal(err)
	}
	return state, attempt
}

func waitState(t *testing.T, pool *pgxpool.Pool, id int64, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		state, _ := jobState(t, pool, id)
		if state == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after %v, want %s", id, state, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The SQLite behaviours on the PostgreSQL driver: InsertTx follows its
// pgx.Tx, Insert works before Start (an API node), Cancel of a queued job,
// ReplaceArgs.
func TestPostgresQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	n := openPG(t, db, "node-a", Config{})
	w := &echoWorker{done: make(chan int, 4)}
	river.AddWorker(n.q.Workers(), w)

	// Before Start: insert-only.
	early, err := n.q.Insert(ctx, echoArgs{N: 1}, &river.InsertOpts{Queue: QueueVOD})
	if err != nil {
		t.Fatalf("Insert before Start: %v", err)
	}
	inTx := func(commit bool, n2 int) {
		tx, err := n.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.q.InsertTx(ctx, tx, echoArgs{N: n2}, &river.InsertOpts{Queue: QueueVOD}); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit(ctx)
		} else {
			err = tx.Rollback(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	inTx(false, 2)
	var rolled int
	if err := n.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE args->>'n' = '2'`).Scan(&rolled); err != nil || rolled != 0 {
		t.Fatalf("%d jobs from a rolled-back transaction (%v), want 0", rolled, err)
	}
	n.start(t)
	inTx(true, 3)
	got := map[int]bool{waitValue(t, w.done): true, waitValue(t, w.done): true}
	if !got[1] || !got[3] {
		t.Fatalf("ran %v, want jobs 1 and 3", got)
	}
	waitState(t, n.pool, early, "completed", 5*time.Second)
	if _, err := n.q.InsertTx(ctx, "not a tx", echoArgs{}, nil); err == nil || !strings.Contains(err.Error(), "pgx.Tx") {
		t.Fatalf("InsertTx of a non-pgx.Tx = %v, want an error naming pgx.Tx", err)
	}

	later, err := n.q.Insert(ctx, echoArgs{N: 424242}, &river.InsertOpts{Queue: QueueVOD, ScheduledAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.q.ReplaceArgs(ctx, later, echoArgs{N: 7}); err != nil {
		t.Fatal(err)
	}
	var args string
	if err := n.pool.QueryRow(ctx, `SELECT args::text FROM river_job WHERE id = $1`, later).Scan(&args); err != nil || args != `{"n": 7}` {
		t.Fatalf("args %s (%v), want {\"n\": 7}", args, err)
	}
	if err := n.q.ReplaceArgs(ctx, 999999, echoArgs{}); !errors.Is(err, river.ErrNotFound) {
		t.Errorf("ReplaceArgs of a missing job = %v, want river.ErrNotFound", err)
	}
	if err := n.q.Cancel(ctx, later); err != nil {
		t.Fatal(err)
	}
	if state, _ := jobState(t, n.pool, later); state != "cancelled" {
		t.Fatalf("state %s after Cancel, want cancelled", state)
	}
	if err := n.q.Cancel(ctx, 999999); err != nil {
		t.Errorf("Cancel of a missing job: %v", err)
	}
	if n.q.ClientID() == "" || !strings.HasPrefix(n.q.ClientID(), "node-a-") {
		t.Errorf("ClientID() = %q, want node-a-<suffix>", n.q.ClientID())
	}
}

// Two nodes migrating one empty database at once both succeed.
func TestPostgresConcurrentMigrations(t *testing.T) {
	t.Parallel()
	db := newTestDB(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		pool := pgtest.Pool(t, db)
		wg.Go(func() {
			_, errs[i] = OpenPostgres(context.Background(), pool, Config{NodeID: fmt.Sprintf("n%d", i)}, lease.NewLocal(), nil)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

// Two nodes on one database: every job runs exactly once.
func TestPostgresTwoNodesRunEachJobOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	const jobs = 60
	runs := make(chan int, 4*jobs)
	nodes := []pgNode{openPG(t, db, "node-a", Config{VODWorkers: 3}), openPG(t, db, "node-b", Config{VODWorkers: 3})}
	var mu sync.Mutex
	byNode := map[string]int{}
	for _, n := range nodes {
		river.AddWorker(n.q.Workers(), river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
			mu.Lock()
			byNode[job.AttemptedBy[len(job.AttemptedBy)-1]]++
			mu.Unlock()
			time.Sleep(20 * time.Millisecond) // a little work, so both nodes take some
			runs <- job.Args.N
			return nil
		}))
		n.start(t)
	}
	for i := range jobs {
		if _, err := nodes[i%2].q.Insert(ctx, echoArgs{N: i}, &river.InsertOpts{Queue: QueueVOD}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]int{}
	for range jobs {
		seen[waitValue(t, runs)]++
	}
	for i := range jobs {
		if seen[i] != 1 {
			t.Errorf("job %d ran %d times", i, seen[i])
		}
	}
	var completed int
	deadline := time.Now().Add(10 * time.Second)
	for completed != jobs && time.Now().Before(deadline) {
		if err := nodes[0].pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed' AND attempt = 1`).Scan(&completed); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if completed != jobs {
		t.Fatalf("%d jobs completed at their first attempt, want %d", completed, jobs)
	}
	select {
	case n := <-runs:
		t.Fatalf("job %d ran again", n)
	default:
	}
	t.Logf("runs per client: %v", byNode)
}

// Cancel on one node reaches the job running on another (River's
// LISTEN/NOTIFY), and a live worker's running job is never rescued.
func TestPostgresCancelRunningJobOnOtherNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	a, b := openPG(t, db, "worker-a", Config{}), openPG(t, db, "api-b", Config{})
	started := make(chan int64, 1)
	ended := make(chan error, 1)
	river.AddWorker(a.q.Workers(), river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
		started <- job.ID
		<-ctx.Done()
		ended <- context.Cause(ctx)
		return ctx.Err()
	}))
	a.start(t)
	id, err := b.q.Insert(ctx, echoArgs{N: 1}, &river.InsertOpts{Queue: QueueVOD})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start")
	}
	// b's rescuer sees a's job running under a held lease: nothing to do.
	n, err := rescue(ctx, b.pool, b.leaser, "api-b-x", slog.New(slog.DiscardHandler))
	if err != nil || n != 0 {
		t.Fatalf("rescue of a live worker's job: %d rescued, %v", n, err)
	}
	if state, _ := jobState(t, b.pool, id); state != "running" {
		t.Fatalf("state %s, want running", state)
	}
	start := time.Now()
	if err := b.q.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case cause := <-ended:
		t.Logf("the running job's context ended %v after Cancel on the other node: %v", time.Since(start).Round(time.Millisecond), cause)
	case <-time.After(5 * time.Second):
		t.Fatal("Cancel on another node did not reach the running job within 5 s")
	}
	waitState(t, a.pool, id, "cancelled", 5*time.Second)
}

// A worker killed with kill -9 mid-job: another node's rescuer makes the
// job available again and it finishes there within 60 s.
func TestPostgresKilledWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	n := openPG(t, db, "worker-b", Config{RescueInterval: 2 * time.Second})
	done := make(chan *river.Job[echoArgs], 1)
	river.AddWorker(n.q.Workers(), river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
		done <- job
		return nil
	}))

	cmd := pgtest.ChildCommand(db, "worker-a")
	line := leasetest.StartChild(t, cmd)
	id, err := n.q.Insert(ctx, echoArgs{N: 5}, &river.InsertOpts{Queue: QueueVOD})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-line:
		if s != fmt.Sprintf("running %d", id) {
			t.Fatalf("child wrote %q, want running %d", s, id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the child worker did not start the job in 30 s")
	}
	n.start(t) // the surviving worker, started only now so the child took the job
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	select {
	case job := <-done:
		took := time.Since(killed)
		t.Logf("job finished on the other worker %v after kill -9", took.Round(time.Millisecond))
		if job.ID != id || job.Attempt != 2 {
			t.Errorf("ran job %d attempt %d, want job %d attempt 2", job.ID, job.Attempt, id)
		}
		if len(job.AttemptedBy) != 2 || !strings.HasPrefix(job.AttemptedBy[0], "worker-a-") || job.AttemptedBy[1] != n.q.ClientID() {
			t.Errorf("attempted_by %v, want the dead child then %s", job.AttemptedBy, n.q.ClientID())
		}
		if len(job.Errors) != 1 || !strings.Contains(job.Errors[0].Error, "died") {
			t.Errorf("errors %+v, want one saying the worker died", job.Errors)
		}
		if took > 60*time.Second {
			t.Errorf("took %v, want within 60 s", took)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the job of the killed worker did not finish on the other worker within 60 s")
	}
	waitState(t, n.pool, id, "completed", 5*time.Second)
}

// newTestDB is an empty database for the test (see pgtest).
func newTestDB(t *testing.T) string { return pgtest.Database(t) }
