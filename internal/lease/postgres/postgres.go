// Package postgres implements lease.Leaser with PostgreSQL session-level
// advisory locks, so that every node of a cluster sharing one catalog
// database shares one lease table.
//
// A lease is pg_try_advisory_lock(key) on a connection of its own (not one
// of the pool's), key being a stable 64-bit hash of the namespaced name. The
// lock lives exactly as long as that session:
//
//   - a node killed with kill -9: the kernel closes its socket, PostgreSQL
//     ends the session and frees its locks at once;
//   - a node cut off by the network: the session sets server-side TCP
//     keepalives and tcp_user_timeout, so the server ends it (and frees the
//     locks) within serverGiveUp (about 8 s). The node itself pings its
//     session every pingEvery with a pingTimeout; when a ping fails it
//     closes every Lease's Lost channel (long before the server can have
//     freed the locks), then reconnects in the background. Acquire fails
//     meanwhile with an error saying so.
//
// RequestRelease is a NOTIFY on notifyChannel, heard by every node on a
// second dedicated connection that LISTENs. Held and the "held by node X"
// part of ErrHeld read pg_locks; the holding sessions carry the node id in
// their application_name.
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ospreyvideo/osprey/internal/lease"
)

const (
	// pingEvery and pingTimeout bound how late a node learns that its
	// session is gone: at most pingEvery+pingTimeout, well before
	// serverGiveUp.
	pingEvery   = time.Second
	pingTimeout = 2 * time.Second
	// opTimeout bounds each statement on the lock session.
	opTimeout = 5 * time.Second
	// Server-side settings of the lock session: the server drops a silent
	// peer after keepaliveIdle + keepaliveCount*keepaliveInterval seconds,
	// and a peer that does not acknowledge data after userTimeoutMS.
	keepaliveIdle     = 2
	keepaliveInterval = 2
	keepaliveCount    = 3
	userTimeoutMS     = 8000
	// notifyChannel carries RequestRelease's names.
	notifyChannel = "osprey_lease_release"
	// appPrefix starts the application_name of lock sessions; the node id
	// follows.
	appPrefix = "osprey-lease "
	// keyNamespace keeps Osprey's keys apart from other advisory locks on
	// the same database (River's, goose's).
	keyNamespace = "osprey/lease/"
)

// Leaser is a lease.Leaser on PostgreSQL. It is safe for concurrent use.
type Leaser struct {
	pool   *pgxpool.Pool
	cfg    *pgx.ConnConfig
	nodeID string
	addr   string
	log    *slog.Logger

	mu      sync.Mutex
	conn    *pgx.Conn // the lock session; nil while reconnecting
	lastErr error     // why conn is nil
	held    map[string]*pgLease
	closed  bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var _ lease.Leaser = (*Leaser)(nil)

// New opens the lock and listen sessions with pool's connection settings
// and returns a Leaser for node nodeID. It fails if PostgreSQL cannot be
// reached, naming its address.
func New(ctx context.Context, pool *pgxpool.Pool, nodeID string, log *slog.Logger) (*Leaser, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if nodeID == "" {
		return nil, errors.New("lease/postgres: empty node id")
	}
	cfg := pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = appName(nodeID)
	cfg.RuntimeParams["tcp_keepalives_idle"] = strconv.Itoa(keepaliveIdle)
	cfg.RuntimeParams["tcp_keepalives_interval"] = strconv.Itoa(keepaliveInterval)
	cfg.RuntimeParams["tcp_keepalives_count"] = strconv.Itoa(keepaliveCount)
	cfg.RuntimeParams["tcp_user_timeout"] = strconv.Itoa(userTimeoutMS)
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > opTimeout {
		cfg.ConnectTimeout = opTimeout
	}
	l := &Leaser{
		pool:   pool,
		cfg:    cfg,
		nodeID: nodeID,
		addr:   net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))),
		log:    log.With("component", "lease.postgres", "node", nodeID),
		held:   make(map[string]*pgLease),
	}
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	listen, err := l.connectListener(ctx)
	if err != nil {
		_ = conn.Close(context.Background())
		return nil, err
	}
	l.conn = conn
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(2)
	go l.keep()
	go l.listen(listen)
	return l, nil
}

func appName(nodeID string) string {
	n := appPrefix + nodeID
	if len(n) > 63 { // NAMEDATALEN-1: PostgreSQL truncates longer names
		n = n[:63]
	}
	return n
}

// Key is the advisory lock key of name: a stable 64-bit hash.
func Key(name string) int64 {
	sum := sha256.Sum256([]byte(keyNamespace + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

func (l *Leaser) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, l.cfg)
	if err != nil {
		return nil, fmt.Errorf("lease/postgres: connecting to PostgreSQL at %s: %w", l.addr, err)
	}
	return conn, nil
}

func (l *Leaser) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := l.connect(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		_ = conn.Close(context.Background())
		return nil, fmt.Errorf("lease/postgres: LISTEN on PostgreSQL at %s: %w", l.addr, err)
	}
	return conn, nil
}

// Acquire takes name with pg_try_advisory_lock on the lock session.
func (l *Leaser) Acquire(ctx context.Context, name string) (lease.Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lease: acquiring %q: %w", name, err)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lease/postgres: leaser closed")
	}
	if _, ok := l.held[name]; ok {
		l.mu.Unlock()
		// Session locks are re-entrant in PostgreSQL: refuse here.
		return nil, fmt.Errorf("%w: %q is held by this node (%s)", lease.ErrHeld, name, l.nodeID)
	}
	if l.conn == nil {
		err := l.lastErr
		l.mu.Unlock()
		return nil, fmt.Errorf("lease/postgres: acquiring %q: no session with PostgreSQL at %s (reconnecting): %w", name, l.addr, err)
	}
	octx, cancel := context.WithTimeout(context.Background(), opTimeout)
	var ok bool
	err := l.conn.QueryRow(octx, "SELECT pg_try_advisory_lock($1)", Key(name)).Scan(&ok)
	cancel()
	if err != nil {
		l.failLocked(err)
		l.mu.Unlock()
		return nil, fmt.Errorf("lease/postgres: acquiring %q on PostgreSQL at %s: %w", name, l.addr, err)
	}
	if ok {
		ls := &pgLease{owner: l, name: name, lost: make(chan struct{}), requested: make(chan struct{})}
		l.held[name] = ls
		l.mu.Unlock()
		return ls, nil
	}
	l.mu.Unlock()
	if holder := l.holder(ctx, name); holder != "" {
		return nil, fmt.Errorf("%w: %q is held by node %s", lease.ErrHeld, name, holder)
	}
	return nil, fmt.Errorf("%w: %q", lease.ErrHeld, name)
}

// lockRows selects the granted session locks on key in this database.
const lockRows = `FROM pg_locks k LEFT JOIN pg_stat_activity a ON a.pid = k.pid
WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1
  AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND k.classid::bigint = $1 AND k.objid::bigint = $2`

func keyParts(name string) (hi, lo int64) {
	k := uint64(Key(name))
	return int64(k >> 32), int64(k & 0xffffffff)
}

// holder names the node holding name, or "" if unknown.
func (l *Leaser) holder(ctx context.Context, name string) string {
	hi, lo := keyParts(name)
	var app *string
	err := l.pool.QueryRow(ctx, "SELECT a.application_name "+lockRows+" LIMIT 1", hi, lo).Scan(&app)
	if err != nil || app == nil {
		return ""
	}
	return strings.TrimPrefix(*app, appPrefix)
}

// Held reports whether a live session (of any node) holds name.
func (l *Leaser) Held(ctx context.Context, name string) (bool, error) {
	hi, lo := keyParts(name)
	var held bool
	if err := l.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 "+lockRows+")", hi, lo).Scan(&held); err != nil {
		return false, fmt.Errorf("lease/postgres: testing %q on PostgreSQL at %s: %w", name, l.addr, err)
	}
	return held, nil
}

// RequestRelease notifies every node that name is wanted.
func (l *Leaser) RequestRelease(ctx context.Context, name string) error {
	if _, err := l.pool.Exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, name); err != nil {
		return fmt.Errorf("lease/postgres: requesting the release of %q on PostgreSQL at %s: %w", name, l.addr, err)
	}
	return nil
}

// Close releases every lease (closing their Lost channels), closes both
// sessions and waits for the background goroutines.
func (l *Leaser) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loseAllLocked()
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		_ = l.conn.Close(ctx) // ending the session frees its locks
		l.conn = nil
	}
	return nil
}

// failLocked drops the lock session after err: every lease is lost, and
// keep reconnects. l.mu is held.
func (l *Leaser) failLocked(err error) {
	if l.conn == nil {
		return
	}
	n := len(l.held)
	l.loseAllLocked()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = l.conn.Close(ctx)
	cancel()
	l.conn = nil
	l.lastErr = err
	l.log.Error("lost the PostgreSQL session holding leases; they may be taken by other nodes", "addr", l.addr, "leases", n, "err", err)
}

func (l *Leaser) loseAllLocked() {
	for name, ls := range l.held {
		ls.gone = true
		close(ls.lost)
		delete(l.held, name)
	}
}

// keep pings the lock session, and reconnects it when it failed.
func (l *Leaser) keep() {
	defer l.wg.Done()
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		conn := l.conn
		if conn != nil {
			ctx, cancel := context.WithTimeout(l.ctx, pingTimeout)
			err := conn.Ping(ctx)
			cancel()
			if err != nil && l.ctx.Err() == nil {
				l.failLocked(err)
			}
			l.mu.Unlock()
			continue
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(l.ctx, opTimeout)
		conn, err := l.connect(ctx)
		cancel()
		if err != nil {
			continue
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			_ = conn.Close(context.Background())
			return
		}
		l.conn, l.lastErr = conn, nil
		l.mu.Unlock()
		l.log.Info("PostgreSQL session for leases restored", "addr", l.addr)
	}
}

// listen hands RequestRelease notifications to the leases they name,
// reconnecting its session when it fails.
func (l *Leaser) listen(conn *pgx.Conn) {
	defer l.wg.Done()
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	for {
		if conn == nil {
			select {
			case <-l.ctx.Done():
				return
			case <-time.After(pingEvery):
			}
			ctx, cancel := context.WithTimeout(l.ctx, opTimeout)
			c, err := l.connectListener(ctx)
			cancel()
			if err != nil {
				continue
			}
			conn = c
		}
		n, err := conn.WaitForNotification(l.ctx)
		if err != nil {
			if l.ctx.Err() != nil {
				return
			}
			l.log.Warn("release requests: PostgreSQL session lost; reconnecting", "addr", l.addr, "err", err)
			_ = conn.Close(context.Background())
			conn = nil
			continue
		}
		l.mu.Lock()
		if ls, ok := l.held[n.Payload]; ok {
			ls.requestOnce.Do(func() { close(ls.requested) })
		}
		l.mu.Unlock()
	}
}

type pgLease struct {
	owner       *Leaser
	name        string
	lost        chan struct{}
	requested   chan struct{}
	requestOnce sync.Once
	gone        bool // released or lost; guarded by owner.mu
}

func (ls *pgLease) Name() string                      { return ls.name }
func (ls *pgLease) Lost() <-chan struct{}             { return ls.lost }
func (ls *pgLease) ReleaseRequested() <-chan struct{} { return ls.requested }

// Release unlocks the name on the lock session.
func (ls *pgLease) Release() error {
	l := ls.owner
	l.mu.Lock()
	defer l.mu.Unlock()
	if ls.gone {
		return nil
	}
	ls.gone = true
	delete(l.held, ls.name)
	if l.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var ok bool
	if err := l.conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", Key(ls.name)).Scan(&ok); err != nil {
		l.failLocked(err)
		return fmt.Errorf("lease/postgres: releasing %q on PostgreSQL at %s: %w", ls.name, l.addr, err)
	}
	if !ok {
		return fmt.Errorf("lease/postgres: releasing %q: the session did not hold it", ls.name)
	}
	return nil
}
