package front

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
)

const wait = 5 * time.Second

// lineServer is a toy protocol on a door: a client is established once it
// sends "hello\n"; every later line is read and dropped. It records why
// each connection ended.
type lineServer struct {
	door *Door
	addr net.Addr

	mu     sync.Mutex
	served int
	causes []error
	ended  chan struct{}
}

func startLineServer(t *testing.T, cfg Config) *lineServer {
	t.Helper()
	log, _ := ingesttest.NewLogger()
	s := &lineServer{door: New(cfg, log), ended: make(chan struct{}, 1024)}
	addr, err := s.door.ListenTCP("127.0.0.1:0", s.serve)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = addr
	t.Cleanup(s.door.Close)
	return s
}

func (s *lineServer) serve(c *Conn, nc net.Conn) {
	s.mu.Lock()
	s.served++
	s.mu.Unlock()
	br := bufio.NewReader(nc)
	line, err := br.ReadString('\n')
	if err == nil && line == "hello\n" {
		if err = c.Established(); err == nil {
			_, _ = nc.Write([]byte("welcome\n"))
			for err == nil {
				_, err = br.ReadString('\n')
			}
		}
	}
	s.mu.Lock()
	s.causes = append(s.causes, c.Cause())
	s.mu.Unlock()
	s.ended <- struct{}{}
}

func (s *lineServer) waitEnded(t *testing.T) error {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(wait):
		t.Fatal("no connection ended")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.causes[len(s.causes)-1]
}

// waitLen waits until the door holds n connections.
func (s *lineServer) waitLen(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for s.door.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("door holds %d connections, want %d", s.door.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dialFrom(t *testing.T, ip string, addr net.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// hello establishes c and waits for the server's answer.
func hello(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "welcome\n" {
		t.Fatalf("answer %q, %v; want welcome", line, err)
	}
	_ = c.SetDeadline(time.Time{})
}

// closedSoon reports whether the peer closes c within d.
func closedSoon(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// More connections from one address than MaxConnsPerIP are closed at once;
// another address still gets in and is served.
func TestPerIPCap(t *testing.T) {
	s := startLineServer(t, Config{MaxConnsPerIP: 3, HandshakeTimeout: time.Minute})
	var flood []net.Conn
	for range 10 {
		flood = append(flood, dialFrom(t, "127.0.0.1", s.addr))
	}
	refused := 0
	for _, c := range flood {
		if closedSoon(c, 300*time.Millisecond) {
			refused++
		}
	}
	if refused != 7 {
		t.Errorf("%d of 10 connections from one address closed at once, want 7", refused)
	}
	other := dialFrom(t, "127.0.0.2", s.addr)
	hello(t, other)
	s.waitLen(t, 4)
}

// The global cap holds across addresses.
func TestGlobalCap(t *testing.T) {
	s := startLineServer(t, Config{MaxConns: 4, MaxConnsPerIP: 2, HandshakeTimeout: time.Minute})
	for _, ip := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2", "127.0.0.2"} {
		hello(t, dialFrom(t, ip, s.addr))
	}
	extra := dialFrom(t, "127.0.0.3", s.addr)
	if !closedSoon(extra, wait) {
		t.Fatal("connection over the global cap still open")
	}
	if n := s.door.Len(); n != 4 {
		t.Errorf("door holds %d, want 4", n)
	}
	s.mu.Lock()
	served := s.served
	s.mu.Unlock()
	if served != 4 {
		t.Errorf("served %d connections, want 4 (the refused one never reaches the protocol)", served)
	}
}

// A connection that never completes its handshake, silent or trickling, is
// cut at HandshakeTimeout with ErrTimeout, and its place is freed.
func TestHandshakeDeadline(t *testing.T) {
	cfg := Config{HandshakeTimeout: 400 * time.Millisecond, IdleTimeout: time.Minute}
	for _, tc := range []struct {
		name string
		send func(c net.Conn, stop <-chan struct{})
	}{
		{"silent", func(net.Conn, <-chan struct{}) {}},
		{"half line", func(c net.Conn, _ <-chan struct{}) { _, _ = c.Write([]byte("hel")) }},
		{"one byte at a time", func(c net.Conn, stop <-chan struct{}) {
			for {
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startLineServer(t, cfg)
			c := dialFrom(t, "127.0.0.1", s.addr)
			start := time.Now()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); tc.send(c, stop) }()
			defer func() { close(stop); <-done }()
			cause := s.waitEnded(t)
			if d := time.Since(start); d < cfg.HandshakeTimeout-50*time.Millisecond || d > cfg.HandshakeTimeout+time.Second {
				t.Errorf("cut after %s, want about %s", d, cfg.HandshakeTimeout)
			}
			if !errors.Is(cause, ingest.ErrTimeout) {
				t.Errorf("cause %v, want ErrTimeout", cause)
			}
			if !closedSoon(c, wait) {
				t.Error("client side still open")
			}
			s.waitLen(t, 0)
		})
	}
}

// An established connection outlives the handshake deadline while data
// flows, and is cut IdleTimeout after its last data.
func TestIdleDeadline(t *testing.T) {
	cfg := Config{HandshakeTimeout: 300 * time.Millisecond, IdleTimeout: 600 * time.Millisecond}
	s := startLineServer(t, cfg)
	c := dialFrom(t, "127.0.0.1", s.addr)
	hello(t, c)
	var silent time.Time
	for i := range 8 { // 1.4 s of data, well past both deadlines
		if i > 0 {
			time.Sleep(200 * time.Millisecond)
		}
		if _, err := c.Write([]byte("data\n")); err != nil {
			t.Fatal(err)
		}
		silent = time.Now()
	}
	if s.door.Len() != 1 {
		t.Fatal("a connection sending data was cut")
	}
	cause := s.waitEnded(t)
	if d := time.Since(silent); d < cfg.IdleTimeout-50*time.Millisecond || d > cfg.IdleTimeout+time.Second {
		t.Errorf("cut %s after its last data, want about %s", d, cfg.IdleTimeout)
	}
	if !errors.Is(cause, ingest.ErrTimeout) {
		t.Errorf("cause %v, want ErrTimeout", cause)
	}
}

// Close cuts established and handshaking connections with
// ErrServerClosed, waits for their goroutines and leaves none behind; it is
// idempotent, and the door admits nothing afterwards.
func TestClose(t *testing.T) {
	before := runtime.NumGoroutine()
	log, _ := ingesttest.NewLogger()
	s := &lineServer{door: New(Config{HandshakeTimeout: time.Minute, IdleTimeout: time.Minute}, log), ended: make(chan struct{}, 16)}
	addr, err := s.door.ListenTCP("127.0.0.1:0", s.serve)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = addr
	est := dialFrom(t, "127.0.0.1", addr)
	hello(t, est)
	half := dialFrom(t, "127.0.0.1", addr)
	_, _ = half.Write([]byte("he"))
	s.waitLen(t, 2)

	start := time.Now()
	s.door.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s", d)
	}
	s.door.Close()
	s.mu.Lock()
	causes := s.causes
	s.mu.Unlock()
	if len(causes) != 2 {
		t.Fatalf("%d connections ended before Close returned, want 2", len(causes))
	}
	for _, cause := range causes {
		if !errors.Is(cause, ingest.ErrServerClosed) {
			t.Errorf("cause %v, want ErrServerClosed", cause)
		}
	}
	if _, err := s.door.Admit(addr); !errors.Is(err, ingest.ErrServerClosed) {
		t.Errorf("Admit after Close: %v", err)
	}
	if _, err := s.door.ListenTCP("127.0.0.1:0", s.serve); err == nil {
		t.Error("ListenTCP after Close succeeded")
	}
	for _, c := range []net.Conn{est, half} {
		if !closedSoon(c, wait) {
			t.Error("client side still open after Close")
		}
		_ = c.Close()
	}
	ingesttest.WaitGoroutines(t, before, 3*time.Second)
}

// A connection cut before its protocol set OnCut is closed as soon as it does.
func TestCutBeforeOnCut(t *testing.T) {
	log, _ := ingesttest.NewLogger()
	d := New(Config{}, log)
	defer d.Close()
	c, err := d.Admit(&net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 9})
	if err != nil {
		t.Fatal(err)
	}
	c.Cut(errors.New("first"))
	c.Cut(errors.New("second"))
	closed := false
	c.OnCut(func() { closed = true })
	if !closed {
		t.Error("OnCut after Cut did not run")
	}
	if c.Cause().Error() != "first" {
		t.Errorf("cause %v, want the first one", c.Cause())
	}
	if c.Context().Err() == nil {
		t.Error("context not done after Cut")
	}
	if err := c.Established(); err == nil {
		t.Error("Established after Cut succeeded")
	}
	c.Release()
	c.Release()
	if d.Len() != 0 {
		t.Errorf("door holds %d after Release", d.Len())
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 1}, "203.0.113.7"},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:203.0.113.7"), Port: 1}, "203.0.113.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::9"), Port: 1}, "2001:db8:1:2::"},
		{nil, "invalid IP"},
	}
	for _, tt := range tests {
		if got := clientKey(tt.addr).String(); got != tt.want {
			t.Errorf("clientKey(%v) = %s, want %s", tt.addr, got, tt.want)
		}
	}
}
