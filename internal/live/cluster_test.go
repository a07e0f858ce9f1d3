package live

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
)

// clusterPair is an ingest node A (a Manager) and an API node B without
// one, on one bus and lease table.
func clusterPair(t *testing.T) (a *Manager, ca, cb *Cluster) {
	t.Helper()
	logs := &lockedBuffer{}
	a, _, la, lb := twoNodes(t, logs)
	bus := events.NewLocal(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { bus.Close() })
	ctx := context.Background()
	var err error
	ca, err = NewCluster(ctx, ClusterConfig{Local: a, Bus: bus, Leases: la, Store: a.store, NodeID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ca.Close)
	cb, err = NewCluster(ctx, ClusterConfig{Bus: bus, Leases: lb, Store: a.store, NodeID: "b"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cb.Close)
	return a, ca, cb
}

// An API node learns that a channel is live on an ingest node, and that
// it is idle again once the publisher leaves.
func TestClusterStatusAcrossNodes(t *testing.T) {
	a, _, cb := clusterPair(t)
	pub, err := a.Publish(context.Background(), req("sk_good"))
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 3*stateEvery, "the API node to see the channel live", func() bool {
		st := cb.Status("ch_1")
		return st.State == "live" && st.Protocol == "rtmp"
	})
	pub.Close(nil)
	waitUntil(t, 5*time.Second, "the API node to see the channel idle", func() bool {
		return cb.Status("ch_1").State == "idle"
	})
}

// Disconnect and Remove asked on an API node end the publication on the
// ingest node, and return once it has ended there.
func TestClusterCommandsReachTheIngestNode(t *testing.T) {
	for _, action := range []string{actionDisconnect, actionDelete} {
		t.Run(action, func(t *testing.T) {
			a, _, cb := clusterPair(t)
			ctx := context.Background()
			if _, err := a.Publish(ctx, req("sk_good")); err != nil {
				t.Fatal(err)
			}
			if err := a.store.Put(ctx, Prefix("ch_1")+"/index.m3u8", []byte("#EXTM3U\n")); err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			var err error
			if action == actionDelete {
				err = cb.Remove(cctx, "ch_1")
			} else {
				err = cb.Disconnect(cctx, "ch_1")
			}
			if err != nil {
				t.Fatal(err)
			}
			// Returned only once the publication has ended on node A.
			if st := a.Status("ch_1"); st.State != "idle" {
				t.Fatalf("state on the ingest node after %s = %q", action, st.State)
			}
			_, err = a.store.Open(ctx, Prefix("ch_1")+"/index.m3u8")
			if gone := err != nil; gone != (action == actionDelete) {
				t.Fatalf("after %s: media gone = %v", action, gone)
			}
		})
	}
}

// Deleting an idle channel is still announced, for the origins' caches.
func TestClusterAnnouncesIdleDeletes(t *testing.T) {
	_, ca, cb := clusterPair(t)
	got := make(chan string, 4)
	sub, err := ca.bus.Subscribe(context.Background(), events.AllChannelKeys, events.SubscribeOptions{}, func(_ context.Context, e events.Event) error {
		got <- e.Subject + " " + string(e.Data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if err := cb.Remove(context.Background(), "ch_1"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e != `osprey.channel.ch_1.key {"node":"b","action":"delete"}` {
			t.Fatalf("event %s", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event for the deletion of an idle channel")
	}
}
