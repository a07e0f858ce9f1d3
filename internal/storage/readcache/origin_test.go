package readcache_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/storage/readcache"
	"github.com/ospreyvideo/osprey/internal/storage/storagetest"
)

// TestOriginThroughCache serves a segment with the origin handler over the
// cache and over the backend alone: every answer (status, validators,
// ranges, body) is the same, and the backend is read once.
func TestOriginThroughCache(t *testing.T) {
	const key, path = "live/ch_1/s1/720p/7.m4s", "/live/ch_1/s1/720p/7.m4s"
	data := randomBytes(1<<20, 7)
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			b := newCounting(be.open(t))
			storagetest.Put(t, b.Store, key, data)
			cached := origin.New(readcache.New(b, readcache.Config{}), origin.DefaultConfig(), nil)
			direct := origin.New(b.Store, origin.DefaultConfig(), nil)

			first := serve(direct, "GET", path)
			etag, lastMod := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
			if first.Code != http.StatusOK || etag == "" || lastMod == "" {
				t.Fatalf("direct GET: %d, ETag %q, Last-Modified %q", first.Code, etag, lastMod)
			}
			tests := []struct {
				name   string
				method string
				hdr    []string
				status int
				body   []byte
			}{
				{"GET", "GET", nil, 200, data},
				{"HEAD", "HEAD", nil, 200, nil},
				{"If-None-Match", "GET", []string{"If-None-Match", etag}, 304, nil},
				{"If-None-Match other", "GET", []string{"If-None-Match", `"other"`}, 200, data},
				{"If-Modified-Since", "GET", []string{"If-Modified-Since", lastMod}, 304, nil},
				{"If-Match other", "GET", []string{"If-Match", `"other"`}, 412, nil},
				{"Range", "GET", []string{"Range", "bytes=1000-1999"}, 206, data[1000:2000]},
				{"Range suffix", "GET", []string{"Range", "bytes=-100"}, 206, data[len(data)-100:]},
				{"Range past the end", "GET", []string{"Range", "bytes=2000000-"}, 416, nil},
				{"If-Range match", "GET", []string{"Range", "bytes=0-9", "If-Range", etag}, 206, data[:10]},
				{"If-Range other", "GET", []string{"Range", "bytes=0-9", "If-Range", `"other"`}, 200, data},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					want := serve(direct, tc.method, path, tc.hdr...)
					got := serve(cached, tc.method, path, tc.hdr...)
					if got.Code != tc.status || want.Code != tc.status {
						t.Fatalf("status %d through the cache, %d direct; want %d", got.Code, want.Code, tc.status)
					}
					for _, h := range []string{"ETag", "Last-Modified", "Content-Length", "Content-Range", "Cache-Control", "Content-Type"} {
						if g, w := got.Header().Get(h), want.Header().Get(h); g != w {
							t.Errorf("%s: %q through the cache, %q direct", h, g, w)
						}
					}
					if tc.body != nil && !bytes.Equal(got.Body.Bytes(), tc.body) {
						t.Errorf("body of %d bytes through the cache differs from the %d expected", got.Body.Len(), len(tc.body))
					}
				})
			}
			// The direct handler reads b.Store, which counts nothing.
			if n := b.count(key); n != 1 {
				t.Fatalf("%d requests through the cache made %d backend Opens, want 1", len(tests), n)
			}
		})
	}
}

func serve(h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
