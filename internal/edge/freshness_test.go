package edge

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	e := &Edge{cfg: Config{NegativeTTL: 2 * time.Second, StaleIfError: time.Hour, StaleWhileRevalidate: 0}, ttl: append([]TTLRule{{"/live/*", 3 * time.Second}}, DefaultTTLRules()...)}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	tests := []struct {
		name   string
		path   string
		status int
		header http.Header
		store  bool
		fresh  time.Duration
		swr    time.Duration
		sie    time.Duration
	}{
		{"max-age", "/vod/a/x.m4s", 200, http.Header{"Cache-Control": {"public, max-age=60"}}, true, time.Minute, 0, time.Hour},
		{"s-maxage wins", "/a.m4s", 200, http.Header{"Cache-Control": {"max-age=60, s-maxage=5"}}, true, 5 * time.Second, 0, time.Hour},
		{"CDN-Cache-Control wins", "/a.m4s", 200, http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {"max-age=7"}}, true, 7 * time.Second, 0, time.Hour},
		{"immutable", "/a.m4s", 200, http.Header{"Cache-Control": {"public, max-age=31536000, immutable"}}, true, 31536000 * time.Second, 0, time.Hour},
		{"no-store", "/a.m4s", 200, http.Header{"Cache-Control": {"no-store"}}, false, 0, 0, 0},
		{"private", "/a.m4s", 200, http.Header{"Cache-Control": {"private, max-age=60"}}, false, 0, 0, 0},
		{"CDN-Cache-Control no-store", "/a.m4s", 200, http.Header{"Cache-Control": {"max-age=60"}, "Cdn-Cache-Control": {"no-store"}}, false, 0, 0, 0},
		{"no-cache stores, revalidates", "/a.m4s", 200, http.Header{"Cache-Control": {"no-cache"}}, true, 0, 0, time.Hour},
		{"no-cache with max-age", "/a.m4s", 200, http.Header{"Cache-Control": {"no-cache, max-age=60"}}, true, 0, 0, time.Hour},
		{"Expires", "/a.m4s", 200, http.Header{"Date": {date}, "Expires": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, true, 90 * time.Second, 0, time.Hour},
		{"invalid Expires is expired", "/a.m4s", 200, http.Header{"Expires": {"0"}}, true, 0, 0, time.Hour},
		{"max-age beats Expires", "/a.m4s", 200, http.Header{"Cache-Control": {"max-age=4"}, "Expires": {now.Add(time.Hour).Format(http.TimeFormat)}}, true, 4 * time.Second, 0, time.Hour},
		{"default manifest TTL", "/vod/a/index.m3u8", 200, http.Header{}, true, time.Second, 0, time.Hour},
		{"default MPD TTL", "/vod/a/manifest.mpd", 200, http.Header{}, true, time.Second, 0, time.Hour},
		{"configured rule first", "/live/a/seg.m4s", 200, http.Header{}, true, 3 * time.Second, 0, time.Hour},
		{"default TTL", "/vod/a/seg.m4s", 200, http.Header{}, true, 24 * time.Hour, 0, time.Hour},
		{"404 negative", "/a.m3u8", 404, http.Header{"Cache-Control": {"no-cache"}}, true, 2 * time.Second, 0, time.Hour},
		{"404 explicit max-age", "/a.m3u8", 404, http.Header{"Cache-Control": {"max-age=10"}}, true, 10 * time.Second, 0, time.Hour},
		{"410 negative", "/a.m3u8", 410, http.Header{}, true, 2 * time.Second, 0, time.Hour},
		{"404 no-store", "/a.m3u8", 404, http.Header{"Cache-Control": {"no-store"}}, false, 0, 0, 0},
		{"500 never", "/a.m3u8", 500, http.Header{"Cache-Control": {"max-age=60"}}, false, 0, 0, 0},
		{"206 never", "/a.m4s", 206, http.Header{"Cache-Control": {"max-age=60"}}, false, 0, 0, 0},
		{"302 without lifetime", "/a.m4s", 302, http.Header{}, false, 0, 0, 0},
		{"Set-Cookie", "/a.m4s", 200, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"a=b"}}, false, 0, 0, 0},
		{"Vary star", "/a.m4s", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, false, 0, 0, 0},
		{"stale directives", "/a.m3u8", 200, http.Header{"Cache-Control": {"max-age=1, stale-while-revalidate=5, stale-if-error=30"}}, true, time.Second, 5 * time.Second, 30 * time.Second},
		{"must-revalidate forbids stale", "/a.m3u8", 200, http.Header{"Cache-Control": {"max-age=1, must-revalidate, stale-if-error=30"}}, true, time.Second, 0, 0},
		{"quoted commas", "/a.m4s", 200, http.Header{"Cache-Control": {`no-cache="Set-Cookie, X", max-age=9`}}, true, 0, 0, time.Hour},
		{"malformed max-age falls to default", "/a.m3u8", 200, http.Header{"Cache-Control": {"max-age=abc"}}, true, time.Second, 0, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := e.decide(tt.path, tt.status, tt.header, now)
			if f.store != tt.store {
				t.Fatalf("store = %v (%s), want %v", f.store, f.why, tt.store)
			}
			if !f.store {
				return
			}
			if f.fresh != tt.fresh || f.swr != tt.swr || f.sie != tt.sie {
				t.Errorf("fresh, swr, sie = %s, %s, %s; want %s, %s, %s", f.fresh, f.swr, f.sie, tt.fresh, tt.swr, tt.sie)
			}
		})
	}
}

func TestExpiredObjectIsRevalidatedWith304(t *testing.T) {
	body := payload(5000, 4)
	origin := newTestOrigin(t, staticHandler(body, "public, max-age=1"))
	te := newTestEdge(t, Config{}, origin.URL)
	clock := te.useFakeClock()

	resp, b := get(t, te.srv.URL+"/live/c/index.m3u8")
	if resp.StatusCode != 200 || sum(b) != sum(body) || !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=miss") {
		t.Fatalf("first: %d %q", resp.StatusCode, resp.Header.Get("Cache-Status"))
	}
	resp, _ = get(t, te.srv.URL+"/live/c/index.m3u8")
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "; hit; ttl=") {
		t.Errorf("second: Cache-Status %q, want a hit", cs)
	}
	clock.Advance(1500 * time.Millisecond)
	var sawINM atomic.Value
	origin.set(func(w http.ResponseWriter, r *http.Request) {
		sawINM.Store(r.Header.Get("If-None-Match"))
		staticHandler(body, "public, max-age=1")(w, r)
	})
	resp, b = get(t, te.srv.URL+"/live/c/index.m3u8")
	if resp.StatusCode != 200 || sum(b) != sum(body) {
		t.Fatalf("revalidated: %d, %d bytes", resp.StatusCode, len(b))
	}
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd=stale; fwd-status=304") {
		t.Errorf("revalidated: Cache-Status %q", cs)
	}
	if v, _ := sawINM.Load().(string); v == "" {
		t.Error("the origin did not get If-None-Match")
	}
	if resp.Header.Get("Age") != "0" {
		t.Errorf("Age after revalidation = %q, want 0", resp.Header.Get("Age"))
	}
	resp, _ = get(t, te.srv.URL+"/live/c/index.m3u8")
	if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "; hit") {
		t.Errorf("after revalidation: Cache-Status %q, want a hit", cs)
	}
	if n := origin.count.Load(); n != 2 {
		t.Errorf("origin requests = %d, want 2", n)
	}
}

// Origin down or answering 5xx: the expired object is served, with no
// error, for as long as stale-if-error allows; then the error shows.
func TestStaleIfError(t *testing.T) {
	body := payload(3000, 5)
	origin := newTestOrigin(t, staticHandler(body, "public, max-age=1"))
	te := newTestEdge(t, Config{StaleIfError: time.Minute}, origin.URL)
	clock := te.useFakeClock()
	get(t, te.srv.URL+"/live/c/1.m3u8")

	clock.Advance(5 * time.Second)
	origin.set(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	for range 20 {
		resp, b := get(t, te.srv.URL+"/live/c/1.m3u8")
		if resp.StatusCode != 200 || sum(b) != sum(body) {
			t.Fatalf("origin 503: got %d, want the stale 200", resp.StatusCode)
		}
		if cs := resp.Header.Get("Cache-Status"); !strings.Contains(cs, "fwd-status=503") || !strings.Contains(cs, "stale-if-error") {
			t.Fatalf("Cache-Status %q", cs)
		}
	}

	te.waitIdle(t)
	origin.Close() // connection refused from now on
	// (and no kept-alive connection to the old server either)
	te.transport.(*http.Transport).CloseIdleConnections()
	for range 20 {
		resp, b := get(t, te.srv.URL+"/live/c/1.m3u8")
		if resp.StatusCode != 200 || sum(b) != sum(body) {
			t.Fatalf("origin down: got %d, want the stale 200", resp.StatusCode)
		}
	}
	te.waitIdle(t)
	clock.Advance(2 * time.Minute)
	resp, _ := get(t, te.srv.URL+"/live/c/1.m3u8")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("past stale-if-error with the origin down: %d, want 502", resp.StatusCode)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("502 Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=30")
		w.Write([]byte{1})
	})
	te := newTestEdge(t, Config{}, origin.URL)
	clock := te.useFakeClock()
	get(t, te.srv.URL+"/a.m3u8")
	clock.Advance(3 * time.Second)
	release := make(chan struct{})
	origin.set(func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=30")
		w.Write([]byte{2})
	})
	resp, b := get(t, te.srv.URL+"/a.m3u8") // answered at once, from cache
	if b[0] != 1 || !strings.Contains(resp.Header.Get("Cache-Status"), "stale-while-revalidate") {
		t.Fatalf("got %v, Cache-Status %q", b, resp.Header.Get("Cache-Status"))
	}
	close(release)
	waitFor(t, 5*time.Second, "the background revalidation", func() bool {
		ent := te.lookup("/a.m3u8", "")
		return ent != nil && ent.Bytes()[0] == 2
	})
	_, b = get(t, te.srv.URL+"/a.m3u8")
	if b[0] != 2 {
		t.Errorf("after revalidation got %v", b)
	}
}

func TestNegativeCaching(t *testing.T) {
	origin := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.NotFound(w, r)
	})
	te := newTestEdge(t, Config{NegativeTTL: 2 * time.Second}, origin.URL)
	clock := te.useFakeClock()
	for range 5 {
		resp, _ := get(t, te.srv.URL+"/live/new/index.m3u8")
		if resp.StatusCode != 404 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests for 5 404s within the negative TTL = %d, want 1", n)
	}
	clock.Advance(2500 * time.Millisecond)
	body := []byte("#EXTM3U\n")
	origin.set(staticHandler(body, "max-age=1"))
	resp, b := get(t, te.srv.URL+"/live/new/index.m3u8")
	if resp.StatusCode != 200 || string(b) != string(body) {
		t.Errorf("after the negative TTL: %d %q", resp.StatusCode, b)
	}
}

func TestUncacheableResponsesAreFetchedEachTime(t *testing.T) {
	for _, cc := range []string{"no-store", "private, max-age=60"} {
		t.Run(cc, func(t *testing.T) {
			origin := newTestOrigin(t, staticHandler([]byte("x"), cc))
			te := newTestEdge(t, Config{}, origin.URL)
			for range 3 {
				resp, _ := get(t, te.srv.URL+"/a.m4s")
				if !strings.Contains(resp.Header.Get("Cache-Status"), "fwd=miss") || strings.Contains(resp.Header.Get("Cache-Status"), "stored") {
					t.Errorf("Cache-Status %q", resp.Header.Get("Cache-Status"))
				}
			}
			if n := origin.count.Load(); n != 3 {
				t.Errorf("origin requests = %d, want 3", n)
			}
		})
	}
}
