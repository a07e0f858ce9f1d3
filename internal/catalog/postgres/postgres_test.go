package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/catalogtest"
)

var discard = slog.New(slog.DiscardHandler)

// defaultServer is the PostgreSQL the tests use unless OSPREY_TEST_POSTGRES
// names another (a postgres:// URL of a role that may CREATE DATABASE).
const defaultServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// testDB is this run's database, created on first use and dropped by
// TestMain; each Store the tests open gets a fresh schema in it.
var testDB struct {
	once   sync.Once
	admin  string // URL of the server's maintenance database
	name   string // "osprey_test_<random>"
	url    string // URL of the run's database
	err    error
	schema atomic.Int64
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testDB.name != "" && testDB.err == nil {
		if err := dropDatabase(); err != nil {
			fmt.Fprintf(os.Stderr, "dropping test database %s: %v\n", testDB.name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func serverURL() string {
	if u := os.Getenv("OSPREY_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultServer
}

// database returns the URL of this run's database, creating it first. If
// PostgreSQL cannot be reached the test fails, saying how to provide it.
func database(t *testing.T) string {
	t.Helper()
	testDB.once.Do(func() {
		testDB.admin = serverURL()
		var b [6]byte
		_, _ = rand.Read(b[:])
		testDB.name = "osprey_test_" + hex.EncodeToString(b[:])
		testDB.url, testDB.err = withPath(testDB.admin, testDB.name)
		if testDB.err != nil {
			return
		}
		testDB.err = adminExec("CREATE DATABASE " + testDB.name)
	})
	if testDB.err != nil {
		t.Fatalf("these tests need a PostgreSQL server: %v\n"+
			"Start one on 127.0.0.1:5432 whose user postgres may log in without a password (trust auth),\n"+
			"e.g. `pg_ctlcluster 15 main start` on Debian or\n"+
			"`docker run -d -p 127.0.0.1:5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`,\n"+
			"or set OSPREY_TEST_POSTGRES to the postgres:// URL of a role that may CREATE DATABASE.", testDB.err)
	}
	return testDB.url
}

func adminExec(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDB.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func dropDatabase() error {
	return adminExec("DROP DATABASE IF EXISTS " + testDB.name + " WITH (FORCE)")
}

// withPath returns u with its database replaced by name.
func withPath(u, name string) (string, error) {
	parsed, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("OSPREY_TEST_POSTGRES must be a postgres:// URL: %w", err)
	}
	parsed.Path = "/" + name
	return parsed.String(), nil
}

// schemaURL creates a new, empty schema in the run's database and returns a
// URL whose connections use it (search_path), so every Store starts empty.
func schemaURL(t *testing.T) string {
	t.Helper()
	db := database(t)
	name := fmt.Sprintf("s%d", testDB.schema.Add(1))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(db)
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// openURL opens a Store on u, closed at cleanup.
func openURL(t *testing.T, u string) *Store {
	t.Helper()
	s, err := Open(context.Background(), u, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openTemp opens a Store on a fresh schema.
func openTemp(t *testing.T) *Store {
	t.Helper()
	return openURL(t, schemaURL(t))
}

// insertChannel writes ch with tx, which must be a pgx.Tx.
func insertChannel(ctx context.Context, tx catalog.Tx, ch catalog.Channel) error {
	pgxTx, ok := tx.(pgx.Tx)
	if !ok {
		return fmt.Errorf("Tx is a %T, want pgx.Tx", tx)
	}
	_, err := pgxTx.Exec(ctx, "INSERT INTO channels ("+channelColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		ch.ID, ch.Name, ch.StreamKey, ts(ch.CreatedAt), ts(ch.UpdatedAt), int64(ch.DVRWindow), ch.Record)
	return err
}

func TestConformance(t *testing.T) {
	catalogtest.RunAll(t, func(t *testing.T) catalog.Store { return openTemp(t) }, catalogtest.Options{
		WriteInTx: insertChannel,
	})
}
