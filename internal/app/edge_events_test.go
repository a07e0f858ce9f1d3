package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
)

// freeEdgeEventsPort is a loopback port nothing listens on.
func freeEdgeEventsPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Two `osprey edge --events` on one NATS: an invalidation posted to one
// empties the other's cache within a second.
func TestRunEdgeSharesInvalidations(t *testing.T) {
	// RunEdge uses the default stream and subjects, which must not mix
	// with other tests': a nats-server of the test's own.
	natsURL := natstest.StartServer(t, false).URL()
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = io.WriteString(w, "segment")
	}))
	t.Cleanup(origin.Close)
	run := func(node string) string {
		cfg := config.DefaultEdge()
		cfg.HTTPAddr = "127.0.0.1:0"
		cfg.DataDir = t.TempDir()
		cfg.Origins = []string{origin.URL}
		cfg.CacheDisk = 0
		cfg.AccessLog = ""
		cfg.Events = natsURL
		cfg.NodeID = node
		var logs syncBuffer
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- RunEdge(ctx, cfg, testToken, slog.New(slog.NewTextHandler(&logs, nil)), nil) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("RunEdge %s: %v", node, err)
			}
		})
		serving := regexp.MustCompile(`osprey edge is serving" http=(\S+).* node=` + node)
		var m []string
		waitUntil(t, node+" to serve", func() bool {
			select {
			case err := <-done:
				t.Fatalf("RunEdge %s ended: %v; log:\n%s", node, err, logs.String())
			default:
			}
			m = serving.FindStringSubmatch(logs.String())
			return m != nil
		}, &logs)
		return "http://" + m[1]
	}
	a, b := run("edge-a"), run("edge-b")
	client := &http.Client{Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	fetch := func(base string) {
		t.Helper()
		resp, err := client.Get(base + "/vod/a/1.m4s")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", base, resp.StatusCode)
		}
	}
	fetch(a)
	fetch(b)
	fetch(b)
	if n := hits.Load(); n != 2 {
		t.Fatalf("origin requests %d, want 2 (one per edge)", n)
	}

	start := time.Now()
	req, _ := http.NewRequest(http.MethodPost, a+"/api/v1/edge/invalidations", strings.NewReader(`{"paths":["/vod/a/*"]}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"propagated": true`) || !strings.Contains(string(body), `"node": "edge-a"`) {
		t.Fatalf("POST on edge a: %d %s", resp.StatusCode, body)
	}
	// Edge b's next GET is a miss once the invalidation has arrived.
	for hits.Load() < 3 {
		if time.Since(start) > time.Second {
			t.Fatalf("edge b still served /vod/a/1.m4s from cache %v after the invalidation on edge a", time.Since(start))
		}
		fetch(b)
		time.Sleep(10 * time.Millisecond) // polling the real state
	}
	t.Logf("edge b fetched again %v after the POST on edge a", time.Since(start))
}

// An unreachable NATS fails the start at once, naming the dependency and
// its address.
func TestRunEdgeEventsUnreachable(t *testing.T) {
	t.Parallel()
	addr := fmt.Sprintf("127.0.0.1:%d", freeEdgeEventsPort(t))
	cfg := config.DefaultEdge()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Origins = []string{"http://127.0.0.1:1"}
	cfg.CacheDisk = 0
	cfg.AccessLog = ""
	cfg.Events = "nats://" + addr
	start := time.Now()
	err := RunEdge(t.Context(), cfg, testToken, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "events") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("RunEdge with NATS unreachable: %v; want an error naming events and %s", err, addr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("RunEdge took %v to fail", d)
	}
}
