package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/lease/leasetest"
	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
	"github.com/ospreyvideo/osprey/internal/lease/postgres"

	"github.com/jackc/pgx/v5/pgxpool"
)

// childName carries the lease name to the child process of
// KilledNodeFreesLease.
const childName = "OSPREY_LEASE_CHILD_NAME"

func TestMain(m *testing.M) {
	pgtest.RunChild(func(ctx context.Context, pool *pgxpool.Pool, node string) error {
		l, err := postgres.New(ctx, pool, node, nil)
		if err != nil {
			return err
		}
		return leasetest.RunChild(l, os.Getenv(childName))
	})
	os.Exit(m.Run())
}

func newLeaser(t *testing.T, pool *pgxpool.Pool, id string) *postgres.Leaser {
	t.Helper()
	l, err := postgres.New(context.Background(), pool, id, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestConformance(t *testing.T) {
	t.Parallel()
	leasetest.Run(t, func(t *testing.T) leasetest.Cluster {
		db := pgtest.Database(t)
		pool := pgtest.Pool(t, db)
		return leasetest.Cluster{
			Node: func(t *testing.T, id string) lease.Leaser { return newLeaser(t, pool, id) },
			Sever: func(t *testing.T, id string) {
				var n int
				err := pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND application_name = $1`, "osprey-lease "+id).Scan(&n)
				if err != nil || n == 0 {
					t.Fatalf("terminating node %s's sessions: %d terminated, %v", id, n, err)
				}
			},
			Child: func(t *testing.T, id, name string) *exec.Cmd {
				return pgtest.ChildCommand(db, id, childName+"="+name)
			},
		}
	})
}

// TestHeldNamesTheHolder checks ErrHeld says which node holds the name,
// and that the key is stable (other nodes of other builds agree on it).
func TestHeldNamesTheHolder(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.Database(t))
	a, b := newLeaser(t, pool, "ingest-a"), newLeaser(t, pool, "ingest-b")
	if _, err := a.Acquire(context.Background(), "channel/ch_1"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Acquire(context.Background(), "channel/ch_1")
	if !errors.Is(err, lease.ErrHeld) || !strings.Contains(err.Error(), "ingest-a") {
		t.Fatalf("Acquire = %v, want ErrHeld naming ingest-a", err)
	}
	if k := postgres.Key("channel/ch_1"); k != postgres.Key("channel/ch_1") || k == postgres.Key("channel/ch_2") {
		t.Fatal("Key is not a function of the name")
	}
}

// TestAcquireWhileDisconnected checks that a node whose session stops
// answering (a proxy that silently drops every byte, as a partition would)
// closes its leases' Lost within a few seconds, refuses Acquire with an
// error saying it is reconnecting, and works again once the network heals.
// (That the server frees the lock of a truly partitioned node within 10 s
// rests on the session's server-side keepalives; a userspace proxy cannot
// show it, since its kernel answers the server's probes.)
func TestAcquireWhileDisconnected(t *testing.T) {
	t.Parallel()
	db := pgtest.Database(t)
	pool := pgtest.Pool(t, db)
	p := newProxy(t, pool.Config().ConnConfig.Host, pool.Config().ConnConfig.Port)
	cfg, err := pgxpool.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = p.host, p.port
	viaProxy, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(viaProxy.Close)
	a := newLeaser(t, viaProxy, "api-a")
	b := newLeaser(t, pool, "api-b")
	la, err := a.Acquire(context.Background(), "upload/1")
	if err != nil {
		t.Fatal(err)
	}
	p.cut(true)
	start := time.Now()
	select {
	case <-la.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("Lost did not close within 5 s of the partition (the server may free the lock after 6 s)")
	}
	lostAfter := time.Since(start)
	t.Logf("partition: Lost closed after %v", lostAfter.Round(time.Millisecond))
	_, err = a.Acquire(context.Background(), "upload/2")
	if err == nil || !strings.Contains(err.Error(), "reconnecting") {
		t.Fatalf("Acquire while partitioned = %v, want an error saying it is reconnecting", err)
	}
	p.cut(false)
	deadline := time.Now().Add(15 * time.Second)
	for {
		ls, err := a.Acquire(context.Background(), "upload/1")
		if err == nil {
			refusedErr := func() error { _, err := b.Acquire(context.Background(), "upload/1"); return err }()
			if !errors.Is(refusedErr, lease.ErrHeld) {
				t.Fatalf("b.Acquire after a re-acquired = %v, want ErrHeld", refusedErr)
			}
			_ = ls.Release()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Acquire after the partition healed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
