package edge

import (
	"bytes"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"testing"
	"time"
)

// chunkedOrigin serves size bytes of a repeated pattern with no
// Content-Length (chunked), once gate is closed; a request with a Range
// header is answered from a seekable copy instead (206).
func chunkedOrigin(t *testing.T, size int, gate <-chan struct{}) (*testOrigin, [32]byte) {
	block := payload(64<<10, 5)
	h := sha256.New()
	for sent := 0; sent < size; sent += len(block) {
		h.Write(block[:min(len(block), size-sent)])
	}
	var want [32]byte
	copy(want[:], h.Sum(nil))
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "video/mp4")
		if r.Header.Get("Range") != "" {
			full := bytes.Repeat(block, size/len(block)+1)[:size]
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(full))
			return
		}
		<-gate
		for sent := 0; sent < size; sent += len(block) {
			if _, err := w.Write(block[:min(len(block), size-sent)]); err != nil {
				return
			}
		}
	})
	return o, want
}

// streamSum fetches url and hashes the body as it arrives (the test must
// not hold the bodies itself), returning the status, length and hash.
func streamSum(url string, header ...string) (int, int64, [32]byte, error) {
	var sum [32]byte
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, sum, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := viewerTransport.RoundTrip(req)
	if err != nil {
		return 0, 0, sum, err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	copy(sum[:], h.Sum(nil))
	return resp.StatusCode, n, sum, err
}

// Issue 9, defect 4: a 32 MiB body without Content-Length, at a 1 MiB
// object limit, watched by several viewers collapsed on one origin
// request. Every viewer gets the whole body, and the edge never holds it:
// what it allocates meanwhile stays far below the body's size (buffering it
// whole costs about twice the body in a growing buffer).
func TestUnknownLengthBodyPastTheLimitStreamsInABoundedWindow(t *testing.T) {
	const size, viewers = 32 << 20, 4
	gate := make(chan struct{})
	var open sync.Once
	origin, want := chunkedOrigin(t, size, gate)
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	te := newTestEdge(t, Config{MaxObjectSize: 1 << 20}, origin.URL)

	type result struct {
		status int
		n      int64
		sum    [32]byte
		err    error
	}
	results := make([]result, viewers)
	var wg sync.WaitGroup
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r result
			r.status, r.n, r.sum, r.err = streamSum(te.srv.URL + "/big.mp4")
			results[i] = r
		}()
	}
	waitFor(t, 10*time.Second, "the viewers to join one flight", func() bool { return te.joined("/big.mp4") == viewers-1 })

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	open.Do(func() { close(gate) })
	wg.Wait()
	runtime.ReadMemStats(&after)

	for i, r := range results {
		if r.err != nil || r.status != 200 || r.n != size || r.sum != want {
			t.Errorf("viewer %d: status %d, %d of %d bytes, err %v, same body %v", i, r.status, r.n, size, r.err, r.sum == want)
		}
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1 (every viewer on the one flight)", n)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %.1f MiB while streaming %d MiB to %d viewers", float64(allocated)/(1<<20), size>>20, viewers)
	if allocated > size/4 {
		t.Errorf("the edge allocated %.1f MiB streaming a %d MiB body at a 1 MiB limit: it is buffering the body",
			float64(allocated)/(1<<20), size>>20)
	}
	te.waitIdle(t)
	if st := te.CacheStats(); st.MemoryObjects != 0 {
		t.Errorf("a body past the limit was stored: %+v", st)
	}
}

// A ranged request that joined such a flight cannot be answered from it
// (the flight keeps only a window): it gets its own origin request.
func TestRangeOnAWindowedFlightFetchesItself(t *testing.T) {
	const size = 4 << 20
	gate := make(chan struct{})
	var open sync.Once
	origin, want := chunkedOrigin(t, size, gate)
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	te := newTestEdge(t, Config{MaxObjectSize: 1 << 20}, origin.URL)

	type result struct {
		status int
		n      int64
		sum    [32]byte
		err    error
	}
	whole, ranged := make(chan result, 1), make(chan result, 1)
	go func() {
		var r result
		// identity, as ranged requests ask the origin for (see acceptEncoding)
		r.status, r.n, r.sum, r.err = streamSum(te.srv.URL+"/big.mp4", "Accept-Encoding", "identity")
		whole <- r
	}()
	waitFor(t, 10*time.Second, "the first viewer's flight", func() bool {
		te.flightsMu.Lock()
		defer te.flightsMu.Unlock()
		return len(te.flights) == 1
	})
	go func() {
		var r result
		r.status, r.n, r.sum, r.err = streamSum(te.srv.URL+"/big.mp4", "Range", "bytes=100-199")
		ranged <- r
	}()
	waitFor(t, 10*time.Second, "the ranged viewer to join", func() bool { return te.joined("/big.mp4") == 1 })
	open.Do(func() { close(gate) })
	w, rg := <-whole, <-ranged
	if w.err != nil || w.status != 200 || w.n != size || w.sum != want {
		t.Errorf("whole body: %+v", w)
	}
	part := payload(64<<10, 5)[100:200]
	if rg.err != nil || rg.status != 206 || rg.sum != sha256.Sum256(part) {
		t.Errorf("range: status %d, %d bytes, err %v", rg.status, rg.n, rg.err)
	}
}

// When the last viewer of a windowed flight leaves, the origin request is
// dropped instead of being read to its end for nobody.
func TestWindowedFlightStopsWhenItsViewersLeave(t *testing.T) {
	stopped := make(chan struct{})
	block := payload(64<<10, 6)
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(stopped)
		w.Header().Set("Content-Type", "video/mp4")
		for range 1 << 14 { // 1 GiB at most
			if _, err := w.Write(block); err != nil {
				return
			}
		}
	})
	te := newTestEdge(t, Config{MaxObjectSize: 1 << 20}, origin.URL)
	req, _ := http.NewRequest(http.MethodGet, te.srv.URL+"/endless.mp4", nil)
	resp, err := viewerTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.CopyN(io.Discard, resp.Body, 3<<20); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	resp.Body.Close()
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("the origin is still being read after the only viewer left")
	}
	te.waitIdle(t)
}

// A viewer that stops reading cannot hold a windowed flight, and the other
// viewers on it, for ever: once a write to it has been blocked for the
// stall limit (10 s), it is cut off and the others go on.
func TestStalledViewerIsCutFromAWindowedFlight(t *testing.T) {
	const size = 32 << 20
	gate := make(chan struct{})
	var open sync.Once
	origin, want := chunkedOrigin(t, size, gate)
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	// OriginTimeout 500 ms: the stall limit is its floor, 10 s.
	te := newTestEdge(t, Config{MaxObjectSize: 1 << 20, OriginTimeout: 500 * time.Millisecond}, origin.URL)

	// The stalled viewer: sends its request, never reads the answer.
	u, _ := url.Parse(te.srv.URL)
	stalled, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stalled.Close() })
	if tc, ok := stalled.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	io.WriteString(stalled, "GET /big.mp4 HTTP/1.1\r\nHost: "+u.Host+"\r\n\r\n")
	waitFor(t, 10*time.Second, "the stalled viewer's flight", func() bool {
		te.flightsMu.Lock()
		defer te.flightsMu.Unlock()
		return len(te.flights) == 1
	})

	type result struct {
		status int
		n      int64
		sum    [32]byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.status, r.n, r.sum, r.err = streamSum(te.srv.URL+"/big.mp4", "Accept-Encoding", "identity")
		done <- r
	}()
	waitFor(t, 10*time.Second, "the reading viewer to join", func() bool { return te.joined("/big.mp4") == 1 })
	open.Do(func() { close(gate) })
	start := time.Now()
	select {
	case r := <-done:
		t.Logf("the reading viewer finished %v after the origin started", time.Since(start).Round(time.Millisecond))
		if r.err != nil || r.status != 200 || r.n != size || r.sum != want {
			t.Fatalf("the reading viewer: status %d, %d of %d bytes, err %v", r.status, r.n, size, r.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the reading viewer is held by the stalled one")
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
}
