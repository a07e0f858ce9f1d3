package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestOriginServesAndCounts(t *testing.T) {
	t.Parallel()
	o, err := startOrigin(10 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	tests := []struct {
		path, contentType, cacheControl string
		size                            int
	}{
		{"/seg/3.m4s", "video/iso.segment", "public, max-age=31536000, immutable", segmentSize},
		{"/live/7/index.m3u8", "application/vnd.apple.mpegurl", "public, max-age=60", playlistSize},
		{"/storm/x/1.m4s", "video/iso.segment", "public, max-age=31536000, immutable", segmentSize},
	}
	for _, tt := range tests {
		resp, err := http.Get(o.base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) != tt.size ||
			resp.Header.Get("Content-Type") != tt.contentType || resp.Header.Get("Cache-Control") != tt.cacheControl {
			t.Errorf("GET %s: %d, %d bytes, %q, %q", tt.path, resp.StatusCode, len(body), resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		// A revalidation with the ETag is answered 304.
		req, _ := http.NewRequest("GET", o.base+tt.path, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("conditional GET %s: %d, want 304", tt.path, resp.StatusCode)
		}
		if n := o.requests(tt.path); n != 2 {
			t.Errorf("%s: origin counted %d requests, want 2", tt.path, n)
		}
	}
	if n := o.requestsUnder("/seg/"); n != 2 {
		t.Errorf("requests under /seg/: %d, want 2", n)
	}
	for _, p := range []string{"/seg/x.m4s", "/live/x/index.m3u8", "/other"} {
		resp, err := http.Get(o.base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestBodiesAreDeterministic(t *testing.T) {
	t.Parallel()
	a, b := segmentBody("/seg/1.m4s"), segmentBody("/seg/1.m4s")
	if string(a) != string(b) || string(a) == string(segmentBody("/seg/2.m4s")) {
		t.Error("segment bodies must be the same for a path and differ between paths")
	}
	for _, p := range []string{"/live/0/index.m3u8", "/live/123456/index.m3u8"} {
		pl := playlistBody(p)
		if len(pl) != playlistSize || !strings.HasPrefix(string(pl), "#EXTM3U\n") || !strings.HasSuffix(string(pl), "\n") {
			t.Errorf("%s: playlist of %d bytes, want a %d-byte playlist", p, len(pl), playlistSize)
		}
	}
}

// TestStormCountsWhatAnEdgeDoes runs the storm through a proxy that does no
// collapsing: the harness must report one origin request per client.
func TestStormCountsWhatAnEdgeDoes(t *testing.T) {
	t.Parallel()
	o, err := startOrigin(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	u, _ := url.Parse(o.base)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(u))
	defer proxy.Close()
	for _, together := range []bool{false, true} {
		label := "seq"
		if together {
			label = "together"
		}
		res := storm(&server{Name: "plain proxy", Base: proxy.URL}, o, label, 2, 5, together)
		if res.Complete != 10 || len(res.Kinds) != 0 {
			t.Errorf("%s: %d of 10 clients complete, failures %v", label, res.Complete, res.Kinds)
		}
		if lo, hi := res.MinMax(); lo != 5 || hi != 5 || res.Total() != 10 {
			t.Errorf("%s: origin requests per object %d..%d (total %d), want 5 each", label, lo, hi, res.Total())
		}
		if len(res.Latencies) != 10 || res.Percentile(100) < 20*time.Millisecond {
			t.Errorf("%s: latencies %v, want 10 of at least the origin's delay", label, res.Latencies)
		}
	}
}

func TestNginxConfRenders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text, err := writeNginxConf(nginxConfig{Root: true, Workers: 2, Dir: dir, DiskBytes: 10 << 30,
		Origin: "127.0.0.1:1", Listen: "127.0.0.1:2", Backlog: 4096})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"user root;", "worker_processes 2;", "max_size=10737418240", "proxy_cache_key $uri;",
		"proxy_cache_lock on;", "server 127.0.0.1:1;", "listen 127.0.0.1:2 backlog=4096 reuseport;",
		"access_log " + dir + "/access.log edge buffer=64k flush=1s;",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
}
