package jobs

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
)

// rescue decides as River's rescuer would: jobs with attempts left run
// again at once, jobs without are discarded, jobs asked to cancel are
// cancelled; jobs of live workers and of the rescuer itself are left alone.
func TestRescueDecisions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := openPG(t, newTestDB(t), "rescuer", Config{})
	live, err := n.leaser.Acquire(ctx, WorkerLeasePrefix+"alive-1")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Release()
	tests := []struct {
		name      string
		by        string
		attempt   int
		max       int
		cancelled bool
		want      string
	}{
		{"attempts left", "ghost-1", 1, 3, false, "available"},
		{"last attempt", "ghost-1", 3, 3, false, "discarded"},
		{"cancel asked", "ghost-2", 1, 3, true, "cancelled"},
		{"live worker", "alive-1", 1, 3, false, "running"},
		{"the rescuer itself", "rescuer-1", 1, 3, false, "running"},
	}
	ids := make([]int64, len(tests))
	for i, tt := range tests {
		id, err := n.q.Insert(ctx, echoArgs{N: i}, &river.InsertOpts{Queue: QueueVOD, MaxAttempts: tt.max, ScheduledAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		meta := `{}`
		if tt.cancelled {
			meta = `{"cancel_attempted_at": "2026-01-01T00:00:00Z"}`
		}
		_, err = n.pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = $2, attempted_at = now(),
			attempted_by = ARRAY['someone-else', $3], metadata = $4::jsonb WHERE id = $1`, id, tt.attempt, tt.by, meta)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	got, err := rescue(ctx, n.pool, n.leaser, "rescuer-1", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got != 3 {
		t.Errorf("rescued %d jobs, want 3", got)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var state, errs string
			var finalized bool
			err := n.pool.QueryRow(ctx, `SELECT state, coalesce(array_to_string(errors, ','), ''), finalized_at IS NOT NULL
				FROM river_job WHERE id = $1`, ids[i]).Scan(&state, &errs, &finalized)
			if err != nil {
				t.Fatal(err)
			}
			if state != tt.want {
				t.Fatalf("state %s, want %s", state, tt.want)
			}
			rescued := tt.want != "running"
			if rescued != strings.Contains(errs, "worker "+tt.by+" died") {
				t.Errorf("errors %q (rescued: %v)", errs, rescued)
			}
			if finalized != (tt.want == "discarded" || tt.want == "cancelled") {
				t.Errorf("finalized_at set: %v in state %s", finalized, state)
			}
		})
	}
	// A second pass (another node's rescuer after this one) changes nothing.
	if again, err := rescue(ctx, n.pool, n.leaser, "rescuer-1", slog.New(slog.DiscardHandler)); err != nil || again != 0 {
		t.Fatalf("second rescue: %d, %v; want 0", again, err)
	}
}

// A worker whose lease is lost (its session with PostgreSQL killed) stops
// its running job at once; the job then runs again on a live worker (here
// the same node's new client), never on two at once.
func TestPostgresWorkerLosingItsLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newTestDB(t)
	n := openPG(t, db, "worker-a", Config{RescueInterval: 500 * time.Millisecond})
	type run struct {
		id    int
		by    []string
		ended chan error
	}
	runs := make(chan run, 4)
	river.AddWorker(n.q.Workers(), river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
		r := run{id: int(job.ID), by: job.AttemptedBy, ended: make(chan error, 1)}
		runs <- r
		if len(job.AttemptedBy) > 1 {
			return nil
		}
		<-ctx.Done()
		r.ended <- ctx.Err()
		return ctx.Err()
	}))
	n.start(t)
	first := n.q.ClientID()
	id, err := n.q.Insert(ctx, echoArgs{N: 1}, &river.InsertOpts{Queue: QueueVOD})
	if err != nil {
		t.Fatal(err)
	}
	var r1 run
	select {
	case r1 = <-runs:
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not start")
	}
	var killed int
	if err := n.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'osprey-lease worker-a'`).Scan(&killed); err != nil || killed == 0 {
		t.Fatalf("terminating the lease sessions: %d, %v", killed, err)
	}
	select {
	case <-r1.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the running job was not cancelled within 5 s of the lease's loss")
	}
	select {
	case r2 := <-runs:
		// River puts back the jobs its stopping client cancelled without
		// counting an attempt; attempted_by shows the two runs.
		if r2.id != int(id) || len(r2.by) != 2 || r2.by[0] != first || r2.by[1] != n.q.ClientID() {
			t.Fatalf("second run: job %d by %v, want job %d by %s then %s", r2.id, r2.by, id, first, n.q.ClientID())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not run again within 30 s")
	}
	waitState(t, n.pool, id, "completed", 10*time.Second)
	if now := n.q.ClientID(); now == first || now == "" {
		t.Errorf("client id %q after the restart, want a new one (was %q)", now, first)
	}
}
