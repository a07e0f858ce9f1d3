package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ospreyvideo/osprey/internal/lease"
)

// runningJob is a running job and the client that runs it.
type runningJob struct {
	id      int64
	attempt int
	queue   string
	by      string // last element of attempted_by
}

// rescue makes the running jobs of dead workers (clients other than self
// whose lease is not held) available again, or discarded when they have no
// attempt left, or cancelled when a cancellation was asked, as River's own
// rescuer would. It returns how many jobs it changed.
func rescue(ctx context.Context, pool *pgxpool.Pool, leaser lease.Leaser, self string, log *slog.Logger) (int, error) {
	rows, err := pool.Query(ctx, `SELECT id, attempt, queue, coalesce(attempted_by[array_length(attempted_by, 1)], '')
		FROM river_job WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("listing running jobs: %w", err)
	}
	var jobs []runningJob
	for rows.Next() {
		var j runningJob
		if err := rows.Scan(&j.id, &j.attempt, &j.queue, &j.by); err != nil {
			rows.Close()
			return 0, fmt.Errorf("listing running jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("listing running jobs: %w", err)
	}
	alive := map[string]bool{self: true}
	var dead []runningJob
	for _, j := range jobs {
		if j.by == "" {
			continue
		}
		live, ok := alive[j.by]
		if !ok {
			if live, err = leaser.Held(ctx, WorkerLeasePrefix+j.by); err != nil {
				return 0, fmt.Errorf("testing worker %s: %w", j.by, err)
			}
			alive[j.by] = live
		}
		if !live {
			dead = append(dead, j)
		}
	}
	if len(dead) == 0 {
		return 0, nil
	}
	n, err := requeue(ctx, pool, dead, self)
	if n > 0 {
		log.Warn("jobs of dead workers rescued", "jobs", n, "rescuer", self)
	}
	return n, err
}

// requeue changes dead's jobs in one transaction, each only if it is still
// the same running attempt (another node's rescuer may have been first),
// and wakes the queues' workers.
func requeue(ctx context.Context, pool *pgxpool.Pool, dead []runningJob, self string) (int, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("rescuing jobs: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	n := 0
	queues := map[string]bool{}
	now := time.Now().UTC()
	for _, j := range dead {
		errJSON, _ := json.Marshal(map[string]any{
			"at":      now,
			"attempt": j.attempt,
			"error":   fmt.Sprintf("worker %s died (its lease lapsed); job rescued by %s", j.by, self),
			"trace":   "",
		})
		tag, err := tx.Exec(ctx, `UPDATE river_job SET
			state = CASE WHEN metadata ? 'cancel_attempted_at' THEN 'cancelled'
			             WHEN attempt >= max_attempts THEN 'discarded'
			             ELSE 'available' END::river_job_state,
			finalized_at = CASE WHEN metadata ? 'cancel_attempted_at' OR attempt >= max_attempts THEN now() END,
			scheduled_at = CASE WHEN metadata ? 'cancel_attempted_at' OR attempt >= max_attempts THEN scheduled_at ELSE now() END,
			errors = array_append(errors, $3::jsonb)
			WHERE id = $1 AND state = 'running' AND attempt = $2`, j.id, j.attempt, string(errJSON))
		if err != nil {
			return 0, fmt.Errorf("rescuing job %d: %w", j.id, err)
		}
		if tag.RowsAffected() > 0 {
			n++
			queues[j.queue] = true
		}
	}
	for queue := range queues {
		payload, _ := json.Marshal(map[string]string{"queue": queue})
		if _, err := tx.Exec(ctx, `SELECT pg_notify(current_schema() || '.river_insert', $1)`, string(payload)); err != nil {
			return 0, fmt.Errorf("waking the %s queue: %w", queue, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("rescuing jobs: %w", err)
	}
	return n, nil
}
