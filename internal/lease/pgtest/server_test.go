package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestServerStopStart: the private server answers, refuses connections
// while stopped, and answers again with its data after a restart.
func TestServerStopStart(t *testing.T) {
	s := StartServer(t, "127.0.0.1", "")
	query := func() (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, s.URL())
		if err != nil {
			return 0, err
		}
		defer conn.Close(ctx)
		var n int
		err = conn.QueryRow(ctx, "SELECT count(*) FROM kept").Scan(&n)
		return n, err
	}
	if err := exec(s.URL(), "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	if n, err := query(); err != nil || n != 2 {
		t.Fatalf("before the restart: %d rows, %v", n, err)
	}
	s.Stop()
	if _, err := query(); err == nil {
		t.Fatal("a stopped server answered")
	}
	s.Start()
	if n, err := query(); err != nil || n != 2 {
		t.Fatalf("after the restart: %d rows, %v", n, err)
	}
}
