package edge

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestFailoverOnConnectErrorTimeoutAnd5xx(t *testing.T) {
	body := payload(2000, 6)
	backup := newTestOrigin(t, staticHandler(body, "max-age=60"))

	t.Run("connection refused", func(t *testing.T) {
		te := newTestEdge(t, Config{OriginRetryAfter: time.Minute}, closedURL(t), backup.URL)
		start := time.Now()
		resp, b := get(t, te.srv.URL+"/refused.m4s")
		if resp.StatusCode != 200 || sum(b) != sum(body) {
			t.Fatalf("%d", resp.StatusCode)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("failover took %s", d)
		}
		if up := te.origins[0].up(time.Now()); up {
			t.Error("the refused primary is still marked up")
		}
	})

	t.Run("timeout", func(t *testing.T) {
		hang := make(chan struct{})
		defer close(hang)
		primary := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		})
		te := newTestEdge(t, Config{OriginTimeout: 300 * time.Millisecond, OriginRetryAfter: time.Minute}, primary.URL, backup.URL)
		start := time.Now()
		resp, b := get(t, te.srv.URL+"/timeout.m4s")
		took := time.Since(start)
		if resp.StatusCode != 200 || sum(b) != sum(body) {
			t.Fatalf("%d", resp.StatusCode)
		}
		if took < 300*time.Millisecond || took > 1500*time.Millisecond {
			t.Errorf("failover after a timeout took %s, want about the 300ms origin timeout", took)
		}
		// The primary is skipped now: the next miss goes straight to the backup.
		start = time.Now()
		get(t, te.srv.URL+"/timeout2.m4s")
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("second miss took %s: the dead primary was tried again", d)
		}
		if n := primary.count.Load(); n != 1 {
			t.Errorf("primary requests = %d, want 1", n)
		}
	})

	t.Run("5xx", func(t *testing.T) {
		primary := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
		te := newTestEdge(t, Config{}, primary.URL, backup.URL)
		resp, b := get(t, te.srv.URL+"/5xx.m4s")
		if resp.StatusCode != 200 || sum(b) != sum(body) {
			t.Fatalf("%d", resp.StatusCode)
		}
		if !te.origins[0].up(time.Now()) {
			t.Error("a 5xx marked the primary down; only connect errors and timeouts should")
		}
		lines := te.accessLines(t, 1)
		if !strings.Contains(lines[len(lines)-1], `"origin":"`+strings.TrimPrefix(backup.URL, "http://")+`"`) {
			t.Errorf("access log does not name the backup origin: %s", lines[len(lines)-1])
		}
	})

	t.Run("every origin 5xx", func(t *testing.T) {
		a := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "a", http.StatusServiceUnavailable) })
		b := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "b", http.StatusBadGateway) })
		te := newTestEdge(t, Config{}, a.URL, b.URL)
		resp, _ := get(t, te.srv.URL+"/both.m4s")
		if resp.StatusCode != 502 {
			t.Errorf("status %d, want the last origin's 502", resp.StatusCode)
		}
	})
}

// A down origin is probed and used again once it answers.
func TestOriginComesBackAfterProbe(t *testing.T) {
	body := payload(100, 7)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	backup := newTestOrigin(t, staticHandler(body, "no-store"))
	te := newTestEdge(t, Config{OriginRetryAfter: time.Minute, OriginHealthPath: "/healthz"}, "http://"+addr, backup.URL)
	get(t, te.srv.URL+"/x.m4s")
	if te.origins[0].up(time.Now()) {
		t.Fatal("primary should be down")
	}
	// The primary comes back on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("could not listen on %s again: %v", addr, err)
	}
	srv := &http.Server{Handler: staticHandler(body, "no-store")}
	go srv.Serve(ln)
	defer srv.Close()
	waitFor(t, 5*time.Second, "the probe to bring the primary back", func() bool { return te.origins[0].up(time.Now()) })
	before := backup.count.Load()
	get(t, te.srv.URL+"/x.m4s")
	if backup.count.Load() != before {
		t.Error("the request went to the backup after the primary came back")
	}
}

// With no other origin to fail over to, a slow answer is waited for rather
// than turned into a 504 (a busy edge or origin is not a dead one).
func TestLastOriginIsGivenLonger(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(700 * time.Millisecond)
		w.Write([]byte("slow"))
	})
	te := newTestEdge(t, Config{OriginTimeout: 200 * time.Millisecond}, origin.URL)
	resp, b := get(t, te.srv.URL+"/slow.m3u8")
	if resp.StatusCode != 200 || string(b) != "slow" {
		t.Fatalf("single slow origin: %d %q, want its answer", resp.StatusCode, b)
	}
}
