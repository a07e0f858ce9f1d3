package origin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

type env struct {
	o  *Origin
	st *fs.Store
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &env{o: New(st, cfg, slog.New(slog.DiscardHandler)), st: st}
}

func (e *env) put(t *testing.T, key, data string) storage.Info {
	t.Helper()
	if err := e.st.Put(context.Background(), key, []byte(data)); err != nil {
		t.Fatal(err)
	}
	obj, err := e.st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	return obj.Info()
}

// do serves one request; hdr holds header name/value pairs.
func (e *env) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	return serve(e.o, method, target, hdr...)
}

func serve(h http.Handler, method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, want int) {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status = %d, want %d (body %q)", w.Code, want, w.Body.String())
	}
}

func wantHeader(t *testing.T, w *httptest.ResponseRecorder, name, want string) {
	t.Helper()
	if got := w.Header().Get(name); got != want {
		t.Fatalf("%s = %q, want %q", name, got, want)
	}
}

const (
	livePlaylist  = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2.000,\n40.m4s\n#EXTINF:2.000,\n41.m4s\n"
	endedPlaylist = livePlaylist + "#EXT-X-ENDLIST\n"
	liveMPD       = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S">` + "\n" +
		`  <Period id="0"><AdaptationSet mimeType="video/mp4" contentType="video"/></Period>` + "\n" +
		`  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/time"/>` + "\n" +
		`</MPD>` + "\n"
	staticMPD = `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static"><Period/></MPD>`
)

func TestContentTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	tests := []struct {
		file, contentType string
	}{
		{"index.m3u8", "application/vnd.apple.mpegurl"},
		{"manifest.mpd", "application/dash+xml"},
		{"720p/42.m4s", "video/iso.segment"},
		{"720p/init-3.mp4", "video/mp4"},
		{"audio/init-1.m4a", "audio/mp4"},
		{"subs/1.vtt", "text/vtt"},
		{"poster.jpg", "image/jpeg"},
		{"poster.jpeg", "image/jpeg"},
		{"thumb.png", "image/png"},
		{"legacy/1.ts", "video/mp2t"},
		// Stored but never served.
		{"state.json", ""},
		{"notes.txt", ""},
		{"page.html", ""},
		{"noext", ""},
		{"shout.M4S", ""},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			e.put(t, "live/ch_1/"+tc.file, "data")
			w := e.do("GET", "/live/ch_1/"+tc.file)
			if tc.contentType == "" {
				wantStatus(t, w, http.StatusNotFound)
				if strings.Contains(w.Body.String(), "data") {
					t.Fatal("404 body leaks the object")
				}
				return
			}
			wantStatus(t, w, http.StatusOK)
			wantHeader(t, w, "Content-Type", tc.contentType)
			wantHeader(t, w, "X-Content-Type-Options", "nosniff")
		})
	}
}

func TestCacheControl(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	tests := []struct {
		name, key, data, want string
	}{
		{"segment", "720p/42.m4s", "x", ccImmutable},
		{"init", "720p/init-3.mp4", "x", ccImmutable},
		{"audio", "a/1.m4a", "x", ccImmutable},
		{"subtitle", "s/1.vtt", "WEBVTT\n", ccImmutable},
		{"ts", "t/1.ts", "x", ccImmutable},
		{"image", "poster.jpg", "x", ccImage},
		{"live playlist", "720p/index.m3u8", livePlaylist, "public, max-age=1"},
		{"multivariant playlist", "index.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n720p/index.m3u8\n", "public, max-age=1"},
		{"ended playlist", "ended/index.m3u8", endedPlaylist, ccEnded},
		{"live MPD", "manifest.mpd", liveMPD, "public, max-age=1"},
		{"static MPD", "static.mpd", staticMPD, ccEnded},
		{"MPD without type", "default.mpd", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period/></MPD>`, ccEnded},
		{"MPD with static elsewhere", "tricky.mpd", `<MPD type="dynamic"><Role value="static" type="static"/></MPD>`, "public, max-age=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.put(t, "live/ch_1/"+tc.key, tc.data)
			for _, method := range []string{"GET", "HEAD"} {
				w := e.do(method, "/live/ch_1/"+tc.key)
				wantStatus(t, w, http.StatusOK)
				wantHeader(t, w, "Cache-Control", tc.want)
			}
		})
	}
	t.Run("404", func(t *testing.T) {
		w := e.do("GET", "/live/ch_1/missing.m4s")
		wantStatus(t, w, http.StatusNotFound)
		wantHeader(t, w, "Cache-Control", ccNotFound)
	})
	t.Run("405", func(t *testing.T) {
		w := e.do("POST", "/live/ch_1/720p/42.m4s")
		wantStatus(t, w, http.StatusMethodNotAllowed)
		wantHeader(t, w, "Cache-Control", ccError)
	})
}

func TestLiveCacheControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		seg  time.Duration
		want string
	}{
		{0, "public, max-age=1"}, // default 2 s
		{2 * time.Second, "public, max-age=1"},
		{3 * time.Second, "public, max-age=1"},
		{4 * time.Second, "public, max-age=2"},
		{6 * time.Second, "public, max-age=3"},
		{1999 * time.Millisecond, "public, no-cache"},
		{time.Second, "public, no-cache"},
		{500 * time.Millisecond, "public, no-cache"},
	}
	for _, tc := range tests {
		if got := liveCacheControl(tc.seg); got != tc.want {
			t.Errorf("liveCacheControl(%v) = %q, want %q", tc.seg, got, tc.want)
		}
	}
	// And through the handler.
	e := newEnv(t, Config{SegmentDuration: 6 * time.Second})
	e.put(t, "live/ch/index.m3u8", livePlaylist)
	wantHeader(t, e.do("GET", "/live/ch/index.m3u8"), "Cache-Control", "public, max-age=3")
}

func TestMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	e.put(t, "live/ch/1.m4s", "x")
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"} {
		w := e.do(m, "/live/ch/1.m4s")
		wantStatus(t, w, http.StatusMethodNotAllowed)
		wantHeader(t, w, "Allow", "GET, HEAD, OPTIONS")
	}
	if _, err := e.st.Open(context.Background(), "live/ch/1.m4s"); err != nil {
		t.Fatalf("object gone after rejected methods: %v", err)
	}
}

func TestBadPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	e.put(t, "live/ch/state.json", `{"secret":1}`)
	e.put(t, "live/ch/1.m4s", "x")
	tests := []struct {
		target string
		want   int
	}{
		{"/live/ch/../ch/1.m4s", http.StatusBadRequest},
		{"/live/../live/ch/1.m4s", http.StatusBadRequest},
		{"/live/ch/./1.m4s", http.StatusBadRequest},
		{"/live/ch%2F1.m4s", http.StatusBadRequest},
		{"/live/ch%2f..%2fstate.json", http.StatusBadRequest},
		{"/live/ch%5C1.m4s", http.StatusBadRequest},
		{"/live/ch/1.m4s%00", http.StatusBadRequest},
		{"/live/ch/%0a1.m4s", http.StatusBadRequest},
		{"/live//1.m4s", http.StatusNotFound},
		{"/live/1.m4s", http.StatusNotFound},
		{"/live/", http.StatusNotFound},
		{"/live/ch/.osprey-tmp-123.m4s", http.StatusNotFound},
		{"/live/ch/state.json", http.StatusNotFound},
		{"/vod/ch/1.m4s", http.StatusNotFound},
		{"/ch/1.m4s", http.StatusNotFound},
		{"/live/ch/1.m4s", http.StatusOK}, // control
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			w := e.do("GET", tc.target)
			wantStatus(t, w, tc.want)
			if tc.want != http.StatusOK && strings.Contains(w.Body.String(), "secret") {
				t.Fatal("error body leaks state.json")
			}
		})
	}
}

// TestMissingIsFast checks over a real connection that unknown channels and
// files get a 404 promptly.
func TestMissingIsFast(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	e.put(t, "live/ch_1/index.m3u8", livePlaylist)
	srv := httptest.NewServer(e.o)
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range []string{"/live/nochannel/index.m3u8", "/live/ch_1/720p/99999.m4s", "/live/ch_1/manifest.mpd"} {
		start := time.Now()
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// Generous for a loaded machine; what it guards against is a
		// 404 that waits (for a manifest to appear, a lock, a timeout).
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("GET %s took %v", p, elapsed)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestMounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Mounts: []Mount{{Path: "/live/", Key: "live/"}, {Path: "/vod/", Key: "assets/vod/"}}})
	e.put(t, "assets/vod/a1/index.m3u8", endedPlaylist)
	e.put(t, "live/ch/index.m3u8", livePlaylist)
	w := e.do("GET", "/vod/a1/index.m3u8")
	wantStatus(t, w, http.StatusOK)
	if w.Body.String() != endedPlaylist {
		t.Fatalf("body = %q", w.Body.String())
	}
	wantStatus(t, e.do("GET", "/live/ch/index.m3u8"), http.StatusOK)
	wantStatus(t, e.do("GET", "/assets/vod/a1/index.m3u8"), http.StatusNotFound)

	for _, bad := range []Mount{{"live/", "live/"}, {"/live", "live/"}, {"/live/", ""}, {"/live/", "/live/"}, {"/live/", "live"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New accepted mount %+v", bad)
				}
			}()
			New(e.st, Config{Mounts: []Mount{bad}}, nil)
		}()
	}
}

// fakeStore serves fixed objects and errors, for cases a real folder cannot
// produce on demand.
type fakeStore struct {
	storage.Store // nil: only Open is used
	objects       map[string]fakeObject
	err           error
}

type fakeObject struct {
	data string
	info storage.Info
}

type openFake struct {
	*strings.Reader
	info storage.Info
}

func (o openFake) Close() error       { return nil }
func (o openFake) Info() storage.Info { return o.info }

func (f *fakeStore) Open(_ context.Context, key string) (storage.Object, error) {
	if f.err != nil {
		return nil, f.err
	}
	obj, ok := f.objects[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	info := obj.info
	info.Key, info.Size = key, int64(len(obj.data))
	return openFake{strings.NewReader(obj.data), info}, nil
}

func TestStorageError(t *testing.T) {
	t.Parallel()
	o := New(&fakeStore{err: errors.New("disk on fire")}, DefaultConfig(), nil)
	for _, p := range []string{"/live/ch/1.m4s", "/live/ch/index.m3u8"} {
		w := serve(o, "GET", p)
		wantStatus(t, w, http.StatusInternalServerError)
		wantHeader(t, w, "Cache-Control", ccError)
		wantHeader(t, w, "Access-Control-Allow-Origin", "*")
		if strings.Contains(w.Body.String(), "fire") {
			t.Fatal("500 body leaks the internal error")
		}
	}
}
