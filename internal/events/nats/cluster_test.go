package nats_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
)

// failoverLimit is how long publishing and delivery may stop after the
// stream leader dies; the measured times are logged.
const failoverLimit = 15 * time.Second

// A 3-replica stream on a 3-server JetStream cluster survives kill -9 of
// the server leading it: publish and subscribe go on, and events stored
// before the kill reach a durable subscriber afterwards.
func TestCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	t.Run("ReplicasChanged", func(t *testing.T) { testReplicasChanged(t, c) })
	t.Run("StreamLeaderKilled", func(t *testing.T) { testStreamLeaderKilled(t, c) })
}

// Opening an existing stream with more replicas= raises its replica count
// in place, keeping its events; a durable consumer follows. No or a lower
// replicas= (an edge, a node not yet restarted) keeps the higher count.
func testReplicasChanged(t *testing.T, c *natstest.Cluster) {
	const stream, durable = "OSPREY_SCALE", "node-s_d"
	js := jsClient(t, c.URL())
	got := make(chan string, 10)
	for i, step := range []struct {
		query string
		want  int
	}{
		{"&replicas=1", 1},
		{"&replicas=3", 3},
		{"", 3},
		{"&replicas=1", 3},
	} {
		url := fmt.Sprintf("%s?stream=%s&subject_prefix=scale%s,%s", c.Servers[0].URL(), stream, step.query, c.Servers[1].URL())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		b, err := natsbus.Open(ctx, url, natsbus.Options{NodeID: "node-s"}, natstest.Logger(t))
		cancel()
		if err != nil {
			t.Fatalf("Open with %q: %v", step.query, err)
		}
		sub := subscribe(t, b, durable, got)
		data := fmt.Sprint("step-", i)
		publish(t, b, data)
		expect(t, durable, got, data, failoverLimit)
		_ = sub.Stop()
		_ = b.Close()
		waitReplicas(t, js, stream, step.want)
		waitConsumerReplicas(t, js, stream, durable, step.want)
	}
	info := streamInfo(t, js, stream)
	if info.State.Msgs != 4 {
		t.Errorf("stream holds %d events after the replica changes, want 4", info.State.Msgs)
	}
}

func testStreamLeaderKilled(t *testing.T, c *natstest.Cluster) {
	const stream = "OSPREY_CLUSTER"
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	urls[0] += "?stream=" + stream + "&subject_prefix=zone.test&replicas=3"
	b := natstest.Open(t, strings.Join(urls, ","), natsbus.Options{}, "node-c")

	js := jsClient(t, c.URL())
	ctx := context.Background()
	info := streamInfo(t, js, stream)
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 || info.Cluster.Leader == "" {
		t.Fatalf("stream %s: config replicas %d, cluster %+v; want 3 replicas (a leader and 2 followers)", stream, info.Config.Replicas, info.Cluster)
	}
	if got := info.Config.Subjects; len(got) != 1 || got[0] != "zone.test.osprey.>" {
		t.Fatalf("stream subjects %v, want [zone.test.osprey.>]", got)
	}

	durable, ephemeral := collect(t, b, "node-c.live"), collect(t, b, "")
	late := make(chan string, 10) // a durable subscriber that is away during the kill
	lateSub := subscribe(t, b, "node-c.late", late)
	publish(t, b, "before")
	for name, ch := range map[string]chan string{"durable": durable, "ephemeral": ephemeral, "late": late} {
		expect(t, name, ch, "before", failoverLimit)
	}
	_ = lateSub.Stop()
	publish(t, b, "stored-before-kill")
	expect(t, "durable", durable, "stored-before-kill", failoverLimit)
	expect(t, "ephemeral", ephemeral, "stored-before-kill", failoverLimit)

	info = streamInfo(t, js, stream) // the leader now, not at creation
	leader := c.ByName(info.Cluster.Leader)
	if leader == nil {
		t.Fatalf("stream leader %q is none of the cluster's servers", info.Cluster.Leader)
	}
	leader.Kill()
	killed := time.Now()
	t.Logf("killed the stream leader %s", leader.Name())

	var published time.Duration
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := b.Publish(pctx, events.ChannelKey("ch_1"), []byte("after"))
		cancel()
		if err == nil {
			published = time.Since(killed)
			break
		}
		if time.Since(killed) > failoverLimit {
			t.Fatalf("Publish still failing %v after the stream leader died: %v", failoverLimit, err)
		}
		time.Sleep(100 * time.Millisecond) // polling the failover, not proving absence
	}
	expectAfter := func(name string, ch chan string) {
		t.Helper()
		expectSkipping(t, name, ch, "after", failoverLimit-time.Since(killed), "before", "stored-before-kill")
	}
	expectAfter("durable", durable)
	delivered := time.Since(killed)
	expectAfter("ephemeral", ephemeral)
	delivered = max(delivered, time.Since(killed))
	var resub time.Duration
	for {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := b.Subscribe(sctx, "osprey.>", events.SubscribeOptions{Durable: "node-c.late"}, func(_ context.Context, e events.Event) error {
			late <- string(e.Data)
			return nil
		})
		cancel()
		if err == nil {
			resub = time.Since(killed)
			t.Cleanup(func() { _ = s.Stop() })
			break
		}
		if time.Since(killed) > failoverLimit {
			t.Fatalf("Subscribe still failing %v after the stream leader died: %v", failoverLimit, err)
		}
		time.Sleep(100 * time.Millisecond) // polling the failover
	}
	expectSkipping(t, "late durable", late, "stored-before-kill", failoverLimit, "before")
	expectSkipping(t, "late durable", late, "after", failoverLimit, "before", "stored-before-kill")

	now := streamInfo(t, js, stream)
	t.Logf("failover: publish ok %v after kill -9 of the stream leader, delivery to both running subscribers %v, a durable subscribed again %v; new leader %s",
		published.Round(10*time.Millisecond), delivered.Round(10*time.Millisecond), resub.Round(10*time.Millisecond), now.Cluster.Leader)
	if now.Cluster.Leader == leader.Name() {
		t.Errorf("the killed server %s still leads the stream", leader.Name())
	}
}

// replicas=3 on a server that is not clustered fails at Open, saying why.
func TestReplicasOnSingleServerFails(t *testing.T) {
	srv := natstest.StartServer(t, false)
	_, err := natsbus.Open(context.Background(), srv.URL()+"?replicas=3", natsbus.Options{}, natstest.Logger(t))
	if err == nil {
		t.Fatal("Open with replicas=3 on one server succeeded")
	}
	for _, want := range []string{"replicas=3", "cluster", srv.Addr()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func jsClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := gonats.Connect(url, gonats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// streamInfo asks for the stream's info, retrying while the cluster elects
// a leader.
func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	deadline := time.Now().Add(failoverLimit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := js.Stream(ctx, name)
		var info *jetstream.StreamInfo
		if err == nil {
			info, err = s.Info(ctx)
		}
		cancel()
		if err == nil && info.Cluster != nil && info.Cluster.Leader != "" {
			return info
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s info: %v (info %+v)", name, err, info)
		}
		time.Sleep(100 * time.Millisecond) // polling the election
	}
}

// waitReplicas waits until the stream is configured with n replicas and
// has a leader and n-1 followers (a scale-up adds peers asynchronously).
func waitReplicas(t *testing.T, js jetstream.JetStream, stream string, n int) {
	t.Helper()
	deadline := time.Now().Add(failoverLimit)
	for {
		info := streamInfo(t, js, stream)
		if info.Config.Replicas == n && len(info.Cluster.Replicas) == n-1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s: config replicas %d, followers %d; want %d replicas", stream, info.Config.Replicas, len(info.Cluster.Replicas), n)
		}
		time.Sleep(100 * time.Millisecond) // polling the peer set
	}
}

// peers counts a stream's or consumer's leader and followers.
func peers(c *jetstream.ClusterInfo) int {
	if c == nil || c.Leader == "" {
		return 0
	}
	return 1 + len(c.Replicas)
}

// waitConsumerReplicas waits until the consumer has a leader and n-1
// followers (the test's client may ask a server whose view lags).
func waitConsumerReplicas(t *testing.T, js jetstream.JetStream, stream, consumer string, n int) {
	t.Helper()
	deadline := time.Now().Add(failoverLimit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		cons, err := js.Consumer(ctx, stream, consumer)
		cancel()
		if err == nil && peers(cons.CachedInfo().Cluster) == n {
			return
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d replicas", peers(cons.CachedInfo().Cluster))
			}
			t.Fatalf("consumer %s with replicas=%d: %v", consumer, n, err)
		}
		time.Sleep(100 * time.Millisecond) // polling the cluster's view
	}
}

func subscribe(t *testing.T, b *natsbus.Bus, durable string, ch chan string) events.Subscription {
	t.Helper()
	s, err := b.Subscribe(context.Background(), "osprey.>", events.SubscribeOptions{Durable: durable}, func(_ context.Context, e events.Event) error {
		ch <- string(e.Data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func collect(t *testing.T, b *natsbus.Bus, durable string) chan string {
	ch := make(chan string, 20)
	subscribe(t, b, durable, ch)
	return ch
}

func publish(t *testing.T, b *natsbus.Bus, data string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Publish(ctx, events.ChannelKey("ch_1"), []byte(data)); err != nil {
		t.Fatalf("publishing %q: %v", data, err)
	}
}

func expect(t *testing.T, name string, ch chan string, want string, within time.Duration) {
	t.Helper()
	expectSkipping(t, name, ch, want, within)
}

// expectSkipping waits for want on ch; the earlier events in skip may come
// again first (at-least-once: a failover can redeliver an unacked event).
func expectSkipping(t *testing.T, name string, ch chan string, want string, within time.Duration, skip ...string) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
			if !slices.Contains(skip, got) {
				t.Fatalf("%s got %q, want %q", name, got, want)
			}
			t.Logf("%s: %q delivered again", name, got)
		case <-timeout:
			t.Fatalf("%s: %q not delivered within %v", name, want, within)
		}
	}
}
