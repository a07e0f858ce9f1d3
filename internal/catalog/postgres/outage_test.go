package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// proxy forwards loopback TCP connections to a backend; cut closes every
// forwarded connection and refuses new ones until restore, as a PostgreSQL
// restart looks to its clients.
type proxy struct {
	ln      net.Listener
	backend string

	mu    sync.Mutex
	down  bool
	conns []net.Conn
	wg    sync.WaitGroup
}

func startProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		b, err := net.Dial("tcp", p.backend)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, b)
		p.wg.Go(func() { _, _ = io.Copy(b, c); _ = b.Close() })
		p.wg.Go(func() { _, _ = io.Copy(c, b); _ = c.Close() })
		p.mu.Unlock()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestOutage: while PostgreSQL is unreachable Ping and writes fail (they
// do not hang); once it is back the same Store works again without being
// reopened.
func TestOutage(t *testing.T) {
	direct := schemaURL(t)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	s := openURL(t, u.String())
	ctx := context.Background()
	if err := s.CreateChannel(ctx, catalog.Channel{ID: "ch_1", Name: "one", StreamKey: "sk_1"}); err != nil {
		t.Fatal(err)
	}

	p.cut()
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(octx); err == nil {
		t.Fatal("Ping succeeded while the database was unreachable")
	}
	err = s.CreateChannel(octx, catalog.Channel{ID: "ch_2", Name: "two", StreamKey: "sk_2"})
	if err == nil || errors.Is(err, catalog.ErrConflict) || errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("CreateChannel during the outage = %v, want a connection error", err)
	}
	if octx.Err() != nil {
		t.Fatal("calls during the outage waited for their deadline instead of failing")
	}

	// A connection that died with the outage may still sit idle in the pool
	// and fail one call; within a few calls the pool has replaced it.
	p.restore()
	deadline := time.Now().Add(10 * time.Second)
	for err := s.Ping(ctx); err != nil; err = s.Ping(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("Ping 10s after the outage: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := s.CreateChannel(ctx, catalog.Channel{ID: "ch_2", Name: "two", StreamKey: "sk_2"}); err != nil {
		t.Fatalf("CreateChannel after the outage: %v", err)
	}
	if _, err := s.GetChannel(ctx, "ch_1"); err != nil {
		t.Fatalf("GetChannel after the outage: %v", err)
	}
}
