package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
)

// testOrigin is an origin server whose handler can be changed while it
// runs and that counts the requests it gets.
type testOrigin struct {
	*httptest.Server
	mu      sync.Mutex
	handler http.HandlerFunc
	count   atomic.Int64
	byPath  sync.Map // path -> *atomic.Int64
}

func newTestOrigin(t *testing.T, h http.HandlerFunc) *testOrigin {
	t.Helper()
	o := &testOrigin{handler: h}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.count.Add(1)
		n, _ := o.byPath.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		o.mu.Lock()
		h := o.handler
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *testOrigin) set(h http.HandlerFunc) {
	o.mu.Lock()
	o.handler = h
	o.mu.Unlock()
}

func (o *testOrigin) hits(path string) int64 {
	n, ok := o.byPath.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// testEdge runs an Edge behind an httptest server.
type testEdge struct {
	*Edge
	srv *httptest.Server
	log *bytes.Buffer
	mu  *sync.Mutex
}

// newTestEdge starts an edge in front of origins with a memory tier of
// 64 MiB and no disk tier, unless cfg says otherwise.
func newTestEdge(t testing.TB, cfg Config, origins ...string) *testEdge {
	t.Helper()
	cfg.Origins = origins
	if cfg.Cache.MemoryBytes == 0 {
		cfg.Cache.MemoryBytes = 64 << 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.OriginTimeout == 0 {
		cfg.OriginTimeout = 2 * time.Second
	}
	if cfg.StaleIfError == 0 {
		cfg.StaleIfError = time.Hour
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = time.Second
	}
	logBuf := &lockedBuffer{}
	if cfg.AccessLog == nil {
		cfg.AccessLog = logBuf
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		srv.Close()
		e.Close()
	})
	return &testEdge{Edge: e, srv: srv, log: &logBuf.buf, mu: &logBuf.mu}
}

// accessLines waits until the access log holds n lines (a line is written
// after the handler returns, which may be just after the viewer has the
// whole response) and returns them.
func (te *testEdge) accessLines(t *testing.T, n int) []string {
	t.Helper()
	var lines []string
	waitFor(t, 5*time.Second, fmt.Sprintf("%d access-log lines", n), func() bool {
		te.access.flush()
		te.mu.Lock()
		defer te.mu.Unlock()
		lines = strings.Split(strings.TrimSpace(te.log.String()), "\n")
		return len(lines) >= n && lines[0] != ""
	})
	return lines
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// viewerTransport carries the tests' viewer requests (no redirects
// followed, connections kept alive between requests).
var viewerTransport = http.DefaultTransport.(*http.Transport).Clone()

// get fetches url with optional header pairs and returns the response with
// its body read.
func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := viewerTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, body
}

// payload returns n deterministic bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

// staticHandler serves body with the given Cache-Control and an ETag.
func staticHandler(body []byte, cacheControl string) http.HandlerFunc {
	h := sum(body)
	etag := `"` + hex.EncodeToString(h[:8]) + `"`
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/iso.segment")
		if cacheControl != "" {
			w.Header().Set("Cache-Control", cacheControl)
		}
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}
}

// waitFor polls cond every 5 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// joined returns how many viewers joined the running flight for a path.
func (te *testEdge) joined(key string) int32 {
	te.flightsMu.Lock()
	defer te.flightsMu.Unlock()
	var n int32
	for fkey, f := range te.flights {
		if strings.HasPrefix(fkey, key+"\x00") {
			n += f.joined.Load()
		}
	}
	return n
}

// useFakeClock makes te use a fake clock starting now.
func (te *testEdge) useFakeClock() *clocktest.Clock {
	c := clocktest.New(time.Now())
	te.now = c.Now
	return c
}

// waitIdle waits until no flight runs (a flight may outlive the request
// that started it, e.g. reading a 5xx body after the stale object was served).
func (te *testEdge) waitIdle(t *testing.T) {
	t.Helper()
	waitFor(t, 5*time.Second, "flights to end", func() bool {
		te.flightsMu.Lock()
		defer te.flightsMu.Unlock()
		return len(te.flights) == 0
	})
}
