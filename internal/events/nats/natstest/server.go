package natstest

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is a nats-server process of the test's own, on a fixed port and
// store folder, so that it can be stopped or killed and started again.
type Server struct {
	t    testing.TB
	host string
	port int
	dir  string // JetStream store; "" runs without JetStream
	cmd  *exec.Cmd
	done chan struct{}

	name    string   // --server_name; "" = nats-server's default
	monitor int      // -m port, 0 = none
	extra   []string // further arguments (cluster settings)
}

// StartServer starts a nats-server, with JetStream unless noJetStream, on
// a free port; it is killed when the test ends. A missing nats-server
// fails the test, saying how to install it.
func StartServer(t testing.TB, noJetStream bool) *Server {
	t.Helper()
	return StartServerOn(t, "127.0.0.1", noJetStream)
}

// StartServerOn is StartServer listening on the local address host.
func StartServerOn(t testing.TB, host string, noJetStream bool) *Server {
	t.Helper()
	s := &Server{t: t, host: host, port: freePort(t, host)}
	if !noJetStream {
		s.dir = t.TempDir()
	}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// URL is the server's nats:// URL.
func (s *Server) URL() string { return "nats://" + s.Addr() }

// Name is the server's --server_name ("" for StartServer's servers).
func (s *Server) Name() string { return s.name }

// Start starts the server (again, after Stop or Kill: same port, same
// store) and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	bin := serverBin(s.t)
	args := []string{"-a", s.host, "-p", strconv.Itoa(s.port)}
	if s.dir != "" {
		args = append(args, "-js", "-sd", s.dir)
	}
	args = append(args, s.extra...)
	s.cmd = exec.Command(bin, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting %s: %v", bin, err)
	}
	s.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(s.cmd, s.done)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Kill()
			s.t.Fatalf("nats-server on %s did not start: %v", s.Addr(), err)
		}
		time.Sleep(50 * time.Millisecond) // polling for the listener
	}
}

// Kill kills the server (SIGKILL), as a crash does, and waits for it.
func (s *Server) Kill() { s.signal(os.Kill) }

// Stop shuts the server down cleanly (SIGTERM), as a restart for an
// upgrade does, and waits for it.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

func (s *Server) signal(sig os.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	<-s.done
	s.cmd = nil
}

// serverBin is Debian's nats-server, else the one on PATH.
func serverBin(t testing.TB) string {
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
