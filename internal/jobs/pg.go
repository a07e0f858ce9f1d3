package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ospreyvideo/osprey/internal/lease"
)

// On PostgreSQL several nodes share the queue. Each started Queue is a River
// client named NodeID-<random> that holds the lease "jobs-worker/<client
// id>" (WorkerLeasePrefix) while it works: its liveness, testable by every
// other node. River's own rescuer would only rescue a running job after a
// fixed time (transcodes legitimately run for long), so every started Queue
// runs a rescuer (rescue.go) that makes the running jobs of clients whose
// lease lapsed available again. If this node's own lease is lost (its
// connection to PostgreSQL failed), it stops its client at once, cancelling
// the running jobs, since other nodes may soon rescue them; it then starts
// a new client under a new lease once PostgreSQL answers again.

// WorkerLeasePrefix starts the name of a worker's lease; the River client
// id follows.
const WorkerLeasePrefix = "jobs-worker/"

// migrateLockKey serializes River's migrations between nodes starting at
// once: "osprejm" in ASCII, apart from lease/postgres's hashed keys.
const migrateLockKey int64 = 0x6f73707265796a6d

// pgSide is the PostgreSQL half of a Queue.
type pgSide struct {
	pool     *pgxpool.Pool
	leaser   lease.Leaser
	inserter client // insert-only client, for Insert before Start (API nodes)
	log      *slog.Logger

	// Guarded by Queue.mu.
	clientID string
	lease    lease.Lease
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

type pgEngine struct{ pool *pgxpool.Pool }

func (e pgEngine) newClient(cfg *river.Config) (client, error) {
	c, err := river.NewClient[pgx.Tx](riverpgxv5.New(e.pool), cfg)
	if err != nil {
		return nil, err
	}
	return riverClient[pgx.Tx]{c, "pgx.Tx"}, nil
}

func (e pgEngine) replaceArgs(ctx context.Context, id int64, args []byte) (bool, error) {
	tag, err := e.pool.Exec(ctx, `UPDATE river_job SET args = $1::jsonb WHERE id = $2`, string(args), id)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// OpenPostgres prepares a queue on the catalog's PostgreSQL pool, applying
// River's migrations (serialized between nodes by an advisory lock, so
// several nodes may start at once). leaser is the cluster's lease table
// (lease/postgres on the same database). The queue inserts jobs at once;
// Start makes this node a worker too.
func OpenPostgres(ctx context.Context, pool *pgxpool.Pool, cfg Config, leaser lease.Leaser, log *slog.Logger) (*Queue, error) {
	if leaser == nil {
		return nil, errors.New("jobs: OpenPostgres needs a leaser")
	}
	cfg, log = withDefaults(cfg, log)
	if cfg.NodeID == "" {
		return nil, errors.New("jobs: OpenPostgres needs Config.NodeID")
	}
	if err := migratePostgres(ctx, pool, log); err != nil {
		return nil, err
	}
	eng := pgEngine{pool: pool}
	q := &Queue{cfg: cfg, log: log, workers: river.NewWorkers(), eng: eng}
	ins, err := eng.newClient(&river.Config{
		ID:     clientID(cfg.NodeID + "-insert"),
		Logger: slog.New(quietHandler{log.Handler()}).With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("jobs: creating the insert client: %w", err)
	}
	q.pg = &pgSide{pool: pool, leaser: leaser, inserter: ins, log: log}
	return q, nil
}

func migratePostgres(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrating the queue tables: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("jobs: waiting for other nodes' migrations: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", migrateLockKey); err != nil {
			// The lock dies with the session: drop it rather than pool it.
			_ = conn.Conn().Close(uctx)
		}
	}()
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(quietHandler{log.Handler()})})
	if err != nil {
		return fmt.Errorf("jobs: preparing migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrating the queue tables: %w", err)
	}
	return nil
}

// clientID is prefix, a dash and a random suffix, within River's 100
// characters.
func clientID(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	if len(prefix) > 90 {
		prefix = prefix[:90]
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}

// ClientID is the River client id of the started queue ("" when stopped or
// on SQLite): the last element of attempted_by of the jobs it runs.
func (q *Queue) ClientID() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pg == nil {
		return ""
	}
	return q.pg.clientID
}

// start takes a lease, starts a working client under it and the goroutine
// that rescues dead workers' jobs and watches the lease. q.mu is held.
func (p *pgSide) start(ctx context.Context, q *Queue) error {
	if err := p.startClient(ctx, q); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go p.run(sctx, q)
	return nil
}

// startClient: q.mu is held.
func (p *pgSide) startClient(ctx context.Context, q *Queue) error {
	id := clientID(q.cfg.NodeID)
	ls, err := p.leaser.Acquire(ctx, WorkerLeasePrefix+id)
	if err != nil {
		return fmt.Errorf("jobs: taking the worker lease: %w", err)
	}
	c, err := q.startClient(ctx, id)
	if err != nil {
		_ = ls.Release()
		return err
	}
	q.client, p.clientID, p.lease = c, id, ls
	p.log.Info("job worker started", "client", id)
	return nil
}

// run rescues dead workers' jobs every RescueInterval, and restarts the
// client under a new lease when the lease is lost.
func (p *pgSide) run(ctx context.Context, q *Queue) {
	defer p.wg.Done()
	t := time.NewTicker(q.cfg.RescueInterval)
	defer t.Stop()
	for {
		q.mu.Lock()
		ls, id := p.lease, p.clientID
		q.mu.Unlock()
		var lost <-chan struct{}
		if ls != nil {
			lost = ls.Lost()
		}
		select {
		case <-ctx.Done():
			return
		case <-lost:
			p.onLost(ctx, q, id)
		case <-t.C:
			if ls == nil {
				p.restart(ctx, q)
				continue
			}
			if _, err := rescue(ctx, p.pool, p.leaser, id, p.log); err != nil && ctx.Err() == nil {
				p.log.Warn("looking for jobs of dead workers", "err", err)
			}
		}
	}
}

// onLost stops the client whose lease was lost: other nodes may rescue its
// jobs soon, so they must not go on here.
func (p *pgSide) onLost(ctx context.Context, q *Queue, id string) {
	p.log.Error("job worker lost its lease; cancelling its running jobs, they run again on a live worker", "client", id)
	q.mu.Lock()
	c := q.client
	q.client, p.lease, p.clientID = nil, nil, ""
	q.mu.Unlock()
	if c != nil {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.StopAndCancel(sctx); err != nil {
			p.log.Warn("stopping the job worker that lost its lease", "client", id, "err", err)
		}
		cancel()
	}
}

// restart starts a new client under a new lease, if PostgreSQL answers.
func (p *pgSide) restart(ctx context.Context, q *Queue) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ctx.Err() != nil || q.client != nil {
		return
	}
	if err := p.startClient(ctx, q); err != nil {
		p.log.Debug("job worker not restarted yet", "err", err)
	}
}

// stop stops the rescuer and the client, then releases the lease. If the
// running jobs do not return before ctx ends, the lease is kept (until the
// Leaser closes or the process exits), so that no node rescues jobs still
// running here.
func (p *pgSide) stop(ctx context.Context, q *Queue) error {
	q.mu.Lock()
	cancel := p.cancel
	p.cancel = nil
	q.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	p.wg.Wait()
	q.mu.Lock()
	c, ls, id := q.client, p.lease, p.clientID
	q.client, p.lease, p.clientID = nil, nil, ""
	q.mu.Unlock()
	if c != nil {
		if err := c.StopAndCancel(ctx); err != nil {
			return fmt.Errorf("jobs: stopping: %w", err)
		}
	}
	if ls != nil {
		if err := ls.Release(); err != nil {
			p.log.Warn("releasing the worker lease", "client", id, "err", err)
		}
	}
	return nil
}
