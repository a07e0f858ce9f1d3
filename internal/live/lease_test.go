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
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
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

// A publication that ends while its lease is lost, the channel taken by
// another node meanwhile, leaves the playlists as they are: ending them
// would end the other node's viewers' stream.
func TestPublicationEndingWithoutItsLeaseLeavesThePlaylists(t *testing.T) {
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	chans := fakeChannels{"sk_good": {ID: "ch_1", StreamKey: "sk_good"}}
	la := lease.NewLocal()
	cfg := Config{
		Ladder:    testLadder,
		Transcode: transcode.Config{SegmentDuration: time.Second},
		Packager:  packager.Config{SegmentDuration: time.Second, Window: 30},
	}
	cfgA, cfgB := cfg, cfg
	cfgA.Leases, cfgB.Leases = la, la.Peer()
	a := NewManager(cfgA, chans, st, log.With("node", "a"))
	b := NewManager(cfgB, chans, st, log.With("node", "b"))
	ctx := context.Background()

	tracks, units := makeUnits(t, 6, "640x360")
	pub, err := a.Publish(ctx, req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Start(tracks); err != nil {
		t.Fatal(err)
	}
	const pl = "live/ch_1/s1/360p/index.m3u8"
	var taken ingest.Publication
	err = publishRealTime(pub, units, func(time.Duration) {
		if taken != nil || len(segments(readKey(t, st, pl))) < 2 {
			return
		}
		la.Close() // node a loses the lease table
		waitUntil(t, 5*time.Second, "node a to notice", func() bool {
			return strings.Contains(logs.String(), "lost the channel's lease")
		})
		var err error
		if taken, err = b.Publish(ctx, req("sk_good")); err != nil { // node b takes the channel
			t.Fatalf("node b taking the channel: %v", err)
		}
	})
	if err != nil || taken == nil {
		t.Fatalf("publishing: %v (taken: %v)\n%s", err, taken != nil, logs)
	}
	pub.Close(nil) // node a's publisher leaves
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readKey(t, st, pl); strings.Contains(got, "#EXT-X-ENDLIST") {
		t.Errorf("node a ended the playlists of the channel node b holds:\n%s", got)
	}
	if !strings.Contains(logs.String(), "the publication ends without its channel's lease") {
		t.Errorf("no log of why the playlists were left:\n%s", logs)
	}
	taken.Close(nil)
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}
