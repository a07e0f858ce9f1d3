package nats_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
)

func TestServerRestartResumesDelivery(t *testing.T) {
	for _, c := range []struct {
		name string
		down func(*natstest.Server)
	}{
		{"graceful", (*natstest.Server).Stop},
		{"crash", (*natstest.Server).Kill},
	} {
		t.Run(c.name, func(t *testing.T) { testRestart(t, c.down) })
	}
}

func testRestart(t *testing.T, down func(*natstest.Server)) {
	srv := natstest.StartServer(t, false)
	b := natstest.Open(t, srv.URL(), natsbus.Options{}, "node-r")

	durable, ephemeral := make(chan string, 10), make(chan string, 10)
	ctx := context.Background()
	for _, c := range []struct {
		ch   chan string
		opts events.SubscribeOptions
	}{{durable, events.SubscribeOptions{Durable: "node-r.test"}}, {ephemeral, events.SubscribeOptions{}}} {
		ch := c.ch
		s, err := b.Subscribe(ctx, "osprey.>", c.opts, func(_ context.Context, e events.Event) error {
			ch <- string(e.Data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop() })
	}
	// expect waits for want; at-least-once allows "before" again (after a
	// crash the server may have lost its ack and redelivers after AckWait).
	expect := func(name string, ch chan string, want string) {
		t.Helper()
		timeout := time.After(natsbus.AckWait + 15*time.Second)
		for {
			select {
			case got := <-ch:
				if got == want {
					return
				}
				if got != "before" {
					t.Fatalf("%s got %q, want %q", name, got, want)
				}
				t.Logf("%s: %q delivered again", name, got)
			case <-timeout:
				t.Fatalf("%s: %q not delivered", name, want)
			}
		}
	}
	if err := b.Publish(ctx, events.ChannelKey("ch_1"), []byte("before")); err != nil {
		t.Fatal(err)
	}
	expect("durable", durable, "before")
	expect("ephemeral", ephemeral, "before")

	down(srv)
	start := time.Now()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := b.Publish(pctx, events.ChannelKey("ch_1"), []byte("down"))
	cancel()
	if err == nil {
		t.Fatal("Publish with NATS down succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Publish with NATS down took %v to fail", d)
	}

	srv.Start()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := b.Publish(ctx, events.ChannelKey("ch_1"), []byte("after"))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish still failing 20 s after NATS restarted: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // polling the reconnect, not proving absence
	}
	expect("durable", durable, "after")
	expect("ephemeral", ephemeral, "after")
}

func TestOpenWithoutJetStreamFails(t *testing.T) {
	srv := natstest.StartServer(t, true)
	_, err := natsbus.Open(context.Background(), "nats://"+srv.Addr(), natsbus.Options{}, natstest.Logger(t))
	if err == nil || !strings.Contains(err.Error(), "JetStream") || !strings.Contains(err.Error(), srv.Addr()) {
		t.Fatalf("Open on a server without JetStream: err = %v; want one naming JetStream and %s", err, srv.Addr())
	}
}
