// Package jobs is Osprey's persistent job queue: River (riverqueue.com) on
// the catalog's database. Jobs are rows in the same database as the assets
// they work on, so an asset and its first job are inserted in one
// transaction, and a job survives restarts and kill -9.
//
// In the embedded install the database is SQLite (River's riversqlite driver
// on the catalog's single writer connection; notify.go tells how a queue
// learns of new jobs without polling). On PostgreSQL (OpenPostgres, pg.go)
// River's riverpgxv5 driver runs the same workers on every worker node;
// each node's worker holds a cluster lease, and the jobs of a worker whose
// lease lapsed (kill -9, a lost network) are rescued by the others
// (rescue.go).
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
	"github.com/riverqueue/river/rivertype"

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
	// looks for available jobs every 5 PollIntervals, as a backstop. On
	// PostgreSQL, notifications are LISTEN/NOTIFY and PollInterval only sets
	// that backstop.
	PollInterval time.Duration
	// NodeID names this node (PostgreSQL only): River client IDs are the
	// node id and a random suffix, so job rows say which node ran them.
	NodeID string
	// RescueInterval is how often a PostgreSQL worker looks for jobs left
	// running by a dead worker; default 5s.
	RescueInterval time.Duration
}

// fetchPollFactor sets River's FetchPollInterval to this many PollIntervals:
// with notifications delivered at once it is only a backstop, and each
// fetch is a query per queue.
const fetchPollFactor = 5

// Queue is a River client with Osprey's queues. Register workers on
// Workers() before Start.
type Queue struct {
	cfg     Config
	log     *slog.Logger
	workers *river.Workers
	eng     engine
	pg      *pgSide // nil on SQLite

	mu      sync.Mutex
	client  client // the working client, once started
	started bool
}

// engine is what differs between the databases.
type engine interface {
	// newClient creates a River client on the database.
	newClient(cfg *river.Config) (client, error)
	// replaceArgs overwrites job id's arguments; false if there is no such job.
	replaceArgs(ctx context.Context, id int64, args []byte) (bool, error)
}

// client is a river.Client whatever its transaction type.
type client interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertTx(ctx context.Context, tx catalog.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancel(ctx context.Context, jobID int64) (*rivertype.JobRow, error)
	Start(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
}

// riverClient adapts a river.Client[TTx] to client; txName names TTx in
// the error for a catalog.Tx of another type.
type riverClient[TTx any] struct {
	*river.Client[TTx]
	txName string
}

func (c riverClient[TTx]) insertTx(ctx context.Context, tx catalog.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	t, ok := tx.(TTx)
	if !ok {
		return nil, fmt.Errorf("jobs: transaction of type %T, want %s", tx, c.txName)
	}
	return c.InsertTx(ctx, t, args, opts)
}

// OpenSQLite prepares a queue on db, the catalog's single-connection SQLite
// writer pool, applying River's migrations. Because one process owns the
// database file, jobs a previous process left running were cut off (kill -9,
// power loss): they are made available again at once, counting the lost run
// as an attempt.
func OpenSQLite(ctx context.Context, db *sql.DB, cfg Config, log *slog.Logger) (*Queue, error) {
	cfg, log = withDefaults(cfg, log)
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
	return &Queue{cfg: cfg, log: log, workers: river.NewWorkers(), eng: sqliteEngine{db: db, every: cfg.PollInterval}}, nil
}

func withDefaults(cfg Config, log *slog.Logger) (Config, *slog.Logger) {
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
	if cfg.RescueInterval <= 0 {
		cfg.RescueInterval = 5 * time.Second
	}
	return cfg, log
}

type sqliteEngine struct {
	db    *sql.DB
	every time.Duration
}

func (e sqliteEngine) newClient(cfg *river.Config) (client, error) {
	c, err := river.NewClient[*sql.Tx](newSQLiteDriver(e.db, e.every), cfg)
	if err != nil {
		return nil, err
	}
	return riverClient[*sql.Tx]{c, "*sql.Tx"}, nil
}

func (e sqliteEngine) replaceArgs(ctx context.Context, id int64, args []byte) (bool, error) {
	res, err := e.db.ExecContext(ctx, `UPDATE river_job SET args = jsonb(?) WHERE id = ?`, string(args), id)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Workers is where workers are registered (river.AddWorker) before Start.
func (q *Queue) Workers() *river.Workers { return q.workers }

// Start creates the River client and starts working jobs until Stop. On
// PostgreSQL it first takes this worker's lease (see pgSide).
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.started {
		return errors.New("jobs: already started")
	}
	if q.pg != nil {
		if err := q.pg.start(ctx, q); err != nil {
			return err
		}
		q.started = true
		return nil
	}
	c, err := q.startClient(ctx, "")
	if err != nil {
		return err
	}
	q.client = c
	q.started = true
	return nil
}

// riverConfig is the River configuration of a working client named id
// ("" lets River choose).
func (q *Queue) riverConfig(id string) *river.Config {
	return &river.Config{
		ID: id,
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
		// A running job is never rescued by River while its worker lives:
		// on SQLite only a restart (OpenSQLite) releases jobs left running,
		// on PostgreSQL the rescuer of pg.go does when the worker's lease
		// lapses.
		RescueStuckJobsAfter: 100 * 365 * 24 * time.Hour,
		Logger:               slog.New(quietHandler{q.log.Handler()}).With("component", "river"),
	}
}

// startClient creates and starts a working client named id.
func (q *Queue) startClient(ctx context.Context, id string) (client, error) {
	c, err := q.eng.newClient(q.riverConfig(id))
	if err != nil {
		return nil, fmt.Errorf("jobs: creating the client: %w", err)
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("jobs: starting: %w", err)
	}
	return c, nil
}

// Stop stops fetching jobs, cancels the running ones' contexts and waits
// for them to return (or ctx to end). Their jobs are retried later.
func (q *Queue) Stop(ctx context.Context) error {
	if q.pg != nil {
		return q.pg.stop(ctx, q)
	}
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

func (q *Queue) clientOrErr() (client, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.client != nil {
		return q.client, nil
	}
	if q.pg != nil {
		return q.pg.inserter, nil
	}
	return nil, errors.New("jobs: queue not started")
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
	res, err := c.insertTx(ctx, tx, args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// Cancel cancels a job: a queued one never runs. A running one is marked
// for cancellation. On PostgreSQL River's LISTEN/NOTIFY cancels the
// running job's context at once on whichever node runs it; on SQLite the
// running worker only learns of it late (there is no LISTEN/NOTIFY), so
// the owner of a running job also cancels its context itself (see
// vod.Service.Cancel). Cancelling a finished or unknown job changes
// nothing.
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
	found, err := q.eng.replaceArgs(ctx, jobID, b)
	if err != nil {
		return fmt.Errorf("jobs: replacing the arguments of job %d: %w", jobID, err)
	}
	if !found {
		return fmt.Errorf("jobs: replacing the arguments of job %d: %w", jobID, river.ErrNotFound)
	}
	return nil
}
