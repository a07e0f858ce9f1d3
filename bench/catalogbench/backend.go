package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/postgres"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
)

// Backend names, as the report shows them.
const (
	nameSQLite   = "SQLite"
	namePostgres = "PostgreSQL"
)

// backend is one catalog with the API served over it on loopback.
type backend struct {
	name  string
	store catalog.Store
	base  string // http://127.0.0.1:port

	srv      *http.Server
	served   chan error
	dropOnce sync.Once
	drop     func() error // removes the backing database; nil when nothing to remove
}

// openSQLite opens catalog/sqlite on a new file in dir.
func openSQLite(ctx context.Context, dir string, log *slog.Logger) (*backend, error) {
	s, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"), log)
	if err != nil {
		return nil, err
	}
	return &backend{name: nameSQLite, store: s}, nil
}

// openPostgres creates a fresh database on the server of adminURL (a
// postgres:// URL of a role that may CREATE DATABASE), opens
// catalog/postgres on it, and arranges for close to drop it.
func openPostgres(ctx context.Context, adminURL string, log *slog.Logger) (*backend, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "osprey_catalogbench_" + hex.EncodeToString(b[:])
	u, err := url.Parse(adminURL)
	if err != nil {
		return nil, fmt.Errorf("-postgres must be a postgres:// URL: %w", err)
	}
	if err := adminExec(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		return nil, fmt.Errorf("creating database %s: %w (is PostgreSQL running on %s, and may this user create databases? see -postgres)", name, err, u.Host)
	}
	drop := func() error {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := adminExec(dctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("dropping database %s: %w", name, err)
		}
		return nil
	}
	// Seeding commits 100,000 transactions; not waiting for the WAL flush
	// of each makes it several times faster and changes nothing for the
	// reads measured afterwards.
	if err := adminExec(ctx, adminURL, "ALTER DATABASE "+name+" SET synchronous_commit = off"); err != nil {
		return nil, errors.Join(fmt.Errorf("configuring database %s: %w", name, err), drop())
	}
	u.Path = "/" + name
	s, err := postgres.Open(ctx, u.String(), log)
	if err != nil {
		return nil, errors.Join(err, drop())
	}
	return &backend{name: namePostgres, store: s, drop: drop}, nil
}

// pgxConnect opens one connection to url.
func pgxConnect(ctx context.Context, url string) (*pgx.Conn, error) { return pgx.Connect(ctx, url) }

// adminExec runs one statement on a connection of its own.
func adminExec(ctx context.Context, adminURL, sql string) error {
	conn, err := pgxConnect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// serve starts the real API handler over the store on a loopback port.
func (b *backend) serve(token string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening: %w", err)
	}
	h := api.New(api.Deps{Catalog: b.store, AdminToken: token, Log: log})
	b.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	b.served = make(chan error, 1)
	b.base = "http://" + ln.Addr().String()
	go func() { b.served <- b.srv.Serve(ln) }()
	return nil
}

// close stops the server, closes the store and drops a PostgreSQL
// database. It is safe to call more than once.
func (b *backend) close() error {
	var errs []error
	if b.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, b.srv.Shutdown(ctx))
		cancel()
		if err := <-b.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		b.srv = nil
	}
	b.dropOnce.Do(func() {
		errs = append(errs, b.store.Close())
		if b.drop != nil {
			errs = append(errs, b.drop())
		}
	})
	return errors.Join(errs...)
}
