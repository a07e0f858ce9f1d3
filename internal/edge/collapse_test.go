package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// 1,000 concurrent misses for one object make exactly one origin request,
// and every viewer receives the same, complete body.
func TestThousandConcurrentMissesOneOriginRequest(t *testing.T) {
	body := payload(64<<10, 1)
	release := make(chan struct{})
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
		staticHandler(body, "public, max-age=60")(w, r)
	})
	te := newTestEdge(t, Config{}, origin.URL)

	// The viewers call the handler in-process (the end-to-end suite does
	// the same with 1,000 real connections to the binary).
	const viewers = 1000
	var wg sync.WaitGroup
	sums := make([][32]byte, viewers)
	codes := make([]int, viewers)
	statuses := make([]string, viewers)
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := httptest.NewRecorder()
			te.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/vod/a/seg1.m4s", nil))
			codes[i] = w.Code
			sums[i] = sum(w.Body.Bytes())
			statuses[i] = w.Header().Get("Cache-Status")
		}()
	}
	// Every viewer is waiting on the one flight before the origin answers.
	waitFor(t, 30*time.Second, "999 viewers to join the flight", func() bool {
		return te.joined("/vod/a/seg1.m4s") == viewers-1
	})
	close(release)
	wg.Wait()

	if n := origin.count.Load(); n != 1 {
		t.Fatalf("origin requests = %d, want 1", n)
	}
	want := sum(body)
	collapsed := 0
	for i := range viewers {
		if codes[i] != http.StatusOK {
			t.Fatalf("viewer %d: status %d", i, codes[i])
		}
		if sums[i] != want {
			t.Fatalf("viewer %d got a different body", i)
		}
		if strings.Contains(statuses[i], "collapsed") {
			collapsed++
		}
	}
	if collapsed != viewers-1 {
		t.Errorf("%d responses say collapsed, want %d", collapsed, viewers-1)
	}
	// And the object is now a hit.
	resp, b := get(t, te.srv.URL+"/vod/a/seg1.m4s")
	if !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") || sum(b) != want {
		t.Errorf("after the storm: Cache-Status %q", resp.Header.Get("Cache-Status"))
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests after a hit = %d, want 1", n)
	}
}

// Waiting viewers receive the body as it streams in: the first half reaches
// a viewer before the origin has sent the second, and a viewer who joins
// mid-transfer still gets the whole body.
func TestViewersStreamWhileTheOriginSends(t *testing.T) {
	half := 256 << 10
	body := payload(2*half, 2)
	second := make(chan struct{})
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "524288")
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Write(body[:half])
		w.(http.Flusher).Flush()
		<-second
		w.Write(body[half:])
	})
	te := newTestEdge(t, Config{}, origin.URL)

	resp, err := http.Get(te.srv.URL + "/live/x/seg7.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length = %d, want %d", resp.ContentLength, len(body))
	}
	first := make([]byte, half)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("reading the first half before the origin sent the rest: %v", err)
	}
	if sum(first) != sum(body[:half]) {
		t.Fatal("first half differs")
	}

	// A second viewer joins now, mid-transfer.
	type result struct {
		body   []byte
		status string
		err    error
	}
	joined := make(chan result, 1)
	go func() {
		resp, err := http.Get(te.srv.URL + "/live/x/seg7.m4s")
		if err != nil {
			joined <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		joined <- result{b, resp.Header.Get("Cache-Status"), err}
	}()
	waitFor(t, 5*time.Second, "the second viewer to join", func() bool { return te.joined("/live/x/seg7.m4s") == 1 })
	close(second)

	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if sum(append(first, rest...)) != sum(body) {
		t.Error("first viewer's body differs")
	}
	r := <-joined
	if r.err != nil {
		t.Fatal(r.err)
	}
	if sum(r.body) != sum(body) {
		t.Errorf("viewer who joined mid-transfer got %d bytes, want the whole %d", len(r.body), len(body))
	}
	if !strings.Contains(r.status, "collapsed") {
		t.Errorf("joined viewer's Cache-Status = %q, want collapsed", r.status)
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
}

// An origin that dies mid-body gives the viewers a broken response (not a
// short "complete" one), and nothing is cached.
func TestOriginDyingMidBodyIsNotCached(t *testing.T) {
	body := payload(100000, 3)
	fail := true
	var mu sync.Mutex
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := fail
		mu.Unlock()
		w.Header().Set("Content-Length", "100000")
		w.Header().Set("Cache-Control", "public, max-age=60")
		if f {
			w.Write(body[:40000])
			panic(http.ErrAbortHandler)
		}
		w.Write(body)
	})
	te := newTestEdge(t, Config{}, origin.URL)
	resp, err := http.Get(te.srv.URL + "/vod/a/broken.m4s")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatal("a truncated origin body reached the viewer as a complete response")
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	resp2, b := get(t, te.srv.URL+"/vod/a/broken.m4s")
	if resp2.StatusCode != 200 || sum(b) != sum(body) {
		t.Fatalf("after the origin recovered: %d, %d bytes", resp2.StatusCode, len(b))
	}
	if n := origin.hits("/vod/a/broken.m4s"); n != 2 {
		t.Errorf("origin requests = %d, want 2 (the broken body was not cached)", n)
	}
}
