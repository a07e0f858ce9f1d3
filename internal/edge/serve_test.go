package edge

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/cache"
)

func TestRangeFromCache(t *testing.T) {
	body := payload(1<<20, 8)
	origin := newTestOrigin(t, staticHandler(body, "max-age=600"))
	te := newTestEdge(t, Config{}, origin.URL)

	// A range on a miss waits for the object, then is answered from it.
	resp, b := get(t, te.srv.URL+"/seg.m4s", "Range", "bytes=1000-1999")
	if resp.StatusCode != 206 || !bytes.Equal(b, body[1000:2000]) {
		t.Fatalf("range on a miss: %d, %d bytes", resp.StatusCode, len(b))
	}
	if got := resp.Header.Get("Content-Range"); got != "bytes 1000-1999/1048576" {
		t.Errorf("Content-Range = %q", got)
	}
	tests := []struct {
		rng    string
		status int
		want   []byte
	}{
		{"bytes=0-0", 206, body[:1]},
		{"bytes=-100", 206, body[len(body)-100:]},
		{"bytes=1048000-", 206, body[1048000:]},
		{"bytes=2000000-", 416, nil},
	}
	for _, tt := range tests {
		resp, b := get(t, te.srv.URL+"/seg.m4s", "Range", tt.rng)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.rng, resp.StatusCode, tt.status)
			continue
		}
		if tt.want != nil && !bytes.Equal(b, tt.want) {
			t.Errorf("%s: wrong bytes", tt.rng)
		}
		if tt.status == 416 && resp.Header.Get("Content-Range") != "bytes */1048576" {
			t.Errorf("416 Content-Range = %q", resp.Header.Get("Content-Range"))
		}
		if !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") {
			t.Errorf("%s: Cache-Status %q, want a hit", tt.rng, resp.Header.Get("Cache-Status"))
		}
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
	// Conditional: the cached ETag answers If-None-Match with 304.
	etag := resp.Header.Get("ETag")
	resp, b = get(t, te.srv.URL+"/seg.m4s", "If-None-Match", etag)
	if resp.StatusCode != 304 || len(b) != 0 {
		t.Errorf("If-None-Match %s: %d", etag, resp.StatusCode)
	}
}

func TestHeadersAgeCacheStatusVia(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=100")
		w.Header().Set("Age", "10")
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "drop me")
		w.Write([]byte("hello"))
	})
	te := newTestEdge(t, Config{Name: "edge-a"}, origin.URL)
	clock := te.useFakeClock()
	resp, _ := get(t, te.srv.URL+"/a.m3u8")
	if got := resp.Header.Get("Cache-Status"); got != "edge-a; fwd=miss; fwd-status=200; stored" {
		t.Errorf("miss Cache-Status = %q", got)
	}
	if resp.Header.Get("Age") != "10" || resp.Header.Get("Via") != "1.1 edge-a" || resp.Header.Get("X-Hop") != "" {
		t.Errorf("miss headers: Age %q Via %q X-Hop %q", resp.Header.Get("Age"), resp.Header.Get("Via"), resp.Header.Get("X-Hop"))
	}
	clock.Advance(5 * time.Second)
	resp, _ = get(t, te.srv.URL+"/a.m3u8")
	if got := resp.Header.Get("Cache-Status"); got != "edge-a; hit; ttl=85" {
		t.Errorf("hit Cache-Status = %q", got)
	}
	if resp.Header.Get("Age") != "15" {
		t.Errorf("hit Age = %q, want 15", resp.Header.Get("Age"))
	}
}

// An edge pointed at another edge (an origin shield): one origin request,
// both edges named in Cache-Status and Via, the shield's Age honoured.
func TestOriginShield(t *testing.T) {
	body := payload(10000, 9)
	origin := newTestOrigin(t, staticHandler(body, "max-age=60"))
	shield := newTestEdge(t, Config{Name: "shield"}, origin.URL)
	edgeA := newTestEdge(t, Config{Name: "edge-a"}, shield.srv.URL)
	edgeB := newTestEdge(t, Config{Name: "edge-b"}, shield.srv.URL)
	for _, e := range []*testEdge{edgeA, edgeB, edgeA, edgeB} {
		resp, b := get(t, e.srv.URL+"/vod/x/1.m4s")
		if sum(b) != sum(body) {
			t.Fatal("wrong body")
		}
		cs := resp.Header.Get("Cache-Status")
		if !strings.HasPrefix(cs, "shield; ") || !strings.Contains(cs, ", edge-") {
			t.Errorf("Cache-Status %q lacks both caches", cs)
		}
		if via := resp.Header.Get("Via"); !strings.HasPrefix(via, "1.1 shield, 1.1 edge-") {
			t.Errorf("Via %q", via)
		}
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests behind a shield with two edges = %d, want 1", n)
	}
}

func TestCacheKeyIgnoresUnlistedQuery(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "q=%s", r.URL.RawQuery)
	})
	te := newTestEdge(t, Config{KeyQuery: []string{"v"}}, origin.URL)
	for _, q := range []string{"", "?token=abc", "?CMCD=br%3D3200%2Cbl%3D2100", "?Signature=x&Expires=1&Key-Pair-Id=k", "?utm=1&token=2"} {
		_, b := get(t, te.srv.URL+"/a.m4s"+q)
		if string(b) != "q=" {
			t.Errorf("%q: origin saw query %q, want none forwarded", q, b)
		}
	}
	_, b := get(t, te.srv.URL+"/a.m4s?token=1&v=2")
	_, b2 := get(t, te.srv.URL+"/a.m4s?v=2&x=9")
	if string(b) != "q=v=2" || string(b2) != "q=v=2" {
		t.Errorf("allow-listed v: %q, %q", b, b2)
	}
	if n := origin.count.Load(); n != 2 {
		t.Errorf("origin requests = %d, want 2 (one per value of v)", n)
	}
}

// A manifest that varies on Accept-Encoding is cached per encoding, and
// each viewer gets the one it can read.
func TestVaryAcceptEncoding(t *testing.T) {
	plain := bytes.Repeat([]byte("#EXTINF:2.000,\nseg.m4s\n"), 50)
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(plain)
			zw.Close()
			return
		}
		w.Write(plain)
	})
	te := newTestEdge(t, Config{}, origin.URL)
	for range 2 {
		resp, b := get(t, te.srv.URL+"/i.m3u8", "Accept-Encoding", "gzip, deflate, br")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("gzip viewer got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := io.ReadAll(zr); !bytes.Equal(got, plain) {
			t.Error("gzip body differs")
		}
		resp, b = get(t, te.srv.URL+"/i.m3u8", "Accept-Encoding", "identity")
		if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(b, plain) {
			t.Errorf("identity viewer got Content-Encoding %q", resp.Header.Get("Content-Encoding"))
		}
	}
	if n := origin.count.Load(); n != 2 {
		t.Errorf("origin requests = %d, want 2 (one per encoding)", n)
	}
}

func TestInvalidation(t *testing.T) {
	origin := newTestOrigin(t, staticHandler([]byte("x"), "max-age=600"))
	te := newTestEdge(t, Config{AdminToken: "tok"}, origin.URL)
	paths := []string{"/vod/abc/1.m4s", "/vod/abc/sub/2.m4s", "/vod/abd/1.m4s", "/vod/abc/index.m3u8"}
	for _, p := range paths {
		get(t, te.srv.URL+p)
	}
	post := func(token, body string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, te.srv.URL+"/api/v1/edge/invalidations", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	if resp, _ := post("", `{"paths":["/vod/abc/*"]}`); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if resp, _ := post("wrong", `{"paths":["/vod/abc/*"]}`); resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	if resp, out := post("tok", `{"paths":["/vod/*/x"]}`); resp.StatusCode != 400 {
		t.Errorf("star inside a path: %d %v", resp.StatusCode, out)
	}
	resp, out := post("tok", `{"paths":["/vod/abc/*"]}`)
	if resp.StatusCode != 201 || out["objects"] != float64(3) || out["status"] != "completed" {
		t.Fatalf("invalidation: %d %v", resp.StatusCode, out)
	}
	for _, p := range paths {
		get(t, te.srv.URL+p)
	}
	for p, want := range map[string]int64{"/vod/abc/1.m4s": 2, "/vod/abc/sub/2.m4s": 2, "/vod/abc/index.m3u8": 2, "/vod/abd/1.m4s": 1} {
		if n := origin.hits(p); n != want {
			t.Errorf("%s: origin requests %d, want %d", p, n, want)
		}
	}
	// An exact path removes only itself.
	resp, out = post("tok", `{"paths":["/vod/abd/1.m4s"]}`)
	if resp.StatusCode != 201 || out["objects"] != float64(1) {
		t.Errorf("exact invalidation: %v", out)
	}
	req, _ := http.NewRequest(http.MethodGet, te.srv.URL+"/api/v1/edge/invalidations", nil)
	req.Header.Set("Authorization", "Bearer tok")
	lresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Items []Invalidation }
	json.NewDecoder(lresp.Body).Decode(&list)
	lresp.Body.Close()
	if len(list.Items) != 2 || list.Items[0].Paths[0] != "/vod/abd/1.m4s" {
		t.Errorf("list: %+v", list.Items)
	}
}

// An invalidation during a fetch keeps the fetched (old) object out of the cache.
func TestInvalidationDuringFlight(t *testing.T) {
	release := make(chan struct{})
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		staticHandler([]byte("old"), "max-age=600")(w, r)
	})
	te := newTestEdge(t, Config{AdminToken: "tok"}, origin.URL)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := httptest.NewRecorder()
		te.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/vod/a/1.m4s", nil))
	}()
	waitFor(t, 5*time.Second, "the flight", func() bool { return origin.count.Load() == 1 })
	if _, err := te.Invalidate(context.Background(), []string{"/vod/a/*"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	if ent := te.lookup("/vod/a/1.m4s", ""); ent != nil {
		t.Error("an object fetched across an invalidation was stored")
	}
}

func TestAccessLogWithCMCD(t *testing.T) {
	origin := newTestOrigin(t, staticHandler(payload(1234, 1), "max-age=60"))
	te := newTestEdge(t, Config{}, origin.URL)
	get(t, te.srv.URL+`/vod/a/seg1.m4s?CMCD=bl%3D21300%2Cbr%3D3200%2Cbs%2Ccid%3D%22faec5fc2%22%2Cot%3Dv%2Csid%3D%226e2fb550%2C-x%22%2Csu%2Ctb%3D6000%2Cpr%3D1.08&token=zz`, "User-Agent", "hls.js test")
	get(t, te.srv.URL+"/vod/a/seg1.m4s", "CMCD-Request", "bl=100,mtp=25400", "CMCD-Session", `sid="s2",sf=h`, "Range", "bytes=0-9")
	lines := te.accessLines(t, 2)
	if len(lines) != 2 {
		t.Fatalf("%d access-log lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var first, second map[string]any
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("access-log line is not JSON: %v\n%s", err, line)
		}
		if rec["cache"] == "miss" {
			first = rec
		} else {
			second = rec
		}
	}
	want := map[string]any{"method": "GET", "path": "/vod/a/seg1.m4s", "status": float64(200), "bytes": float64(1234), "cache": "miss", "query": "token=zz", "user_agent": "hls.js test"}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("line 1 %s = %v, want %v", k, first[k], v)
		}
	}
	if _, ok := first["ttfb_ms"].(float64); !ok {
		t.Errorf("ttfb_ms missing: %v", first)
	}
	if first["origin"] != strings.TrimPrefix(origin.URL, "http://") {
		t.Errorf("origin = %v", first["origin"])
	}
	cmcd, _ := first["cmcd"].(map[string]any)
	for k, v := range map[string]any{"bl": float64(21300), "br": float64(3200), "bs": true, "cid": "faec5fc2", "ot": "v", "sid": "6e2fb550,-x", "su": true, "tb": float64(6000), "pr": 1.08} {
		if cmcd[k] != v {
			t.Errorf("cmcd %s = %#v, want %#v", k, cmcd[k], v)
		}
	}
	if second["cache"] != "hit" || second["tier"] != "memory" || second["range"] != "bytes=0-9" || second["status"] != float64(206) || second["bytes"] != float64(10) {
		t.Errorf("line 2: %v", second)
	}
	cmcd2, _ := second["cmcd"].(map[string]any)
	if cmcd2["bl"] != float64(100) || cmcd2["mtp"] != float64(25400) || cmcd2["sid"] != "s2" || cmcd2["sf"] != "h" {
		t.Errorf("cmcd from headers: %v", cmcd2)
	}
}

func TestOriginHeaderIsSent(t *testing.T) {
	var got atomic.Value
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("X-Osprey-Cdn-Identifier"))
		w.Write([]byte("ok"))
	})
	te := newTestEdge(t, Config{OriginHeader: http.Header{"X-Osprey-Cdn-Identifier": {"s3cret"}}}, origin.URL)
	get(t, te.srv.URL+"/a.m4s")
	if v, _ := got.Load().(string); v != "s3cret" {
		t.Errorf("origin saw CDN identifier %q", v)
	}
}

func TestBypass(t *testing.T) {
	var mu sync.Mutex
	var methods []string
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		methods = append(methods, r.Method)
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte(r.Method))
	})
	te := newTestEdge(t, Config{}, origin.URL)
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, te.srv.URL+"/api/x", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		get(t, te.srv.URL+"/private.m4s", "Authorization", "Bearer x")
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(methods, ",") != "POST,GET,POST,GET" {
		t.Errorf("origin saw %v; POSTs and credentialed GETs must all pass through", methods)
	}
}

// Memory and disk stay within their budgets while objects churn through.
func TestBudgetsUnderChurn(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write(payload(200<<10, byte(len(r.URL.Path))))
	})
	te := newTestEdge(t, Config{Cache: cache.Config{MemoryBytes: 2 << 20, DiskBytes: 4 << 20, Dir: t.TempDir()}}, origin.URL)
	for i := range 120 {
		resp, b := get(t, te.srv.URL+fmt.Sprintf("/vod/c/%d.m4s", i))
		if resp.StatusCode != 200 || len(b) != 200<<10 {
			t.Fatalf("object %d: %d, %d bytes", i, resp.StatusCode, len(b))
		}
		st := te.CacheStats()
		if st.MemoryBytes > st.MemoryLimit || st.DiskBytes > st.DiskLimit {
			t.Fatalf("after %d objects: memory %d/%d, disk %d/%d", i+1, st.MemoryBytes, st.MemoryLimit, st.DiskBytes, st.DiskLimit)
		}
	}
	st := te.CacheStats()
	if st.MemoryObjects == 0 || st.DiskObjects == 0 {
		t.Errorf("nothing cached: %+v", st)
	}
}

// The disk tier serves what memory evicted, and survives a restart.
func TestDiskTierAfterRestart(t *testing.T) {
	body := payload(300<<10, 11)
	origin := newTestOrigin(t, staticHandler(body, "max-age=600"))
	dir := t.TempDir()
	cfg := Config{Cache: cache.Config{MemoryBytes: 1 << 20, DiskBytes: 64 << 20, Dir: dir}}
	te := newTestEdge(t, cfg, origin.URL)
	get(t, te.srv.URL+"/vod/d/1.m4s")
	te.cache.Flush()
	te.srv.Close()
	te.Close()

	te2 := newTestEdge(t, cfg, origin.URL)
	resp, b := get(t, te2.srv.URL+"/vod/d/1.m4s")
	if sum(b) != sum(body) || !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") {
		t.Fatalf("after restart: Cache-Status %q", resp.Header.Get("Cache-Status"))
	}
	lines := te2.accessLines(t, 1)
	if !strings.Contains(lines[len(lines)-1], `"tier":"disk"`) {
		t.Errorf("expected a disk hit: %s", lines[len(lines)-1])
	}
	resp, b = get(t, te2.srv.URL+"/vod/d/1.m4s", "Range", "bytes=1000-1999")
	if resp.StatusCode != 206 || !bytes.Equal(b, body[1000:2000]) {
		t.Errorf("range from the disk tier: %d, %d bytes", resp.StatusCode, len(b))
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
}

func TestHandlerTransportStreams(t *testing.T) {
	step := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6")
		w.Write([]byte("abc"))
		<-step
		w.Write([]byte("def"))
	})
	req := httptest.NewRequest(http.MethodGet, "http://origin.local/x", nil)
	resp, err := HandlerTransport{Handler: h}.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != 6 {
		t.Errorf("ContentLength %d", resp.ContentLength)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "abc" {
		t.Fatalf("first bytes before the handler finished: %q %v", buf, err)
	}
	close(step)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "def" {
		t.Errorf("rest %q", rest)
	}
}

func TestAccessLogTime(t *testing.T) {
	a := &accessLog{}
	for _, tt := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 21, 20, 8, 5, 7_000_000, time.UTC), "2026-11-21T20:08:05.007Z"},
		{time.Date(2026, 11, 21, 20, 8, 5, 999_999_999, time.UTC), "2026-11-21T20:08:05.999Z"},
		{time.Date(2026, 11, 21, 20, 8, 6, 120_000_000, time.FixedZone("X", 3600)), "2026-11-21T19:08:06.120Z"},
	} {
		if got := string(a.appendTime(nil, tt.t)); got != tt.want {
			t.Errorf("appendTime(%v) = %s, want %s", tt.t, got, tt.want)
		}
	}
}

// When the disk tier cannot write (full disk, broken folder), viewers are
// still served, from memory or the origin, and the edge logs why.
func TestDiskWriteFailureKeepsServing(t *testing.T) {
	body := payload(300<<10, 12)
	origin := newTestOrigin(t, staticHandler(body, "max-age=600"))
	dir := t.TempDir()
	var logBuf lockedBuffer
	te := newTestEdge(t, Config{
		Cache: cache.Config{MemoryBytes: 1 << 20, DiskBytes: 64 << 20, Dir: dir},
		Log:   slog.New(slog.NewTextHandler(&logBuf, nil)),
	}, origin.URL)
	// Every write of the disk tier now fails (its scratch folder is a file).
	if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp"), []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		resp, b := get(t, te.srv.URL+"/vod/big/1.m4s")
		if resp.StatusCode != 200 || sum(b) != sum(body) {
			t.Fatalf("with the disk tier failing: %d, %d bytes", resp.StatusCode, len(b))
		}
		te.cache.Flush()
	}
	if st := te.CacheStats(); st.DiskObjects != 0 {
		t.Errorf("disk objects = %d after failed writes", st.DiskObjects)
	}
	logBuf.mu.Lock()
	logged := logBuf.buf.String()
	logBuf.mu.Unlock()
	if !strings.Contains(logged, "disk cache write failed") {
		t.Errorf("no warning about the failed writes in the log:\n%s", logged)
	}
}
