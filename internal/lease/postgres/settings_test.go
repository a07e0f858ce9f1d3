package postgres

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
)

// TestSessionSettings checks the lock session carries the server-side
// timeouts that make PostgreSQL free a partitioned node's locks within
// 10 s, and its node id for "held by node X". (A real partition needs
// PostgreSQL reachable across a link the test can cut; see coord-notes.)
func TestSessionSettings(t *testing.T) {
	t.Parallel()
	pool := pgtest.Pool(t, pgtest.Database(t))
	l, err := New(context.Background(), pool, "ingest-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := map[string]string{
		"tcp_keepalives_idle":     strconv.Itoa(keepaliveIdle),
		"tcp_keepalives_interval": strconv.Itoa(keepaliveInterval),
		"tcp_keepalives_count":    strconv.Itoa(keepaliveCount),
		"tcp_user_timeout":        strconv.Itoa(userTimeoutMS),
		"application_name":        "osprey-lease ingest-a",
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, w := range want {
		var got string
		if err := l.conn.QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
	// A guard for whoever edits the constants: the node notices a dead
	// session before the server can free its locks (idle time minus the
	// last ping's age), and the server frees them within 10 s.
	giveUp := time.Duration(keepaliveIdle+keepaliveCount*keepaliveInterval) * time.Second
	if earliest := giveUp - pingEvery; pingEvery+pingTimeout >= earliest || giveUp > 10*time.Second {
		t.Errorf("server gives up after %v, node notices within %v", giveUp, pingEvery+pingTimeout)
	}
}
