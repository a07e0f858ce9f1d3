package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// answer is one viewer's response.
type answer struct {
	status      int
	body        []byte
	cacheStatus string
	err         error
}

// fetchAnswer GETs url over the viewers' transport.
func fetchAnswer(ctx context.Context, url string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return answer{err: err}
	}
	resp, err := viewerTransport.RoundTrip(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, body: body, cacheStatus: resp.Header.Get("Cache-Status"), err: err}
}

// viewers starts one GET per url at once and returns a function that
// waits for their answers.
func viewers(t *testing.T, urls []string) func() []answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	out := make([]answer, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = fetchAnswer(ctx, u)
		}()
	}
	return func() []answer {
		wg.Wait()
		cancel()
		return out
	}
}

// The directives are always part of the key, in one order, whatever the
// configured list; the rest of the query is dropped.
func TestCacheKeyKeepsHLSDirectives(t *testing.T) {
	te := newTestEdge(t, Config{KeyQuery: []string{"player"}}, "http://127.0.0.1:1")
	const p = "/live/ch/720p/index.m3u8"
	for _, c := range []struct{ query, key string }{
		{"_HLS_msn=5&_HLS_part=2", p + "?_HLS_msn=5&_HLS_part=2"},
		{"_HLS_part=2&_HLS_msn=5", p + "?_HLS_msn=5&_HLS_part=2"},
		{"token=x&_HLS_part=2&CMCD=bl%3D300&_HLS_msn=5", p + "?_HLS_msn=5&_HLS_part=2"},
		{"_HLS_skip=YES&_HLS_msn=5", p + "?_HLS_msn=5&_HLS_skip=YES"},
		{"_HLS_msn=5&_HLS_skip=v2&_HLS_part=0", p + "?_HLS_msn=5&_HLS_part=0&_HLS_skip=v2"},
		{"_HLS_msn=5", p + "?_HLS_msn=5"},
		// Malformed values are kept (the origin answers 400), never dropped.
		{"_HLS_msn=abc", p + "?_HLS_msn=abc"},
		{"_HLS_msn=%zz", p + "?_HLS_msn=%25zz"},
		{"_HLS_msn", p + "?_HLS_msn="},
		{"_hls_msn=5", p}, // names are case-sensitive
		{"", p},
	} {
		r := httptest.NewRequest(http.MethodGet, p, nil)
		r.URL.RawQuery = c.query
		key, fwd := te.cacheKey(r)
		if key != c.key {
			t.Errorf("%q: key %q, want %q", c.query, key, c.key)
		}
		if want, _ := strings.CutPrefix(strings.TrimPrefix(c.key, p), "?"); fwd != want {
			t.Errorf("%q: forwarded %q, want %q", c.query, fwd, want)
		}
	}
}

// The test the issue asks for: 200 viewers blocking on the same next part
// make one origin request, and all of them get its answer; a later
// identical request (in another order) is a hit.
func TestBlockingReloadTwoHundredViewersOneOriginRequest(t *testing.T) {
	o := newLLOrigin(t, 5, 1)
	te := newTestEdge(t, Config{}, o.URL)
	const n = 200
	urls := make([]string, n)
	for i := range urls {
		switch i % 3 {
		case 0:
			urls[i] = te.srv.URL + llPlaylistPath + "?_HLS_msn=5&_HLS_part=2"
		case 1:
			urls[i] = te.srv.URL + llPlaylistPath + "?_HLS_part=2&_HLS_msn=5"
		default: // what else players and tokens add does not split the key
			urls[i] = te.srv.URL + llPlaylistPath + fmt.Sprintf("?CMCD=sid%%3D%d&_HLS_part=2&token=t%d&_HLS_msn=5", i, i)
		}
	}
	wait := viewers(t, urls)
	const key = llPlaylistPath + "?_HLS_msn=5&_HLS_part=2"
	waitFor(t, 20*time.Second, "199 viewers on the flight and the origin holding it", func() bool {
		held, _ := o.heldNow("_HLS_msn=5&_HLS_part=2")
		return te.joined(key) == n-1 && held == 1
	})
	o.produce(5, 2)
	got := wait()

	want := llPlaylist(5, 2, o.partsPerSeg, false)
	for i, a := range got {
		if a.err != nil || a.status != http.StatusOK || !bytes.Equal(a.body, want) {
			t.Fatalf("viewer %d: %v, status %d, body %q", i, a.err, a.status, a.body)
		}
	}
	if q := o.seen(); len(q) != 1 || q[0] != "_HLS_msn=5&_HLS_part=2" {
		t.Fatalf("origin playlist requests %q, want one with _HLS_msn=5&_HLS_part=2", q)
	}

	// Later viewers, in either order, hit the cache.
	for _, q := range []string{"?_HLS_part=2&_HLS_msn=5", "?_HLS_msn=5&_HLS_part=2"} {
		a := fetchAnswer(context.Background(), te.srv.URL+llPlaylistPath+q)
		if a.status != http.StatusOK || !bytes.Equal(a.body, want) || !strings.Contains(a.cacheStatus, "; hit") {
			t.Errorf("later %s: status %d, Cache-Status %q", q, a.status, a.cacheStatus)
		}
	}
	if q := o.seen(); len(q) != 1 {
		t.Errorf("origin playlist requests after the hits: %q", q)
	}
	// The metric: one origin request for 202 viewer requests.
	waitFor(t, 5*time.Second, "202 blocking reloads counted", func() bool { return te.blockingReloads() == n+2 })
	if got := counterValue(te.metrics.blockingOrigin); got != 1 {
		t.Errorf("osprey_edge_blocking_origin_requests_total = %v, want 1", got)
	}
}

// Viewers waiting for different parts (or asking for a delta update) make
// one origin request each, and each group gets its own answer.
func TestBlockingReloadDifferentPartsAreSeparate(t *testing.T) {
	o := newLLOrigin(t, 10, 1)
	te := newTestEdge(t, Config{}, o.URL)
	groups := []struct {
		query     string
		msn, part int
		skip      bool
	}{
		{"_HLS_msn=10&_HLS_part=2", 10, 2, false},
		{"_HLS_msn=10&_HLS_part=3", 10, 3, false},
		{"_HLS_msn=11&_HLS_part=0", 11, 0, false},
		{"_HLS_msn=11&_HLS_part=0&_HLS_skip=YES", 11, 0, true},
	}
	const each = 10
	var urls []string
	for _, g := range groups {
		for range each {
			urls = append(urls, te.srv.URL+llPlaylistPath+"?"+g.query)
		}
	}
	wait := viewers(t, urls)
	waitFor(t, 10*time.Second, "every group on its flight", func() bool {
		for _, g := range groups {
			if held, _ := o.heldNow(g.query); held != 1 || te.joined(llPlaylistPath+"?"+g.query) != each-1 {
				return false
			}
		}
		return true
	})
	// Parts one at a time: each group is answered once its part exists.
	o.produce(10, 2)
	o.produce(10, 3)
	o.produce(10, 4)
	o.produce(11, 0)
	got := wait()
	// A group's answer is the playlist as it was when the origin answered
	// (perhaps already a part further): the same for all its viewers, and
	// it lists the part waited for.
	for gi, g := range groups {
		first := got[gi*each]
		for i := range each {
			a := got[gi*each+i]
			if a.err != nil || a.status != http.StatusOK || !bytes.Equal(a.body, first.body) {
				t.Fatalf("%s viewer %d: %v, status %d", g.query, i, a.err, a.status)
			}
		}
		if m, k := lastPart(first.body); m < g.msn || (m == g.msn && k < g.part) {
			t.Errorf("%s: the answer ends at part %d.%d, before %d.%d", g.query, m, k, g.msn, g.part)
		}
		if has := strings.Contains(string(first.body), "#EXT-X-SKIP"); has != g.skip {
			t.Errorf("%s: EXT-X-SKIP present = %v", g.query, has)
		}
	}
	seen := o.seen()
	if len(seen) != len(groups) {
		t.Fatalf("origin playlist requests %q, want %d (one per group)", seen, len(groups))
	}
	for _, g := range groups {
		if !slices.Contains(seen, g.query) {
			t.Errorf("no origin request with %q among %q", g.query, seen)
		}
	}
}

// A preload-hinted part requested before it exists: the origin answers at
// once and writes the part while it is produced; every waiting viewer gets
// the first chunk before the origin has finished, and the whole part is
// then cached like any immutable object.
func TestPreloadHintedPartStreamsToEveryViewer(t *testing.T) {
	const path = "/live/ch/720p/6.1.m4s"
	chunks := [][]byte{payload(1500, 1), payload(900, 2), payload(1200, 3)}
	release := make([]chan struct{}, len(chunks))
	for i := range release {
		release[i] = make(chan struct{})
	}
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "video/iso.segment")
		w.Header().Set("Cache-Control", "public, max-age=3600, immutable")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for i, c := range chunks {
			select {
			case <-release[i]: // the part's next chunk is produced
			case <-r.Context().Done():
				return
			}
			w.Write(c)
			w.(http.Flusher).Flush()
		}
	})
	te := newTestEdge(t, Config{}, origin.URL)

	const n = 20
	type stream struct {
		resp *http.Response
		err  error
	}
	opened := make(chan stream, n)
	for range n {
		go func() {
			resp, err := viewerTransport.RoundTrip(mustRequest(t, te.srv.URL+path))
			opened <- stream{resp, err}
		}()
	}
	// The origin sent its headers at once: every viewer has them before
	// any byte of the part exists.
	bodies := make([]io.ReadCloser, 0, n)
	for range n {
		s := <-opened
		if s.err != nil {
			t.Fatal(s.err)
		}
		defer s.resp.Body.Close()
		if s.resp.StatusCode != http.StatusOK || s.resp.ContentLength != -1 {
			t.Fatalf("status %d, Content-Length %d", s.resp.StatusCode, s.resp.ContentLength)
		}
		bodies = append(bodies, s.resp.Body)
	}
	// Each chunk reaches every viewer before the next one is produced.
	var whole []byte
	for i, c := range chunks {
		close(release[i])
		for v, b := range bodies {
			got := make([]byte, len(c))
			if _, err := io.ReadFull(b, got); err != nil || !bytes.Equal(got, c) {
				t.Fatalf("viewer %d, chunk %d: %v", v, i, err)
			}
		}
		whole = append(whole, c...)
	}
	for v, b := range bodies {
		if rest, err := io.ReadAll(b); err != nil || len(rest) != 0 {
			t.Fatalf("viewer %d: %d bytes after the part, %v", v, len(rest), err)
		}
	}
	if got := origin.hits(path); got != 1 {
		t.Fatalf("origin requests for the part = %d, want 1", got)
	}
	// Stored once complete: a hit, with its length now known.
	resp, body := get(t, te.srv.URL+path)
	if !bytes.Equal(body, whole) || resp.ContentLength != int64(len(whole)) || !strings.Contains(resp.Header.Get("Cache-Status"), "; hit") {
		t.Errorf("after the part: Content-Length %d, Cache-Status %q, same body %v", resp.ContentLength, resp.Header.Get("Cache-Status"), bytes.Equal(body, whole))
	}
	if got := origin.hits(path); got != 1 {
		t.Errorf("origin requests after the hit = %d, want 1", got)
	}
}

// latencySamples counts osprey_edge_origin_response_seconds{origin} samples.
func latencySamples(te *testEdge, origin string) uint64 {
	var m dto.Metric
	_ = te.metrics.originLatency.WithLabelValues(origin).(prometheus.Metric).Write(&m)
	return m.GetHistogram().GetSampleCount()
}

// lastPart returns the last EXT-X-PART of a playlist (-1, -1: none).
func lastPart(playlist []byte) (msn, part int) {
	msn, part = -1, -1
	for line := range strings.Lines(string(playlist)) {
		if rest, ok := strings.CutPrefix(line, "#EXT-X-PART:"); ok {
			_, uri, _ := strings.Cut(rest, "URI=")
			fmt.Sscanf(strings.Trim(strings.TrimSpace(uri), `"`), "%d.%d.m4s", &msn, &part)
		}
	}
	return msn, part
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// An origin that held a blocking reload and then gave up (503) is
// answering, not failing: its 503 goes to every viewer waiting, the request
// is not tried on the backup, the origin is not marked down, and nothing is
// stored (even with a lifetime), so the viewers' retry reaches the origin.
func TestBlockingReload503AfterHoldIsPassedOnNotCached(t *testing.T) {
	o := newLLOrigin(t, 5, 1)
	o.errorCC = "public, max-age=60" // even a lifetime does not make a 503 stored
	backup := newTestOrigin(t, staticHandler([]byte("backup"), "max-age=60"))
	te := newTestEdge(t, Config{OriginTimeout: 100 * time.Millisecond, OriginRetryAfter: time.Minute}, o.URL, backup.URL)

	url := te.srv.URL + llPlaylistPath + "?_HLS_msn=5&_HLS_part=2"
	const n = 10
	urls := make([]string, n)
	for i := range urls {
		urls[i] = url
	}
	wait := viewers(t, urls)
	waitFor(t, 10*time.Second, "the viewers on one held request, past origin_timeout", func() bool {
		held, since := o.heldNow("_HLS_msn=5&_HLS_part=2")
		return held == 1 && te.joined(llPlaylistPath+"?_HLS_msn=5&_HLS_part=2") == n-1 && time.Since(since) > 200*time.Millisecond
	})
	o.expire()
	for i, a := range wait() {
		if a.err != nil || a.status != http.StatusServiceUnavailable {
			t.Fatalf("viewer %d: %v, status %d, want 503", i, a.err, a.status)
		}
	}
	if got := backup.count.Load(); got != 0 {
		t.Errorf("backup origin requests = %d, want 0 (a held request is not failed over)", got)
	}
	if !te.origins[0].up(time.Now()) {
		t.Error("the primary was marked down for holding a request")
	}
	te.waitIdle(t)

	// The viewers retry; the part exists now.
	o.produce(5, 2)
	a := fetchAnswer(context.Background(), url)
	if a.status != http.StatusOK || !bytes.Equal(a.body, llPlaylist(5, 2, o.partsPerSeg, false)) {
		t.Fatalf("retry: status %d, body %q", a.status, a.body)
	}
	if got := len(o.seen()); got != 2 {
		t.Errorf("origin playlist requests = %d, want 2 (the 503 was not stored)", got)
	}
}

// A 503 that comes at once is an origin in trouble, not a hold that ran
// out: the request moves to the next origin, as any other would.
func TestBlockingReloadQuick5xxFailsOver(t *testing.T) {
	primary := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	o := newLLOrigin(t, 5, 2)
	te := newTestEdge(t, Config{OriginTimeout: 2 * time.Second}, primary.URL, o.URL)
	a := fetchAnswer(context.Background(), te.srv.URL+llPlaylistPath+"?_HLS_msn=5&_HLS_part=2")
	if a.status != http.StatusOK || !bytes.Equal(a.body, llPlaylist(5, 2, o.partsPerSeg, false)) {
		t.Fatalf("status %d, body %q", a.status, a.body)
	}
	if primary.count.Load() != 1 || len(o.seen()) != 1 {
		t.Errorf("primary %d, backup %d requests, want 1 and 1", primary.count.Load(), len(o.seen()))
	}
}

// The origin may hold a blocking reload far longer than origin_timeout:
// the edge waits (no failover, the origin stays up) up to HoldTimeout, and
// past it answers 504 without trying the next origin.
func TestBlockingReloadHeldPastOriginTimeout(t *testing.T) {
	t.Run("answered within the hold timeout", func(t *testing.T) {
		o := newLLOrigin(t, 5, 1)
		backup := newTestOrigin(t, staticHandler([]byte("backup"), "max-age=60"))
		te := newTestEdge(t, Config{OriginTimeout: 100 * time.Millisecond, HoldTimeout: 5 * time.Second}, o.URL, backup.URL)
		wait := viewers(t, []string{te.srv.URL + llPlaylistPath + "?_HLS_msn=5&_HLS_part=2"})
		waitFor(t, 5*time.Second, "the request held past origin_timeout", func() bool {
			held, since := o.heldNow("_HLS_msn=5&_HLS_part=2")
			return held == 1 && time.Since(since) > 300*time.Millisecond
		})
		o.produce(5, 2)
		a := wait()[0]
		if a.status != http.StatusOK || !bytes.Equal(a.body, llPlaylist(5, 2, o.partsPerSeg, false)) {
			t.Fatalf("status %d, body %q", a.status, a.body)
		}
		if backup.count.Load() != 0 || !te.origins[0].up(time.Now()) {
			t.Errorf("backup requests %d, primary up %v: a held request was taken for a slow origin", backup.count.Load(), te.origins[0].up(time.Now()))
		}
		// Its time is the hold, not the origin's latency.
		if n := latencySamples(te, te.origins[0].name); n != 0 {
			t.Errorf("origin latency samples after a held request = %d, want 0", n)
		}
		fetchAnswer(context.Background(), te.srv.URL+llPlaylistPath)
		if n := latencySamples(te, te.origins[0].name); n != 1 {
			t.Errorf("origin latency samples after a plain reload = %d, want 1", n)
		}
	})
	t.Run("held past the hold timeout", func(t *testing.T) {
		o := newLLOrigin(t, 5, 1)
		o.hold = time.Minute
		backup := newTestOrigin(t, staticHandler([]byte("backup"), "max-age=60"))
		te := newTestEdge(t, Config{OriginTimeout: 100 * time.Millisecond, HoldTimeout: 400 * time.Millisecond}, o.URL, backup.URL)
		start := time.Now()
		a := fetchAnswer(context.Background(), te.srv.URL+llPlaylistPath+"?_HLS_msn=5&_HLS_part=2")
		took := time.Since(start)
		if a.status != http.StatusGatewayTimeout {
			t.Fatalf("status %d, want 504", a.status)
		}
		if took < 400*time.Millisecond || took > 3*time.Second {
			t.Errorf("answered after %s, want about the 400ms hold timeout", took)
		}
		if backup.count.Load() != 0 || !te.origins[0].up(time.Now()) {
			t.Errorf("backup requests %d, primary up %v", backup.count.Load(), te.origins[0].up(time.Now()))
		}
		// A plain reload still goes to the primary.
		a = fetchAnswer(context.Background(), te.srv.URL+llPlaylistPath)
		if a.status != http.StatusOK || backup.count.Load() != 0 {
			t.Errorf("plain reload: status %d, backup requests %d", a.status, backup.count.Load())
		}
	})
}

// Malformed or too-far-ahead directives reach the origin as they were
// sent, its 400 reaches the viewer, and it is not stored: the same request
// again goes to the origin again.
func TestMalformedDirectivesPassThroughTo400(t *testing.T) {
	o := newLLOrigin(t, 5, 1)
	o.errorCC = "public, max-age=60" // even a lifetime does not make a 400 stored
	te := newTestEdge(t, Config{}, o.URL)
	for _, c := range []struct{ query, forwarded string }{
		{"_HLS_msn=abc", "_HLS_msn=abc"},
		{"_HLS_msn=-1&_HLS_part=0", "_HLS_msn=-1&_HLS_part=0"},
		{"_HLS_part=2", "_HLS_part=2"},
		{"_HLS_msn=%zz", "_HLS_msn=%25zz"},
		{"_HLS_msn=", "_HLS_msn="},
		{"_HLS_msn=5&_HLS_skip=maybe", "_HLS_msn=5&_HLS_skip=maybe"},
		{"_HLS_msn=5&_HLS_part=9", "_HLS_msn=5&_HLS_part=9"},
		{"_HLS_msn=5&_HLS_msn=6", "_HLS_msn=5&_HLS_msn=6"},
		{"_HLS_msn=8", "_HLS_msn=8"}, // more than two segments ahead
	} {
		before := len(o.seen())
		for i := range 2 {
			req, err := http.NewRequest(http.MethodGet, te.srv.URL+llPlaylistPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.RawQuery = c.query // as sent, unparsed
			resp, err := viewerTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%q (try %d): status %d, want 400", c.query, i+1, resp.StatusCode)
			}
		}
		seen := o.seen()[before:]
		if len(seen) != 2 || seen[0] != c.forwarded || seen[1] != c.forwarded {
			t.Errorf("%q: origin saw %q, want %q twice (passed through, not stored)", c.query, seen, c.forwarded)
		}
	}
}
