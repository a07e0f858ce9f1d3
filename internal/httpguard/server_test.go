package httpguard

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// startServer serves h behind g on 127.0.0.1:0 (over TLS with certs) and
// returns the capped listener and the address.
func startServer(t *testing.T, g *Guard, h http.Handler, certs *CertSource) (net.Listener, string) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := g.Listener(raw, certs)
	srv := g.Server(g.Wrap(classByPath, h), slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln, raw.Addr().String()
}

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialFrom connects to addr from a given loopback source address.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialing from %s: %v", src, err)
	}
	return c
}

func getFrom(src, url string) (*http.Response, error) {
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })

// Idle half-open connections from one address take only that address's
// share: another client still gets in.
func TestConnectionFloodFromOneIP(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) {
		s.MaxConnections = 20
		s.MaxConnectionsPerIP = 8
	})
	ln, addr := startServer(t, g, okHandler, nil)
	var flood []net.Conn
	for range 40 {
		c := dialFrom(t, "127.0.0.2", addr)
		_, _ = c.Write([]byte("GET / HTTP/1.1\r\n")) // half a request, never finished
		flood = append(flood, c)
	}
	defer func() {
		for _, c := range flood {
			c.Close()
		}
	}()
	waitFor(t, "32 connections refused", func() bool { return g.connsRefused() == 32 })
	total, from, ok := openConnections(ln, mustAddr("127.0.0.2"))
	if !ok || total != 8 || from != 8 {
		t.Fatalf("open connections: total %d, from the flooder %d (ok %v), want 8 and 8", total, from, ok)
	}
	resp, err := getFrom("127.0.0.1", "http://"+addr+"/")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("another client locked out: %v %v", resp, err)
	}
	// The refused connections were closed by the server.
	closed := 0
	for _, c := range flood {
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) || isReset(err) {
			closed++
		}
	}
	if closed != 32 {
		t.Errorf("%d flood connections closed by the server, want 32", closed)
	}
	// A closed connection gives its slot back.
	for _, c := range flood {
		c.Close()
	}
	waitFor(t, "the flooder's slots freed", func() bool {
		total, _, _ := openConnections(ln, mustAddr("127.0.0.2"))
		return total == 0
	})
}

// The global cap holds too.
func TestConnectionGlobalCap(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) {
		s.MaxConnections = 4
		s.MaxConnectionsPerIP = 4
	})
	ln, addr := startServer(t, g, okHandler, nil)
	for _, src := range []string{"127.0.0.3", "127.0.0.3", "127.0.0.4", "127.0.0.4", "127.0.0.5"} {
		c := dialFrom(t, src, addr)
		defer c.Close()
	}
	waitFor(t, "one connection refused", func() bool { return g.connsRefused() == 1 })
	if total, _, _ := openConnections(ln, mustAddr("127.0.0.5")); total != 4 {
		t.Errorf("%d open, want 4", total)
	}
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "broken pipe"))
}

// A client sending its headers a byte at a time is cut after
// read_header_timeout, while others are served.
func TestSlowHeaderSenderCut(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) { s.ReadHeaderTimeout = 300 * time.Millisecond })
	_, addr := startServer(t, g, okHandler, nil)
	c := dialFrom(t, "127.0.0.1", addr)
	defer c.Close()
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // trickle: one header line every 50ms, forever
		defer wg.Done()
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil {
			return
		}
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := c.Write([]byte("X-Slow: 1\r\n")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.ReadAll(c)
	elapsed := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the slow sender was not cut in 10s")
	}
	if elapsed > 5*time.Second {
		t.Errorf("cut after %s, want about 300ms", elapsed)
	}
	if resp, err := getFrom("127.0.0.1", "http://"+addr+"/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("another client: %v %v", resp, err)
	}
}
