package edge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/events/nats/natstest"
)

// eventCount reads osprey_edge_invalidation_events_total{result}.
func eventCount(e *Edge, result string) float64 {
	var m dto.Metric
	_ = e.metrics.events.WithLabelValues(result).Write(&m)
	return m.GetCounter().GetValue()
}

// postInvalidation POSTs body to base's invalidation API.
func postInvalidation(t *testing.T, base, token, body string) (int, Invalidation) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+invalidationsPath, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", invalidationsPath, err)
	}
	defer resp.Body.Close()
	var inv Invalidation
	_ = json.NewDecoder(resp.Body).Decode(&inv)
	return resp.StatusCode, inv
}

func listInvalidations(t *testing.T, base string) []Invalidation {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+invalidationsPath, nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct{ Items []Invalidation }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// busEdge starts an edge on bus with the admin token "tok".
func busEdge(t *testing.T, bus EventBus, node, origin string) *testEdge {
	t.Helper()
	return newTestEdge(t, Config{AdminToken: "tok", Events: bus, NodeID: node, Log: natstest.Logger(t)}, origin)
}

// fill fetches paths through each edge and checks they are cached.
func fill(t *testing.T, paths []string, edges ...*testEdge) {
	t.Helper()
	for _, te := range edges {
		for _, p := range paths {
			get(t, te.srv.URL+p)
			if te.lookup(p, "") == nil {
				t.Fatalf("%s not cached on %s", p, te.cfg.NodeID)
			}
		}
	}
}

func TestInvalidationReachesOtherEdge(t *testing.T) {
	url, o := natstest.NATS(t)
	busA, busB := natstest.Open(t, url, o, "edge-a"), natstest.Open(t, url, o, "edge-b")
	origin := newTestOrigin(t, staticHandler([]byte("x"), "max-age=600"))
	a, b := busEdge(t, busA, "edge-a", origin.URL), busEdge(t, busB, "edge-b", origin.URL)
	fill(t, []string{"/vod/a/1.m4s", "/vod/a/2.m4s", "/vod/b/1.m4s"}, a, b)

	start := time.Now()
	status, inv := postInvalidation(t, a.srv.URL, "tok", `{"paths":["/vod/a/*"]}`)
	if status != http.StatusCreated || inv.Status != StatusCompleted || inv.Objects != 2 || !inv.Propagated ||
		inv.PropagationError != "" || inv.Node != "edge-a" {
		t.Fatalf("POST on edge a: %d %+v", status, inv)
	}
	waitFor(t, time.Second-time.Since(start), "edge b to drop /vod/a/*", func() bool {
		return b.lookup("/vod/a/1.m4s", "") == nil && b.lookup("/vod/a/2.m4s", "") == nil
	})
	t.Logf("edge b dropped the objects %v after the POST on edge a", time.Since(start))
	if b.lookup("/vod/b/1.m4s", "") == nil {
		t.Error("edge b dropped /vod/b/1.m4s, which the invalidation does not cover")
	}
	items := listInvalidations(t, b.srv.URL)
	if len(items) != 1 || items[0].ID != inv.ID || items[0].Node != "edge-a" || items[0].Objects != 2 || !items[0].Propagated {
		t.Errorf("edge b's list: %+v; want edge a's %s with 2 objects", items, inv.ID)
	}
	// Edge a receives its own invalidation back and does not apply it again.
	waitFor(t, 5*time.Second, "edge a to receive its own invalidation", func() bool { return eventCount(a.Edge, "duplicate") == 1 })
	if n := eventCount(a.Edge, "applied"); n != 0 {
		t.Errorf("edge a applied %v invalidations from the bus, want 0 (its own only)", n)
	}
	if items := listInvalidations(t, a.srv.URL); len(items) != 1 {
		t.Errorf("edge a lists %d invalidations, want 1: %+v", len(items), items)
	}
	// Both fetch the objects again: two more origin requests per path.
	fill(t, []string{"/vod/a/1.m4s"}, a, b)
	if n := origin.hits("/vod/a/1.m4s"); n != 4 {
		t.Errorf("origin requests for /vod/a/1.m4s = %d, want 4", n)
	}
}

func TestPublisherReachesEveryEdge(t *testing.T) {
	url, o := natstest.NATS(t)
	busAPI, busA, busB := natstest.Open(t, url, o, "api-1"), natstest.Open(t, url, o, "edge-a"), natstest.Open(t, url, o, "edge-b")
	origin := newTestOrigin(t, staticHandler([]byte("x"), "max-age=600"))
	a, b := busEdge(t, busA, "edge-a", origin.URL), busEdge(t, busB, "edge-b", origin.URL)
	api := httptest.NewServer(NewInvalidationPublisher(busAPI, PublisherConfig{AdminToken: "tok", NodeID: "api-1", Log: natstest.Logger(t)}))
	t.Cleanup(api.Close)
	fill(t, []string{"/live/ch_1/index.m3u8", "/live/ch_2/index.m3u8"}, a, b)

	for _, c := range []struct {
		name, token, body string
		want              int
	}{
		{"no token", "", `{"paths":["/live/ch_1/*"]}`, http.StatusUnauthorized},
		{"wrong token", "nope", `{"paths":["/live/ch_1/*"]}`, http.StatusUnauthorized},
		{"star inside", "tok", `{"paths":["/live/*/x"]}`, http.StatusBadRequest},
		{"relative", "tok", `{"paths":["live/ch_1/*"]}`, http.StatusBadRequest},
		{"no paths", "tok", `{"paths":[]}`, http.StatusBadRequest},
		{"unknown field", "tok", `{"paths":["/live/ch_1/*"],"x":1}`, http.StatusBadRequest},
	} {
		if status, _ := postInvalidation(t, api.URL, c.token, c.body); status != c.want {
			t.Errorf("%s: status %d, want %d", c.name, status, c.want)
		}
	}
	if items := listInvalidations(t, api.URL); len(items) != 0 {
		t.Fatalf("refused requests were published: %+v", items)
	}

	start := time.Now()
	status, inv := postInvalidation(t, api.URL, "tok", `{"paths":["/live/ch_1/*"]}`)
	if status != http.StatusAccepted || inv.Status != StatusPublished || !inv.Propagated || inv.Node != "api-1" || !strings.HasPrefix(inv.ID, "inv_") {
		t.Fatalf("POST on the API: %d %+v", status, inv)
	}
	waitFor(t, time.Second-time.Since(start), "both edges to drop /live/ch_1/index.m3u8", func() bool {
		return a.lookup("/live/ch_1/index.m3u8", "") == nil && b.lookup("/live/ch_1/index.m3u8", "") == nil
	})
	t.Logf("both edges dropped the object %v after the POST on the API", time.Since(start))
	for _, te := range []*testEdge{a, b} {
		if te.lookup("/live/ch_2/index.m3u8", "") == nil {
			t.Errorf("%s dropped /live/ch_2/index.m3u8", te.cfg.NodeID)
		}
		if items := listInvalidations(t, te.srv.URL); len(items) != 1 || items[0].ID != inv.ID || items[0].Node != "api-1" {
			t.Errorf("%s's list: %+v", te.cfg.NodeID, items)
		}
	}
	if items := listInvalidations(t, api.URL); len(items) != 1 || items[0].ID != inv.ID {
		t.Errorf("the API's list: %+v", items)
	}
}

// What arrives from the bus for paths not cached changes nothing else;
// messages that are not invalidations are counted and skipped without
// holding back the ones behind them.
func TestBusInvalidationHarmless(t *testing.T) {
	url, o := natstest.NATS(t)
	busTool, busB := natstest.Open(t, url, o, "tool"), natstest.Open(t, url, o, "edge-b")
	origin := newTestOrigin(t, staticHandler([]byte("x"), "max-age=600"))
	b := busEdge(t, busB, "edge-b", origin.URL)
	fill(t, []string{"/vod/a/1.m4s"}, b)

	ctx := context.Background()
	for _, data := range []string{`not json`, `{"paths":["no-slash"]}`, `{"paths":["/vod/zzz/*"]}`} {
		if err := busTool.Publish(ctx, events.EdgeInvalidate("all"), []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "edge b to apply the valid event", func() bool { return eventCount(b.Edge, "applied") == 1 })
	if n := eventCount(b.Edge, "invalid"); n != 2 {
		t.Errorf("invalid events counted = %v, want 2", n)
	}
	if b.lookup("/vod/a/1.m4s", "") == nil {
		t.Error("an invalidation of /vod/zzz/* removed /vod/a/1.m4s")
	}
	items := listInvalidations(t, b.srv.URL)
	if len(items) != 1 || items[0].Objects != 0 || items[0].Paths[0] != "/vod/zzz/*" || items[0].ID == "" || items[0].CreatedAt.IsZero() {
		t.Errorf("edge b's list: %+v", items)
	}
	if resp, _ := get(t, b.srv.URL+"/vod/a/1.m4s"); !strings.Contains(resp.Header.Get("Cache-Status"), "hit") {
		t.Errorf("Cache-Status %q after the unrelated invalidation, want a hit", resp.Header.Get("Cache-Status"))
	}
}

// An edge with a disk cache that was down while an invalidation was
// posted applies it when it comes back (its durable subscription).
func TestRestartedEdgeAppliesMissedInvalidation(t *testing.T) {
	url, o := natstest.NATS(t)
	busA, busB := natstest.Open(t, url, o, "edge-a"), natstest.Open(t, url, o, "edge-b")
	busB2 := natstest.Open(t, url, o, "edge-b") // the restarted process's connection
	origin := newTestOrigin(t, staticHandler([]byte("x"), "max-age=600"))
	a := busEdge(t, busA, "edge-a", origin.URL)
	cfgB := Config{AdminToken: "tok", Events: busB, NodeID: "edge-b", Log: natstest.Logger(t),
		Cache: cache.Config{MemoryBytes: 64 << 20, Dir: t.TempDir(), DiskBytes: 64 << 20}}
	b := newTestEdge(t, cfgB, origin.URL)
	fill(t, []string{"/vod/a/1.m4s", "/vod/b/1.m4s"}, b)
	b.srv.Close()
	if err := b.Close(); err != nil { // flushes the disk writes
		t.Fatal(err)
	}
	_ = busB.Close() // the process is gone

	if status, inv := postInvalidation(t, a.srv.URL, "tok", `{"paths":["/vod/a/*"]}`); status != http.StatusCreated || !inv.Propagated {
		t.Fatalf("POST on edge a: %d %+v", status, inv)
	}
	cfgB.Events = busB2
	start := time.Now()
	b2 := newTestEdge(t, cfgB, origin.URL)
	// Within AckWait: NATS may first hand the event to the gone process's
	// last pull request, and redelivers it when the ack does not come.
	waitFor(t, natsbus.AckWait+5*time.Second, "the restarted edge b to drop /vod/a/1.m4s", func() bool { return b2.lookup("/vod/a/1.m4s", "") == nil })
	t.Logf("the restarted edge applied the missed invalidation %v after it started", time.Since(start))
	if b2.lookup("/vod/b/1.m4s", "") == nil {
		t.Error("/vod/b/1.m4s did not survive the restart on disk (the test proves nothing then)")
	}
}

func TestDurableName(t *testing.T) {
	for _, c := range []struct {
		node1, dir1, node2, dir2 string
		same                     bool
	}{
		{"h", "/var/cache/a", "h", "/var/cache/a", true},
		{"h", "/var/cache/a", "h", "/var/cache/b", false},
		{"h", "/var/cache/a", "g", "/var/cache/a", false},
	} {
		n1, n2 := durableName(c.node1, c.dir1), durableName(c.node2, c.dir2)
		if (n1 == n2) != c.same {
			t.Errorf("durableName(%s,%s)=%s, durableName(%s,%s)=%s; same = %v, want %v", c.node1, c.dir1, n1, c.node2, c.dir2, n2, n1 == n2, c.same)
		}
		if !strings.HasPrefix(n1, c.node1+".edge-invalidate.") {
			t.Errorf("durableName(%s,%s) = %s", c.node1, c.dir1, n1)
		}
	}
}

func TestInvalidationSubject(t *testing.T) {
	for _, c := range []struct {
		paths []string
		want  string
	}{
		{[]string{"/live/ch_1/index.m3u8", "/live/ch_1/*"}, "osprey.edge.ch_1.invalidate"},
		{[]string{"/vod/as_9/*"}, "osprey.edge.as_9.invalidate"},
		{[]string{"/vod/as_9/*", "/vod/as_8/*"}, "osprey.edge.all.invalidate"},
		{[]string{"/vod/*"}, "osprey.edge.all.invalidate"},
		{[]string{"/vod/a.b/x"}, "osprey.edge.all.invalidate"},
		{[]string{"/watch/x/y"}, "osprey.edge.all.invalidate"},
	} {
		got := invalidationSubject(c.paths)
		if got != c.want {
			t.Errorf("invalidationSubject(%v) = %s, want %s", c.paths, got, c.want)
		}
		if err := events.ValidateSubject(got); err != nil {
			t.Error(err)
		}
	}
}

// While NATS is down, an edge's invalidation still completes here and
// says it was not propagated, the API node's answers 503, both at once;
// when NATS is back, invalidations travel again.
func TestBusDown(t *testing.T) {
	srv := natstest.StartServer(t, false)
	busAPI, busA, busB := natstest.Open(t, srv.URL(), natsbus.Options{}, "api-1"), natstest.Open(t, srv.URL(), natsbus.Options{}, "edge-a"), natstest.Open(t, srv.URL(), natsbus.Options{}, "edge-b")
	origin := newTestOrigin(t, staticHandler([]byte("x"), "max-age=600"))
	a, b := busEdge(t, busA, "edge-a", origin.URL), busEdge(t, busB, "edge-b", origin.URL)
	api := httptest.NewServer(NewInvalidationPublisher(busAPI, PublisherConfig{AdminToken: "tok", NodeID: "api-1", Log: natstest.Logger(t)}))
	t.Cleanup(api.Close)
	fill(t, []string{"/vod/a/1.m4s", "/vod/b/1.m4s"}, a, b)

	srv.Kill()
	start := time.Now()
	status, inv := postInvalidation(t, a.srv.URL, "tok", `{"paths":["/vod/a/*"]}`)
	t.Logf("POST on edge a with NATS down answered in %v: %s", time.Since(start), inv.PropagationError)
	if d := time.Since(start); d > PublishTimeout+time.Second {
		t.Errorf("POST on edge a took %v with NATS down", d)
	}
	if status != http.StatusCreated || inv.Status != StatusCompleted || inv.Objects != 1 || inv.Propagated || inv.PropagationError == "" {
		t.Fatalf("POST on edge a with NATS down: %d %+v", status, inv)
	}
	if a.lookup("/vod/a/1.m4s", "") != nil {
		t.Error("edge a still holds /vod/a/1.m4s")
	}
	start = time.Now()
	if status, inv := postInvalidation(t, api.URL, "tok", `{"paths":["/vod/a/*"]}`); status != http.StatusServiceUnavailable {
		t.Errorf("POST on the API with NATS down: %d %+v, want 503", status, inv)
	}
	t.Logf("POST on the API with NATS down answered in %v", time.Since(start))
	if d := time.Since(start); d > PublishTimeout+time.Second {
		t.Errorf("POST on the API took %v with NATS down", d)
	}

	srv.Start()
	// Polls until edge a's connection is back (each try is a real invalidation).
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, inv = postInvalidation(t, a.srv.URL, "tok", `{"paths":["/vod/b/*"]}`)
		if status != http.StatusCreated {
			t.Fatalf("POST on edge a: %d %+v", status, inv)
		}
		if inv.Propagated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("invalidations still not propagated 20 s after NATS restarted: %s", inv.PropagationError)
		}
		time.Sleep(100 * time.Millisecond) // polling the reconnect, not proving absence
	}
	waitFor(t, 10*time.Second, "edge b to drop /vod/b/1.m4s after NATS came back", func() bool { return b.lookup("/vod/b/1.m4s", "") == nil })
	// The API node's connection comes back on its own schedule.
	waitFor(t, 20*time.Second, "the API node to publish again", func() bool {
		status, _ := postInvalidation(t, api.URL, "tok", `{"paths":["/vod/c/*"]}`)
		return status == http.StatusAccepted
	})
}
