package jobs

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
)

// Jobs inserted by this process start at once although the queue never
// polls within the test (PollInterval of an hour): the insert's notification
// wakes the listener, whose query runs after the commit.
func TestJobsStartWithoutPolling(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	ctx := context.Background()
	w := &echoWorker{done: make(chan int, 16)}
	q := startQueueEvery(t, db, w, time.Hour)

	insertTx := func(n int, queue string) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.InsertTx(ctx, tx, echoArgs{N: n}, &river.InsertOpts{Queue: queue}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(n int, queue string) {
		if _, err := q.Insert(ctx, echoArgs{N: n}, &river.InsertOpts{Queue: queue}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		queue   string
		inserts []func(int, string)
	}{
		{"InsertTx vod", QueueVOD, []func(int, string){insertTx}},
		{"Insert imports", QueueImports, []func(int, string){insert}},
		// A burst: River notifies a queue at most once per FetchCooldown.
		{"burst webhooks", QueueWebhooks, []func(int, string){insert, insert, insertTx, insert}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[int]bool{}
			for j, ins := range tt.inserts {
				n := 100*i + j
				want[n] = true
				ins(n, tt.queue)
			}
			for len(want) > 0 {
				select {
				case n := <-w.done:
					if !want[n] {
						t.Fatalf("job %d ran, want one of %v", n, want)
					}
					delete(want, n)
				case <-time.After(10 * time.Second):
					t.Fatalf("jobs %v did not start in 10 s", want)
				}
			}
		})
	}
}

// Rows another process writes to River's notification table are read by
// the periodic poll; rows of topics nobody listens to are skipped.
func TestListenerPollsForOtherProcesses(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	ctx := context.Background()
	if _, err := OpenSQLite(ctx, db, Config{}, nil); err != nil { // migrates
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO river_notification (payload, topic) VALUES ('old', 'mine')`); err != nil {
		t.Fatal(err)
	}
	d := newSQLiteDriver(db, 20*time.Millisecond)
	l := d.GetListener(&riverdriver.GetListenenerParams{})
	if err := l.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if err := l.Listen(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	// Written behind the driver's back, as by another process: no wake-up.
	if _, err := db.ExecContext(ctx, `INSERT INTO river_notification (payload, topic) VALUES ('a', 'other'), ('b', 'mine')`); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := l.WaitForNotification(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.Topic != "mine" || n.Payload != "b" {
		t.Fatalf("got %+v, want topic mine, payload b (not the row older than Connect, not the other topic)", n)
	}
}

// A notification written through the driver wakes a waiting listener at
// once, however long its poll interval.
func TestListenerWokenByNotify(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	ctx := context.Background()
	if _, err := OpenSQLite(ctx, db, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	d := newSQLiteDriver(db, time.Hour)
	l := d.GetListener(&riverdriver.GetListenenerParams{}).(*listener)
	waiting := make(chan struct{}, 1)
	l.onWait = func() { waiting <- struct{}{} }
	if err := l.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	if err := l.Listen(ctx, "mine"); err != nil {
		t.Fatal(err)
	}
	got := make(chan *riverdriver.Notification, 1)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() {
		n, err := l.WaitForNotification(wctx)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	<-waiting // the table was read and found empty
	tx, err := d.GetExecutor().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.NotifyMany(ctx, &riverdriver.NotifyManyParams{Topic: "mine", Payload: []string{"x"}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n == nil || n.Payload != "x" {
		t.Fatalf("got %+v, want payload x", n)
	}
}
