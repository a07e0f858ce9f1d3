package live

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/lease"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// twoNodes returns two managers that share storage and a lease table, as
// two ingest nodes of a cluster do.
func twoNodes(t *testing.T, logs *lockedBuffer) (a, b *Manager, la, lb *lease.Local) {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	chans := fakeChannels{"sk_good": {ID: "ch_1", Name: "one", StreamKey: "sk_good"}}
	la = lease.NewLocal()
	lb = la.Peer()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a = NewManager(Config{Leases: la}, chans, st, log.With("node", "a"))
	b = NewManager(Config{Leases: lb}, chans, st, log.With("node", "b"))
	return a, b, la, lb
}

// A channel is live on one ingest node at a time: a second publisher on
// another node is refused while the first publishes, and admitted once it
// has left.
func TestOneIngestNodePerChannel(t *testing.T) {
	a, b, _, _ := twoNodes(t, &lockedBuffer{})
	ctx := context.Background()
	pub, err := a.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Publish(ctx, req("sk_good"))
	if !errors.Is(err, ingest.ErrBusy) || !strings.Contains(err.Error(), "live on another node") {
		t.Fatalf("publisher on the second node: %v, want ErrBusy naming another node", err)
	}
	pub.Close(nil)
	pub2, err := b.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatalf("publishing on the second node after the first left: %v", err)
	}
	if _, err := a.Publish(ctx, req("sk_good")); !errors.Is(err, ingest.ErrBusy) {
		t.Fatalf("publisher back on the first node: %v, want ErrBusy", err)
	}
	pub2.Close(nil)
	for _, m := range []*Manager{a, b} {
		if err := m.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// Losing the lease table (PostgreSQL restarting) does not end a
// publication: the session keeps going while it reclaims the lease.
func TestLostLeaseKeepsThePublication(t *testing.T) {
	logs := &lockedBuffer{}
	a, _, la, _ := twoNodes(t, logs)
	ctx := context.Background()
	pub, err := a.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(nil)
	la.Close() // the node's leases are lost, and it cannot take them again
	waitUntil(t, 10*time.Second, "a failed attempt to reclaim the lease", func() bool {
		return strings.Contains(logs.String(), "reclaiming the channel's lease")
	})
	if st := a.Status("ch_1"); st.State != "live" {
		t.Fatalf("state after the lease was lost = %q, want live; logs:\n%s", st.State, logs)
	}
}
