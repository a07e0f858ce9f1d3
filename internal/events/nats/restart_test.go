package nats_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
)

// natsServerBin is Debian's nats-server, else the one on PATH.
func natsServerBin(t *testing.T) string {
	const debian = "/usr/sbin/nats-server"
	if _, err := os.Stat(debian); err == nil {
		return debian
	}
	p, err := exec.LookPath("nats-server")
	if err != nil {
		t.Fatalf("nats-server not found (apt-get install nats-server, or scripts/test installs it): %v", err)
	}
	return p
}

// server is a nats-server process of the test's own, on a fixed port and
// store directory so it can be killed and started again.
type server struct {
	t    *testing.T
	port int
	dir  string
	noJS bool
	cmd  *exec.Cmd
	done chan struct{}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *server) start() {
	s.t.Helper()
	bin := natsServerBin(s.t)
	args := []string{"-a", "127.0.0.1", "-p", fmt.Sprint(s.port)}
	if !s.noJS {
		args = append(args, "-js", "-sd", s.dir)
	}
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting %s: %v", bin, err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.kill()
			s.t.Fatalf("nats-server on %s did not start: %v", s.addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) kill() { s.signal(os.Kill) }

// stop shuts the server down cleanly (SIGTERM), as a restart for an upgrade does.
func (s *server) stop() { s.signal(syscall.SIGTERM) }

func (s *server) signal(sig os.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	<-s.done
	s.cmd = nil
}

func (s *server) addr() string { return fmt.Sprintf("127.0.0.1:%d", s.port) }

func TestServerRestartResumesDelivery(t *testing.T) {
	for _, c := range []struct {
		name string
		down func(*server)
	}{
		{"graceful", (*server).stop},
		{"crash", (*server).kill},
	} {
		t.Run(c.name, func(t *testing.T) { testRestart(t, c.down) })
	}
}

func testRestart(t *testing.T, down func(*server)) {
	srv := &server{t: t, port: freePort(t), dir: t.TempDir()}
	srv.start()
	t.Cleanup(srv.kill)
	url := "nats://" + srv.addr()
	b := open(t, url, natsbus.Options{}, "node-r")

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

	srv.start()
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
	srv := &server{t: t, port: freePort(t), noJS: true}
	srv.start()
	t.Cleanup(srv.kill)
	_, err := natsbus.Open(context.Background(), "nats://"+srv.addr(), natsbus.Options{}, testLog(t))
	if err == nil || !strings.Contains(err.Error(), "JetStream") || !strings.Contains(err.Error(), srv.addr()) {
		t.Fatalf("Open on a server without JetStream: err = %v; want one naming JetStream and %s", err, srv.addr())
	}
}
