package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// SQLite has no LISTEN/NOTIFY. River's SQLite driver emulates it with an
// outbox table (river_notification) that its listener queries every 50 ms:
// 20 queries a second that modernc's SQLite parses afresh each time, the
// largest part of an idle Osprey's CPU and a visible share of a live
// channel's. sqliteDriver keeps River's outbox (and so its semantics) but
// replaces the 50 ms poll: every notification this process writes, in any
// transaction, wakes the listener at once, and the table is polled every
// Config.PollInterval only for rows other processes wrote.
//
// The woken listener queries on the same single-connection writer pool the
// notifying transaction holds, so its query runs once that transaction has
// committed (or rolled back) and sees the new rows. With a pool of several
// connections it could run before the commit; the periodic poll then picks
// the row up, as it does for rows of other processes.
type sqliteDriver struct {
	*riversqlite.Driver
	db    *sql.DB
	wake  chan struct{} // capacity 1: a wake-up that arrives mid-query is kept for the next wait
	every time.Duration
}

func newSQLiteDriver(db *sql.DB, every time.Duration) *sqliteDriver {
	return &sqliteDriver{Driver: riversqlite.New(db), db: db, wake: make(chan struct{}, 1), every: every}
}

func (d *sqliteDriver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *sqliteDriver) GetExecutor() riverdriver.Executor {
	return notifyingExecutor{d.Driver.GetExecutor(), d.poke}
}

func (d *sqliteDriver) UnwrapExecutor(tx *sql.Tx) riverdriver.ExecutorTx {
	return notifyingTx{d.Driver.UnwrapExecutor(tx), d.poke}
}

func (d *sqliteDriver) UnwrapTx(execTx riverdriver.ExecutorTx) *sql.Tx {
	if w, ok := execTx.(notifyingTx); ok {
		execTx = w.ExecutorTx
	}
	return d.Driver.UnwrapTx(execTx)
}

func (d *sqliteDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	table := "river_notification"
	if params != nil && params.Schema != "" {
		table = `"` + strings.ReplaceAll(params.Schema, `"`, `""`) + `".` + table
	}
	return &listener{db: d.db, table: table, schema: params.Schema, wake: d.wake, every: d.every, topics: map[string]struct{}{}}
}

// notifyingExecutor and notifyingTx wake the listener after each
// NotifyMany, and hand the wrapping on to the transactions they begin.
type notifyingExecutor struct {
	riverdriver.Executor
	poke func()
}

func (e notifyingExecutor) Begin(ctx context.Context) (riverdriver.ExecutorTx, error) {
	tx, err := e.Executor.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return notifyingTx{tx, e.poke}, nil
}

func (e notifyingExecutor) NotifyMany(ctx context.Context, params *riverdriver.NotifyManyParams) error {
	err := e.Executor.NotifyMany(ctx, params)
	e.poke()
	return err
}

type notifyingTx struct {
	riverdriver.ExecutorTx
	poke func()
}

func (t notifyingTx) Begin(ctx context.Context) (riverdriver.ExecutorTx, error) {
	tx, err := t.ExecutorTx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return notifyingTx{tx, t.poke}, nil
}

func (t notifyingTx) NotifyMany(ctx context.Context, params *riverdriver.NotifyManyParams) error {
	err := t.ExecutorTx.NotifyMany(ctx, params)
	t.poke()
	return err
}

// listener is riverdriver.Listener over River's river_notification table,
// like riversqlite's, but waiting on wake-ups instead of a 50 ms poll.
type listener struct {
	db     *sql.DB
	table  string
	schema string
	wake   <-chan struct{}
	every  time.Duration
	onWait func() // tests: called when a wait begins

	mu        sync.Mutex
	connected bool
	lastID    int64 // rows up to here were seen (or predate Connect)
	topics    map[string]struct{}
}

func (l *listener) Connect(ctx context.Context) error {
	var last int64
	if err := l.db.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM `+l.table).Scan(&last); err != nil {
		return fmt.Errorf("jobs: reading the last notification: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.connected {
		return errors.New("jobs: listener already connected")
	}
	l.connected, l.lastID = true, last
	return nil
}

func (l *listener) Close(context.Context) error {
	l.mu.Lock()
	l.connected = false
	l.mu.Unlock()
	return nil
}

func (l *listener) Listen(_ context.Context, topic string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.connected {
		return errors.New("jobs: listener not connected")
	}
	l.topics[topic] = struct{}{}
	return nil
}

func (l *listener) Unlisten(_ context.Context, topic string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.connected {
		return errors.New("jobs: listener not connected")
	}
	delete(l.topics, topic)
	return nil
}

func (l *listener) Ping(ctx context.Context) error { return l.db.PingContext(ctx) }
func (l *listener) Schema() string                 { return l.schema }
func (l *listener) SetAfterConnectExec(string)     {}

// WaitForNotification returns the next notification of a listened topic,
// querying the outbox when woken by this process's NotifyMany or every
// l.every.
func (l *listener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		n, more, err := l.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		if n != nil {
			return n, nil
		}
		if more {
			continue // a row of a topic nobody listens to: look further
		}
		if timer == nil {
			timer = time.NewTimer(l.every)
		} else {
			timer.Reset(l.every)
		}
		if l.onWait != nil {
			l.onWait()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-l.wake:
		case <-timer.C:
		}
	}
}

// next reads the first row after lastID: n is its notification when its
// topic is listened; more reports a row that was skipped.
func (l *listener) next(ctx context.Context) (n *riverdriver.Notification, more bool, err error) {
	l.mu.Lock()
	if !l.connected {
		l.mu.Unlock()
		return nil, false, errors.New("jobs: listener not connected")
	}
	after := l.lastID
	l.mu.Unlock()

	var (
		id             int64
		payload, topic string
	)
	err = l.db.QueryRowContext(ctx, `SELECT id, payload, topic FROM `+l.table+` WHERE id > ? ORDER BY id LIMIT 1`, after).Scan(&id, &payload, &topic)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("jobs: reading notifications: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if id > l.lastID {
		l.lastID = id
	}
	if _, ok := l.topics[topic]; !ok {
		return nil, true, nil
	}
	return &riverdriver.Notification{Payload: payload, Topic: topic}, false, nil
}
