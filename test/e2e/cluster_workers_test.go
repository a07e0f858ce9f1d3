package e2e

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a webhook endpoint on loopback that answers 200 and
// counts deliveries by event id (Osprey-Delivery).
type hookReceiver struct {
	url string
	mu  sync.Mutex
	ids map[string]int    // event id → deliveries
	typ map[string]string // event id → type
	raw map[string]string // event id → body
}

func startHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hookReceiver{url: "http://" + ln.Addr().String() + "/hook", ids: map[string]int{}, typ: map[string]string{}, raw: map[string]string{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("Osprey-Delivery")
		h.mu.Lock()
		h.ids[id]++
		h.typ[id] = r.Header.Get("Osprey-Event")
		h.raw[id] = string(body)
		h.mu.Unlock()
	})}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return h
}

// has tells whether an event of type typ naming assetID arrived.
func (h *hookReceiver) has(typ, assetID string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, tp := range h.typ {
		if tp == typ && strings.Contains(h.raw[id], assetID) {
			return true
		}
	}
	return false
}

// TestClusterWorkers runs B (origin,api) and a worker W1 on PostgreSQL, S3
// and NATS; W1 is killed with kill -9 mid-transcode and two new workers
// start: the asset ends ready, once, with nothing orphaned in the bucket.
// With the two workers and one webhook endpoint every event is delivered
// once.
func TestClusterWorkers(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	cfg := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(cfg, []byte("webhooks:\n  allow_private_urls: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := c.node("b", "origin,api", "--config", cfg)
	w1 := c.node("w1", "worker", "--config", cfg)
	hook := startHookReceiver(t)
	var wh struct {
		ID string `json:"id"`
	}
	if code := b.api("POST", "/api/v1/webhooks", map[string]any{"url": hook.url,
		"events": []string{"asset.created", "asset.ready", "asset.failed"}}, &wh); code != http.StatusCreated {
		t.Fatalf("creating webhook: HTTP %d", code)
	}

	// 4. kill -9 of the worker mid-transcode.
	a := uploadUntilTranscoding(t, b, 20) // on W1, the only worker yet
	kill9(t, w1.process)
	killed := time.Now()
	t.Logf("killed W1 at %.1f %%", a.Progress)
	c.node("w2", "worker", "--config", cfg)
	c.node("w3", "worker", "--config", cfg)
	var rerun time.Duration
	waitFor(t, 60*time.Second, "another worker to run the job again", func() bool {
		a = b.getAsset(a.ID)
		rerun = time.Since(killed)
		return a.Attempts >= 2 || a.Status == "ready" || a.Status == "failed"
	})
	t.Logf("job taken again %v after the kill", rerun.Round(time.Millisecond))
	a = b.waitAsset(a.ID, 180*time.Second)
	if a.Status != "ready" {
		t.Fatalf("after the kill: %s (%s)", a.Status, a.Error)
	}
	t.Logf("asset ready %v after the kill", time.Since(killed).Round(time.Millisecond))
	if a.Attempts != 2 {
		t.Errorf("attempts %d, want 2 (the killed one and the one that finished)", a.Attempts)
	}
	var list assetList
	b.api("GET", "/api/v1/assets", nil, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d assets, want 1", len(list.Items))
	}
	referenced := referencedFiles(t, a)
	var sources int
	for _, o := range c.objects() {
		switch {
		case strings.HasPrefix(o.Key, "sources/"+a.ID+"/"):
			sources++
		case strings.HasPrefix(o.Key, "vod/"+a.ID+"/") && referenced[strings.TrimPrefix(o.Key, "vod/"+a.ID+"/")]:
		default:
			t.Errorf("orphaned object %s (%d bytes)", o.Key, o.Size)
		}
	}
	if sources != 1 {
		t.Errorf("%d source objects of the asset, want 1", sources)
	}
	if ups := c.pendingUploads(); len(ups) > 0 {
		t.Errorf("unfinished multipart uploads left in the bucket: %+v", ups)
	}

	// 5. Two workers, one endpoint: each event delivered once.
	short := makeSource(t, t.TempDir(), "short.mp4", join(videoIn("320x240", 2), toneIn(2),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})...)
	code, a2, raw := b.uploadMultipart(short, "short")
	if code != http.StatusCreated {
		t.Fatalf("second upload: HTTP %d %s", code, raw)
	}
	if a2 = b.waitAsset(a2.ID, 60*time.Second); a2.Status != "ready" {
		t.Fatalf("second asset: %s (%s)", a2.Status, a2.Error)
	}
	waitFor(t, 30*time.Second, "asset.created and asset.ready of both assets", func() bool {
		return hook.has("asset.created", a.ID) && hook.has("asset.ready", a.ID) &&
			hook.has("asset.created", a2.ID) && hook.has("asset.ready", a2.ID)
	})
	var deliveries struct {
		Items []struct {
			EventID    string `json:"event_id"`
			EventType  string `json:"event_type"`
			StatusCode int    `json:"status_code"`
		} `json:"items"`
	}
	b.api("GET", "/api/v1/webhooks/"+url.PathEscape(wh.ID)+"/deliveries", nil, &deliveries)
	logged := map[string]int{}
	for _, d := range deliveries.Items {
		logged[d.EventID]++
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	for id, n := range hook.ids {
		if n != 1 {
			t.Errorf("event %s (%s) delivered %d times", id, hook.typ[id], n)
		}
		if logged[id] != 1 {
			t.Errorf("event %s (%s): %d attempts in the delivery log, want 1", id, hook.typ[id], logged[id])
		}
	}
	if len(hook.ids) != 4 || len(logged) != 4 {
		t.Errorf("%d events received, %d in the delivery log; want 4 (created and ready of two assets): %v", len(hook.ids), len(logged), hook.typ)
	}
	t.Logf("TestClusterWorkers took %v", time.Since(start).Round(time.Millisecond))
}
