// Package jobs is Osprey's persistent job queue: River (riverqueue.com) on
// the catalog's database. Jobs are rows in the same database as the assets
// they work on, so an asset and its first job are inserted in one
// transaction, and a job survives restarts and kill -9.
//
// In the embedded install the database is SQLite (River's riversqlite driver
// on the catalog's single writer connection; notify.go tells how a queue
// learns of new jobs without polling); River's PostgreSQL driver runs the
// same workers when the catalog moves there.
//
// Queues: "vod" runs the VoD pipeline with per-node concurrency from the
// configuration; "imports" downloads the sources of URL imports (network
// bound, so beside the transcodes); "webhooks" delivers notifications.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// Queue names.
const (
	QueueVOD      = "vod"
	QueueImports  = "imports"
	QueueWebhooks = "webhooks"
)

// Config tunes the queue.
type Config struct {
	VODWorkers     int // jobs of the "vod" queue run at once; default 1
	ImportWorkers  int // downloads of URL imports at once; default 4
	WebhookWorkers int // default 8
	// PollInterval is how often the queue reads River's notification table
	// for rows written by other processes; default 1s. Jobs inserted by this
	// process wake their queue at once (see sqliteDriver). Each queue also
	// looks for available jobs every 5 PollIntervals, as a backstop.
	PollInterval time.Duration
}

// fetchPollFactor sets River's FetchPollInterval to this many PollIntervals:
// with notifications delivered at once it is only a backstop, and each
// fetch is a query per queue.
const fetchPollFactor = 5

// Queue is a River client with Osprey's queues. Register workers on
// Workers() before Start.
type Queue struct {
	cfg     Config
	db      *sql.DB
	log     *slog.Logger
	workers *river.Workers

	mu      sync.Mutex
	client  *river.Client[*sql.Tx]
	started bool
}

// OpenSQLite prepares a queue on db, the catalog's single-connection SQLite
// writer pool, applying River's migrations. Because one process owns the
// database file, jobs a previous process left running were cut off (kill -9,
// power loss): they are made available again at once, counting the lost run
// as an attempt.
func OpenSQLite(ctx context.Context, db *sql.DB, cfg Config, log *slog.Logger) (*Queue, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "jobs")
	if cfg.VODWorkers <= 0 {
		cfg.VODWorkers = 1
	}
	if cfg.ImportWorkers <= 0 {
		cfg.ImportWorkers = 4
	}
	if cfg.WebhookWorkers <= 0 {
		cfg.WebhookWorkers = 8
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	migrator, err := rivermigrate.New(riversqlite.New(db), &rivermigrate.Config{Logger: slog.New(quietHandler{log.Handler()})})
	if err != nil {
		return nil, fmt.Errorf("jobs: preparing migrations: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("jobs: migrating the queue tables: %w", err)
	}
	res, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return nil, fmt.Errorf("jobs: releasing jobs of a previous run: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		log.Warn("jobs interrupted by the previous run are queued again", "jobs", n)
	}
	return &Queue{cfg: cfg, db: db, log: log, workers: river.NewWorkers()}, nil
}

// Workers is where workers are registered (river.AddWorker) before Start.
func (q *Queue) Workers() *river.Workers { return q.workers }

// Start creates the River client and starts working jobs until Stop.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return errors.New("jobs: already started")
	}
	client, err := river.NewClient[*sql.Tx](newSQLiteDriver(q.db, q.cfg.PollInterval), &river.Config{
		Queues: map[string]river.QueueConfig{
			QueueVOD:      {MaxWorkers: q.cfg.VODWorkers},
			QueueImports:  {MaxWorkers: q.cfg.ImportWorkers},
			QueueWebhooks: {MaxWorkers: q.cfg.WebhookWorkers},
		},
		Workers:           q.workers,
		FetchPollInterval: fetchPollFactor * q.cfg.PollInterval,
		// River notifies a queue of inserts at most once per FetchCooldown;
		// a job whose notification was skipped waits for the backstop
		// fetch, so keep it short (it also debounces fetches, which run only
		// on notifications, completions and the backstop).
		FetchCooldown: river.FetchCooldownMin,
		// Transcodes run as long as they need; a stuck ffmpeg is the
		// worker's business (it is killed on cancel).
		JobTimeout: -1,
		// A running job is never rescued while this process lives: only a
		// restart (OpenSQLite) releases jobs left running.
		RescueStuckJobsAfter: 100 * 365 * 24 * time.Hour,
		Logger:               slog.New(quietHandler{q.log.Handler()}).With("component", "river"),
	})
	if err != nil {
		return fmt.Errorf("jobs: creating the client: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: starting: %w", err)
	}
	q.client = client
	q.started = true
	return nil
}

// Stop stops fetching jobs, cancels the running ones' contexts and waits
// for them to return (or ctx to end). Their jobs are retried later.
func (q *Queue) Stop(ctx context.Context) error {
	q.mu.Lock()
	c := q.client
	q.mu.Unlock()
	if c == nil {
		return nil
	}
	if err := c.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("jobs: stopping: %w", err)
	}
	return nil
}

func (q *Queue) clientOrErr() (*river.Client[*sql.Tx], error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client == nil {
		return nil, errors.New("jobs: queue not started")
	}
	return q.client, nil
}

// Insert queues a job.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	c, err := q.clientOrErr()
	if err != nil {
		return 0, err
	}
	res, err := c.Insert(ctx, args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// InsertTx queues a job inside a catalog transaction (see
// catalog.AssetStore.CreateAsset); it is visible only if tx commits.
func (q *Queue) InsertTx(ctx context.Context, tx catalog.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	c, err := q.clientOrErr()
	if err != nil {
		return 0, err
	}
	sqlTx, ok := tx.(*sql.Tx)
	if !ok {
		return 0, fmt.Errorf("jobs: transaction of type %T, want *sql.Tx", tx)
	}
	res, err := c.InsertTx(ctx, sqlTx, args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Cancel cancels a job: a queued one never runs. A running one is marked
// for cancellation, but on SQLite the running worker only learns of it
// late (there is no LISTEN/NOTIFY), so the owner of a running job also
// cancels its context itself (see vod.Service.Cancel). Cancelling a
// finished or unknown job changes nothing.
func (q *Queue) Cancel(ctx context.Context, jobID int64) error {
	c, err := q.clientOrErr()
	if err != nil {
		return err
	}
	if _, err := c.JobCancel(ctx, jobID); err != nil && !errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("jobs: cancelling job %d: %w", jobID, err)
	}
	return nil
}

// ReplaceArgs overwrites a job's stored arguments with args, for a worker
// to wipe what must not outlive the job (a presigned URL's signature)
// once it is no longer needed. River keeps finished jobs for a day.
func (q *Queue) ReplaceArgs(ctx context.Context, jobID int64, args river.JobArgs) error {
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("jobs: encoding the arguments of job %d: %w", jobID, err)
	}
	res, err := q.db.ExecContext(ctx, `UPDATE river_job SET args = jsonb(?) WHERE id = ?`, string(b), jobID)
	if err != nil {
		return fmt.Errorf("jobs: replacing the arguments of job %d: %w", jobID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("jobs: replacing the arguments of job %d: %w", jobID, river.ErrNotFound)
	}
	return nil
}
