package nats_test

import (
	"context"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/events/eventstest"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
)

const howToStart = "start NATS with JetStream: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server (or set OSPREY_TEST_NATS=nats://host:port)"

func testURL() string {
	if u := os.Getenv("OSPREY_TEST_NATS"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// testLog writes to the test's output, shown when it fails or with -v.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// isolated returns Options with a stream and subject prefix of their own,
// and deletes that stream when the test ends.
func isolated(t *testing.T, url string) natsbus.Options {
	t.Helper()
	id := events.NewID()[:12]
	o := natsbus.Options{Stream: "OSPREYTEST_" + id, SubjectPrefix: "t" + id, Retention: time.Hour}
	t.Cleanup(func() {
		nc, err := gonats.Connect(url, gonats.Timeout(2*time.Second))
		if err != nil {
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, o.Stream)
	})
	return o
}

func open(t *testing.T, url string, o natsbus.Options, node string) *natsbus.Bus {
	t.Helper()
	o.NodeID = node
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := natsbus.Open(ctx, url, o, testLog(t))
	if err != nil {
		t.Fatalf("Open(%s): %v\n%s", url, err, howToStart)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	url := testURL()
	eventstest.Run(t, eventstest.Options{}, func(t *testing.T) (events.Bus, events.Bus) {
		o := isolated(t, url)
		return open(t, url, o, "node-a"), open(t, url, o, "node-b")
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
	_, err = natsbus.Open(context.Background(), "nats://"+addr, natsbus.Options{ConnectTimeout: 2 * time.Second}, testLog(t))
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
	_, err = natsbus.Open(context.Background(), "nats://u:secret@"+addr, natsbus.Options{ConnectTimeout: time.Second}, testLog(t))
	if err == nil || strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), addr) {
		t.Errorf("Open error = %v; want an error naming %s without the password", err, addr)
	}
}

// A handler running longer than AckWait keeps its event: no redelivery.
func TestLongHandlerNotRedelivered(t *testing.T) {
	url := testURL()
	o := isolated(t, url)
	b := open(t, url, o, "node-long")
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
