// Package natstest connects tests to the machine's NATS server with
// JetStream (127.0.0.1:4222, or the one OSPREY_TEST_NATS names), each test
// on a stream and subject prefix of its own. A missing server fails the
// test, saying how to start one. StartServer and StartCluster run
// nats-servers of the test's own (a JetStream cluster on loopback, to kill
// servers of).
package natstest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
)

// HowToStart says how to provide the server the tests need.
const HowToStart = "start NATS with JetStream: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server (or set OSPREY_TEST_NATS=nats://host:port)"

// DefaultURL is used unless OSPREY_TEST_NATS names another server.
const DefaultURL = "nats://127.0.0.1:4222"

// URL is the server the tests use.
func URL() string {
	if u := os.Getenv("OSPREY_TEST_NATS"); u != "" {
		return u
	}
	return DefaultURL
}

// Logger writes to the test's output (shown when it fails, or with -v).
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NATS returns the server's URL and bus options with a stream and subject
// prefix of the test's own; the stream is deleted when the test ends.
func NATS(t testing.TB) (url string, o natsbus.Options) {
	t.Helper()
	url = URL()
	id := events.NewID()[:12]
	o = natsbus.Options{Stream: "OSPREYTEST_" + id, SubjectPrefix: "t" + id, Retention: time.Hour}
	t.Cleanup(func() { deleteStream(url, o.Stream) })
	return url, o
}

// Open connects one node to the bus at url, closed when the test ends; a
// failure fails the test with HowToStart. Open a bus before what uses it,
// so that its user is closed first.
func Open(t testing.TB, url string, o natsbus.Options, node string) *natsbus.Bus {
	t.Helper()
	o.NodeID = node
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := natsbus.Open(ctx, url, o, Logger(t))
	if err != nil {
		t.Fatalf("opening the event bus at %s: %v\n%s", url, err, HowToStart)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// deleteStream removes a test's stream; a server already gone is fine.
func deleteStream(url, stream string) {
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
	_ = js.DeleteStream(ctx, stream)
}
