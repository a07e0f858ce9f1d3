package origin

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

func TestValidators(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	seg := e.put(t, "live/ch/1.m4s", "0123456789")
	pl := e.put(t, "live/ch/index.m3u8", livePlaylist)

	for _, tc := range []struct {
		path string
		info storage.Info
	}{{"/live/ch/1.m4s", seg}, {"/live/ch/index.m3u8", pl}} {
		w := e.do("GET", tc.path)
		wantStatus(t, w, http.StatusOK)
		wantHeader(t, w, "ETag", `"`+tc.info.ETag+`"`)
		wantHeader(t, w, "Last-Modified", tc.info.ModTime.UTC().Format(http.TimeFormat))
		wantHeader(t, w, "Content-Length", strconv.FormatInt(tc.info.Size, 10))
	}

	// Replacing the object changes the ETag the origin sends.
	seg2 := e.put(t, "live/ch/1.m4s", "9876543210")
	wantHeader(t, e.do("GET", "/live/ch/1.m4s"), "ETag", `"`+seg2.ETag+`"`)
	if seg2.ETag == seg.ETag {
		t.Fatal("storage ETag unchanged after replace")
	}
}

func TestConditionalGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	seg := e.put(t, "live/ch/1.m4s", "0123456789")
	etag := `"` + seg.ETag + `"`
	lastMod := seg.ModTime.UTC().Format(http.TimeFormat)
	later := seg.ModTime.Add(time.Hour).UTC().Format(http.TimeFormat)
	earlier := seg.ModTime.Add(-time.Hour).UTC().Format(http.TimeFormat)

	tests := []struct {
		name   string
		method string
		hdr    []string
		want   int
	}{
		{"no validators", "GET", nil, 200},
		{"If-None-Match match", "GET", []string{"If-None-Match", etag}, 304},
		{"If-None-Match weak match", "GET", []string{"If-None-Match", "W/" + etag}, 304},
		{"If-None-Match in list", "GET", []string{"If-None-Match", `"other", ` + etag}, 304},
		{"If-None-Match star", "GET", []string{"If-None-Match", "*"}, 304},
		{"If-None-Match mismatch", "GET", []string{"If-None-Match", `"other"`}, 200},
		{"If-None-Match HEAD", "HEAD", []string{"If-None-Match", etag}, 304},
		{"If-Modified-Since = Last-Modified", "GET", []string{"If-Modified-Since", lastMod}, 304},
		{"If-Modified-Since later", "GET", []string{"If-Modified-Since", later}, 304},
		{"If-Modified-Since earlier", "GET", []string{"If-Modified-Since", earlier}, 200},
		{"If-None-Match mismatch beats If-Modified-Since", "GET", []string{"If-None-Match", `"other"`, "If-Modified-Since", later}, 200},
		{"If-Match mismatch", "GET", []string{"If-Match", `"other"`}, 412},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do(tc.method, "/live/ch/1.m4s", tc.hdr...)
			wantStatus(t, w, tc.want)
			if tc.want == http.StatusNotModified {
				if w.Body.Len() != 0 {
					t.Fatalf("304 with a body: %q", w.Body.String())
				}
				wantHeader(t, w, "ETag", etag)
				wantHeader(t, w, "Cache-Control", ccImmutable)
				wantHeader(t, w, "Access-Control-Allow-Origin", "*")
			}
		})
	}
}

func TestRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	const data = "0123456789abcdefghij"
	seg := e.put(t, "live/ch/1.m4s", data)
	etag := `"` + seg.ETag + `"`
	tests := []struct {
		name         string
		hdr          []string
		want         int
		body         string
		contentRange string
	}{
		{"first bytes", []string{"Range", "bytes=0-3"}, 206, "0123", "bytes 0-3/20"},
		{"middle", []string{"Range", "bytes=5-9"}, 206, "56789", "bytes 5-9/20"},
		{"open end", []string{"Range", "bytes=15-"}, 206, "fghij", "bytes 15-19/20"},
		{"suffix", []string{"Range", "bytes=-3"}, 206, "hij", "bytes 17-19/20"},
		{"past end clipped", []string{"Range", "bytes=18-100"}, 206, "ij", "bytes 18-19/20"},
		{"unsatisfiable", []string{"Range", "bytes=20-"}, 416, "", "bytes */20"},
		{"If-Range match", []string{"Range", "bytes=0-1", "If-Range", etag}, 206, "01", "bytes 0-1/20"},
		{"If-Range stale", []string{"Range", "bytes=0-1", "If-Range", `"old"`}, 200, data, ""},
		{"gzip not applied to segments", []string{"Accept-Encoding", "gzip"}, 200, data, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("GET", "/live/ch/1.m4s", tc.hdr...)
			wantStatus(t, w, tc.want)
			wantHeader(t, w, "Content-Range", tc.contentRange)
			if tc.want != 416 && w.Body.String() != tc.body {
				t.Fatalf("body = %q, want %q", w.Body.String(), tc.body)
			}
			wantHeader(t, w, "Content-Encoding", "")
			if tc.want == 206 {
				wantHeader(t, w, "Content-Length", strconv.Itoa(len(tc.body)))
				wantHeader(t, w, "ETag", etag)
				wantHeader(t, w, "Content-Type", "video/iso.segment")
			}
		})
	}
	wantHeader(t, e.do("GET", "/live/ch/1.m4s"), "Accept-Ranges", "bytes")
}

func TestHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	e.put(t, "live/ch/1.m4s", "0123456789")
	e.put(t, "live/ch/index.m3u8", livePlaylist)
	for _, tc := range []struct {
		path string
		hdr  []string
	}{
		{"/live/ch/1.m4s", nil},
		{"/live/ch/index.m3u8", nil},
		{"/live/ch/index.m3u8", []string{"Accept-Encoding", "gzip"}},
	} {
		get := e.do("GET", tc.path, tc.hdr...)
		head := e.do("HEAD", tc.path, tc.hdr...)
		wantStatus(t, head, http.StatusOK)
		if head.Body.Len() != 0 {
			t.Errorf("HEAD %s has a body", tc.path)
		}
		for _, h := range []string{"Content-Length", "Content-Type", "Content-Encoding", "ETag", "Last-Modified", "Cache-Control", "Vary"} {
			if g, hd := get.Header().Get(h), head.Header().Get(h); g != hd {
				t.Errorf("%s %v: HEAD %s = %q, GET has %q", tc.path, tc.hdr, h, hd, g)
			}
		}
		if n, _ := strconv.Atoi(head.Header().Get("Content-Length")); n != get.Body.Len() {
			t.Errorf("%s: HEAD Content-Length %d, GET body %d bytes", tc.path, n, get.Body.Len())
		}
	}
}

// TestManifestSubSecondChanges covers If-Modified-Since on a manifest that
// changed within the second its Last-Modified names.
func TestManifestSubSecondChanges(t *testing.T) {
	t.Parallel()
	sec := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	st := &fakeStore{objects: map[string]fakeObject{
		"live/ch/frac.m3u8":  {livePlaylist, storage.Info{ETag: "v2", ModTime: sec.Add(700 * time.Millisecond)}},
		"live/ch/whole.m3u8": {livePlaylist, storage.Info{ETag: "v1", ModTime: sec}},
		"live/ch/frac.m4s":   {"seg", storage.Info{ETag: "s", ModTime: sec.Add(700 * time.Millisecond)}},
	}}
	o := New(st, DefaultConfig(), nil)
	ims := sec.Format(http.TimeFormat)
	next := sec.Add(time.Second).Format(http.TimeFormat)
	tests := []struct {
		path, ims string
		want      int
	}{
		{"/live/ch/frac.m3u8", ims, 200},  // the same second may hold a newer version
		{"/live/ch/frac.m3u8", next, 304}, // provably not modified since
		{"/live/ch/whole.m3u8", ims, 304}, // whole-second modtime: exact
		{"/live/ch/frac.m4s", ims, 304},   // immutable segments keep the usual rule
	}
	for _, tc := range tests {
		w := serve(o, "GET", tc.path, "If-Modified-Since", tc.ims)
		if w.Code != tc.want {
			t.Errorf("%s If-Modified-Since %s: status %d, want %d", tc.path, tc.ims, w.Code, tc.want)
		}
		if got := w.Header().Get("Last-Modified"); tc.want == 200 && got != ims {
			t.Errorf("%s: Last-Modified = %q, want %q", tc.path, got, ims)
		}
	}
}

func TestManifestTooLarge(t *testing.T) {
	t.Parallel()
	big := make([]byte, maxManifest+1)
	st := &fakeStore{objects: map[string]fakeObject{
		"live/ch/index.m3u8": {string(big), storage.Info{ETag: "x", ModTime: time.Now()}},
	}}
	w := serve(New(st, DefaultConfig(), nil), "GET", "/live/ch/index.m3u8")
	wantStatus(t, w, http.StatusInternalServerError)
}
