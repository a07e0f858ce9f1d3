package nats_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/events/eventstest"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
)

func TestConformance(t *testing.T) {
	eventstest.Run(t, eventstest.Options{}, func(t *testing.T) (events.Bus, events.Bus) {
		url, o := natstest.NATS(t)
		return natstest.Open(t, url, o, "node-a"), natstest.Open(t, url, o, "node-b")
	})
}

func TestOpenUnreachableFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	_, err = natsbus.Open(context.Background(), "nats://"+addr, natsbus.Options{ConnectTimeout: 2 * time.Second}, natstest.Logger(t))
	if err == nil {
		t.Fatalf("Open on %s succeeded", addr)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open took %v to fail", d)
	}
}

func TestRedactsPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = natsbus.Open(context.Background(), "nats://u:secret@"+addr, natsbus.Options{ConnectTimeout: time.Second}, natstest.Logger(t))
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), addr) {
		t.Errorf("Open error = %v; want an error naming %s without the password", err, addr)
	}
}

// A handler running longer than AckWait keeps its event: no redelivery.
func TestLongHandlerNotRedelivered(t *testing.T) {
	url, o := natstest.NATS(t)
	b := natstest.Open(t, url, o, "node-long")
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[string]int{}
	sentinel := make(chan struct{})
	s, err := b.Subscribe(ctx, "osprey.>", events.SubscribeOptions{}, func(ctx context.Context, e events.Event) error {
		mu.Lock()
		seen[string(e.Data)]++
		mu.Unlock()
		switch string(e.Data) {
		case "slow":
			select {
			case <-time.After(natsbus.AckWait + 2*time.Second):
			case <-ctx.Done():
			}
		case "sentinel":
			close(sentinel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for _, d := range []string{"slow", "sentinel"} {
		if err := b.Publish(ctx, events.ChannelState("ch_1"), []byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-sentinel:
	case <-time.After(natsbus.AckWait + 20*time.Second):
		t.Fatal("sentinel not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["slow"] != 1 {
		t.Errorf("slow event delivered %d times, want 1 (ack deadline not extended)", seen["slow"])
	}
}
