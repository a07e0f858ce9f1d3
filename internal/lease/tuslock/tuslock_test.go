package tuslock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"

	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
	"github.com/ospreyvideo/osprey/internal/lease/postgres"
	"github.com/ospreyvideo/osprey/internal/lease/tuslock"
)

// twoNodes returns Lockers of two API nodes sharing one PostgreSQL.
func twoNodes(t *testing.T) (*tuslock.Locker, *tuslock.Locker) {
	t.Helper()
	pool := pgtest.Pool(t, pgtest.Database(t))
	var ls [2]lease.Leaser
	for i, id := range []string{"api-b", "api-c"} {
		l, err := postgres.New(context.Background(), pool, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		ls[i] = l
	}
	return tuslock.New(ls[0], nil), tuslock.New(ls[1], nil)
}

func newLock(t *testing.T, l *tuslock.Locker, id string) handler.Lock {
	t.Helper()
	k, err := l.NewLock(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A request on node C waits for node B's request on the same upload, asks
// it to let go (B's requestRelease runs), and gets the lock once B unlocks.
func TestLockAcrossNodes(t *testing.T) {
	t.Parallel()
	b, c := twoNodes(t)
	kb := newLock(t, b, "up1")
	asked := make(chan struct{})
	if err := kb.Lock(context.Background(), func() {
		close(asked)
		_ = kb.Unlock() // what tusd's request does: stop, then unlock
	}); err != nil {
		t.Fatal(err)
	}
	kc := newLock(t, c, "up1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := kc.Lock(ctx, func() {}); err != nil {
		t.Fatalf("Lock on node C: %v", err)
	}
	t.Logf("node C got the lock %v after asking", time.Since(start).Round(time.Millisecond))
	select {
	case <-asked:
	default:
		t.Fatal("node C got the lock without node B being asked to release")
	}
	// Now C holds it: B waits in turn.
	kb2 := newLock(t, b, "up1")
	short, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if err := kb2.Lock(short, func() {}); !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock of a held upload = %v, want ErrLockTimeout", err)
	}
	if err := kc.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := kc.Unlock(); err != nil {
		t.Fatalf("second Unlock: %v", err)
	}
	if err := kb2.Lock(context.Background(), func() {}); err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}
	// Other uploads are independent.
	if err := newLock(t, c, "up2").Lock(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
}

// A holder that does not let go makes the waiter time out with
// ErrLockTimeout, after having been asked.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	b, c := twoNodes(t)
	asked := make(chan struct{}, 1)
	kb := newLock(t, b, "up1")
	if err := kb.Lock(context.Background(), func() { asked <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err := newLock(t, c, "up1").Lock(ctx, func() {})
	if !errors.Is(err, handler.ErrLockTimeout) {
		t.Fatalf("Lock = %v, want ErrLockTimeout", err)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("Lock gave up after %v, before its context ended", took)
	}
	select {
	case <-asked:
	case <-time.After(5 * time.Second):
		t.Fatal("the holder was never asked to release")
	}
	if err := kb.Unlock(); err != nil {
		t.Fatal(err)
	}
}
