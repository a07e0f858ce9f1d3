package s3_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// TestSeekIsLazy watches the requests an Object makes through a recording
// proxy: Open is one GET of the whole object; Seeks make no request; a Read
// after a Seek far away makes one ranged GET conditioned on the ETag.
func TestSeekIsLazy(t *testing.T) {
	srv := s3test.Start(t)
	target, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		gets []*http.Request
	)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/big") {
			mu.Lock()
			gets = append(gets, r.Clone(context.Background()))
			mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	cfg := srv.Config(srv.NewBucket(t))
	cfg.Endpoint = proxy.URL
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	recorded := func() []*http.Request {
		mu.Lock()
		defer mu.Unlock()
		return append([]*http.Request(nil), gets...)
	}

	ctx := context.Background()
	const size = 8 << 20
	data := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if err := s.Put(ctx, "big", data); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	// What http.ServeContent does first: probe the size, rewind, read.
	if n, err := obj.Seek(0, io.SeekEnd); err != nil || n != size {
		t.Fatalf("Seek(0, SeekEnd) = %d, %v", n, err)
	}
	if _, err := obj.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 16)
	if _, err := io.ReadFull(obj, head); err != nil || !bytes.Equal(head, data[:16]) {
		t.Fatalf("first read %q, %v", head, err)
	}
	if g := recorded(); len(g) != 1 || g[0].Header.Get("Range") != "" {
		t.Fatalf("after Open, seeks and a read: %d GETs (first Range %q), want 1 without Range", len(g), rangeOf(g))
	}

	if _, err := obj.Seek(size-100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(tail, data[size-100:]) {
		t.Fatalf("read %d bytes at the end, %v", len(tail), err)
	}
	g := recorded()
	if len(g) != 2 {
		t.Fatalf("%d GETs after a far Seek and a Read, want 2", len(g))
	}
	if r := g[1].Header.Get("Range"); r != "bytes=8388508-" {
		t.Errorf("reopening GET has Range %q, want bytes=8388508-", r)
	}
	if m := g[1].Header.Get("If-Match"); m == "" || strings.Trim(m, `"`) != obj.Info().ETag {
		t.Errorf("reopening GET has If-Match %q, want the opened ETag %q", m, obj.Info().ETag)
	}
}

func rangeOf(g []*http.Request) string {
	if len(g) == 0 {
		return ""
	}
	return g[0].Header.Get("Range")
}
