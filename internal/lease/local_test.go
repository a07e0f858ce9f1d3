package lease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/lease/leasetest"
)

func TestLocalConformance(t *testing.T) {
	t.Parallel()
	leasetest.Run(t, func(t *testing.T) leasetest.Cluster {
		first := lease.NewLocal()
		used := false
		return leasetest.Cluster{
			Node: func(t *testing.T, id string) lease.Leaser {
				l := first
				if used {
					l = first.Peer()
				}
				used = true
				t.Cleanup(func() { _ = l.Close() })
				return l
			},
		}
	})
}

// Wait takes a lease once its holder lets it go, and gives up with ctx,
// saying why.
func TestWait(t *testing.T) {
	a := lease.NewLocal()
	b := a.Peer()
	held, err := a.Acquire(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := lease.Wait(ctx, b, "x", 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, lease.ErrHeld) {
		t.Fatalf("Wait while held: %v, want the deadline and lease.ErrHeld", err)
	}
	got := make(chan error, 1)
	go func() {
		ls, err := lease.Wait(context.Background(), b, "x", 10*time.Millisecond)
		if err == nil {
			err = ls.Release()
		}
		got <- err
	}()
	if err := held.Release(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not take the released lease")
	}
}
