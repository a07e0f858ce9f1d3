// Package postgres implements catalog.Store on PostgreSQL with pgx v5
// (a pgxpool.Pool), for installs where several Osprey processes share one
// catalog. Versioned migrations (migrations/, the same numbering as
// catalog/sqlite's) are applied by goose when the catalog is opened.
//
// The catalog.Tx handed to CreateAsset's also callback and to
// UpdateAssetTx's fn is a pgx.Tx: River's riverpgxv5 driver inserts jobs
// with it (client.InsertTx(ctx, tx.(pgx.Tx), ...)), so an asset and its job
// commit or roll back together. Pool returns the pool for that driver.
//
// Times are timestamptz, stored at microsecond precision (Go times are
// truncated first, as catalog/sqlite does) and returned in UTC.
//
// Several processes may start at once against one database: migrations run
// under a PostgreSQL session-level advisory lock (goose's session locker), so
// exactly one process applies each pending migration and the others wait,
// then find nothing to do.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// connectTimeout bounds the first connection at Open (and each later dial,
// unless the URL sets connect_timeout): an unreachable server fails Open
// within it instead of hanging start-up.
const connectTimeout = 5 * time.Second

// Store is a catalog.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	now  func() time.Time

	closeOnce sync.Once
}

var _ catalog.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at url (a postgres:// URL or a
// key=value connection string, as pgx parses it), applies pending
// migrations and returns the Store. An unreachable server fails within about
// five seconds with an error naming its host:port; errors never contain the
// URL's password.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "catalog.postgres")
	if url == "" {
		return nil, errors.New("catalog/postgres: empty catalog URL")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("catalog/postgres: parsing the catalog URL: %w", redact(err, url))
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "osprey"
	}
	addr := address(cfg.ConnConfig.Config)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("catalog/postgres: PostgreSQL at %s: %w", addr, redact(err, url))
	}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err = pool.Ping(pctx)
	cancel()
	if err != nil {
		pool.Close()
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("catalog/postgres: cannot reach PostgreSQL at %s: no answer within %v: %w", addr, connectTimeout, err)
		}
		return nil, fmt.Errorf("catalog/postgres: cannot reach PostgreSQL at %s: %w", addr, redact(err, url))
	}
	version, err := migrate(ctx, pool, log)
	if err != nil {
		pool.Close()
		return nil, redact(err, url)
	}
	log.Info("catalog opened", "addr", addr, "database", cfg.ConnConfig.Database, "schema_version", version)
	return &Store{pool: pool, log: log, now: time.Now}, nil
}

// address lists the host:port pairs a configuration dials, the primary
// first: "db1:5432, db2:5432". A Unix socket shows as its directory.
func address(c pgconn.Config) string {
	addrs := []string{net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))}
	for _, f := range c.Fallbacks {
		a := net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port)))
		if !containsString(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return strings.Join(addrs, ", ")
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Pool returns the connection pool, for components that share the catalog's
// database (River's riverpgxv5 driver). Closing the Store closes it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("catalog/postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released. It
// is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

// Addr names the server(s) the pool connects to, "host:port", without the
// password, for messages and readiness probes.
func (s *Store) Addr() string { return address(s.pool.Config().ConnConfig.Config) }
