// Package pgtest gives tests a fresh PostgreSQL database on the machine's
// server (127.0.0.1:5432, user postgres, trust auth), or on the server
// OSPREY_TEST_POSTGRES names. A missing server fails the test, saying how
// to provide one.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultServer is used unless OSPREY_TEST_POSTGRES names another server
// (a postgres:// URL of a role that may CREATE DATABASE).
const DefaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the maintenance database URL the tests use.
func ServerURL() string {
	if u := os.Getenv("OSPREY_TEST_POSTGRES"); u != "" {
		return u
	}
	return DefaultServer
}

// Database creates an empty database, dropped when the test ends, and
// returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	admin := ServerURL()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "osprey_test_" + hex.EncodeToString(b[:])
	if err := exec(admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("these tests need a PostgreSQL server: %v\n"+
			"Start one on 127.0.0.1:5432 whose user postgres may log in without a password (trust auth),\n"+
			"e.g. `pg_ctlcluster 15 main start` on Debian or\n"+
			"`docker run -d -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`,\n"+
			"or set OSPREY_TEST_POSTGRES to the postgres:// URL of a role that may CREATE DATABASE.", err)
	}
	t.Cleanup(func() {
		if err := exec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("OSPREY_TEST_POSTGRES must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Pool opens a pool on dbURL, closed when the test ends.
func Pool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func exec(u, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", redacted(u), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "the test server"
	}
	return p.Redacted()
}
