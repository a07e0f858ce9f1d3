package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource is a LiveSource whose answers the test decides.
type fakeSource struct {
	playlist func(ctx context.Context, key string, q url.Values) ([]byte, error)
	open     func(ctx context.Context, key string) (io.ReadCloser, error)
	asked    atomic.Int64
}

func (f *fakeSource) MediaPlaylist(ctx context.Context, key string, q url.Values) ([]byte, error) {
	f.asked.Add(1)
	if f.playlist == nil {
		return nil, ErrNotLive
	}
	return f.playlist(ctx, key, q)
}

func (f *fakeSource) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	f.asked.Add(1)
	if f.open == nil {
		return nil, ErrNotLive
	}
	return f.open(ctx, key)
}

func liveEnv(t *testing.T, src *fakeSource) *env {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Live = src
	return newEnv(t, cfg)
}

const (
	llKey      = "live/ch/s1/720p/index.m3u8"
	llPath     = "/live/ch/s1/720p/index.m3u8"
	llPlaylist = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6\n#EXT-X-PART-INF:PART-TARGET=0.2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2.000,\n40.m4s\n#EXT-X-PART:DURATION=0.2,URI=\"41.0.m4s\",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"41.1.m4s\"\n"
)

func TestLivePlaylistFromSource(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var gotKey string
	var gotQuery url.Values
	src := &fakeSource{playlist: func(_ context.Context, key string, q url.Values) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		gotKey, gotQuery = key, q
		if q.Get("end") == "1" {
			return []byte(llPlaylist + "#EXT-X-ENDLIST\n"), nil
		}
		return []byte(llPlaylist), nil
	}}
	e := liveEnv(t, src)
	e.put(t, llKey, livePlaylist) // what storage has: not served while the source serves

	tests := []struct {
		name, query, wantCC string
		wantQuery           url.Values
	}{
		{"plain reload", "", "public, max-age=1", url.Values{}},
		{"blocking", "_HLS_msn=41&_HLS_part=1", "public, max-age=6", url.Values{"_HLS_msn": {"41"}, "_HLS_part": {"1"}}},
		{"blocking delta", "_HLS_part=1&_HLS_msn=41&_HLS_skip=YES&token=abc", "public, max-age=6",
			url.Values{"_HLS_msn": {"41"}, "_HLS_part": {"1"}, "_HLS_skip": {"YES"}, "token": {"abc"}}},
		{"filter parameters are left alone", "max_height=1", "public, max-age=1", url.Values{"max_height": {"1"}}},
		// Not valid percent-encoding: passed as written, for the source
		// to refuse, instead of being dropped (a plain reload).
		{"malformed encoding", "_HLS_msn=%zz", "public, max-age=6", url.Values{"_HLS_msn": {"%zz"}}},
		{"ended", "_HLS_msn=41&end=1", ccEnded, url.Values{"_HLS_msn": {"41"}, "end": {"1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := e.do("GET", llPath+"?"+tc.query)
			wantStatus(t, w, http.StatusOK)
			if !strings.HasPrefix(w.Body.String(), llPlaylist) {
				t.Fatalf("body = %q, want the source's playlist", w.Body.String())
			}
			wantHeader(t, w, "Content-Type", "application/vnd.apple.mpegurl")
			wantHeader(t, w, "Cache-Control", tc.wantCC)
			wantHeader(t, w, "Vary", "Accept-Encoding")
			if w.Header().Get("ETag") == "" || w.Header().Get("Set-Cookie") != "" {
				t.Fatalf("headers %v: want an ETag and no Set-Cookie", w.Header())
			}
			mu.Lock()
			defer mu.Unlock()
			if gotKey != llKey {
				t.Errorf("source asked for %q, want %q", gotKey, llKey)
			}
			if fmt.Sprint(gotQuery) != fmt.Sprint(tc.wantQuery) {
				t.Errorf("source got query %v, want %v", gotQuery, tc.wantQuery)
			}
		})
	}
}

func TestBlockingCacheControl(t *testing.T) {
	t.Parallel()
	for seg, want := range map[time.Duration]string{
		0:                       "public, max-age=6",
		time.Second:             "public, max-age=3",
		2 * time.Second:         "public, max-age=6",
		1001 * time.Millisecond: "public, max-age=4",
		200 * time.Millisecond:  "public, max-age=1",
	} {
		if got := blockingCacheControl(seg); got != want {
			t.Errorf("blockingCacheControl(%v) = %q, want %q", seg, got, want)
		}
	}
}

// What the source does not serve comes from storage as before, the
// delivery directives ignored.
func TestLivePlaylistFallsBackToStorage(t *testing.T) {
	t.Parallel()
	src := &fakeSource{} // serves nothing
	e := liveEnv(t, src)
	info := e.put(t, llKey, livePlaylist)
	e.put(t, "live/ch/ended/index.m3u8", endedPlaylist)
	e.put(t, "live/ch/index.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ns1/720p/index.m3u8\n")
	tests := []struct {
		path, wantBody, wantCC string
	}{
		{llPath, livePlaylist, "public, max-age=1"},
		{llPath + "?_HLS_msn=99&_HLS_part=3", livePlaylist, "public, max-age=1"},
		{llPath + "?_HLS_msn=bogus", livePlaylist, "public, max-age=1"},
		{"/live/ch/ended/index.m3u8?_HLS_msn=99", endedPlaylist, ccEnded},
		{"/live/ch/index.m3u8", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ns1/720p/index.m3u8\n", "public, max-age=1"},
	}
	for _, tc := range tests {
		before := src.asked.Load()
		w := e.do("GET", tc.path)
		wantStatus(t, w, http.StatusOK)
		if w.Body.String() != tc.wantBody {
			t.Errorf("%s: body %q, want %q", tc.path, w.Body.String(), tc.wantBody)
		}
		wantHeader(t, w, "Cache-Control", tc.wantCC)
		if src.asked.Load() != before+1 {
			t.Errorf("%s: the source was not asked first", tc.path)
		}
	}
	wantHeader(t, e.do("GET", llPath), "ETag", quote(info.ETag))
}

// Each error of the source has its status, and none may be cached: a part
// or playlist asked for too early exists moments later.
func TestLiveSourceErrors(t *testing.T) {
	t.Parallel()
	var fail error // requests are served synchronously (httptest.ResponseRecorder)
	src := &fakeSource{
		playlist: func(context.Context, string, url.Values) ([]byte, error) { return nil, fail },
		open:     func(context.Context, string) (io.ReadCloser, error) { return nil, fail },
	}
	e := liveEnv(t, src)
	e.put(t, "live/ch/s1/720p/41.2.m4s", "never served: parts are not in storage")
	tests := []struct {
		name     string
		err      error
		status   int
		wantBody string
	}{
		{"bad directive", fmt.Errorf("%w: %s", ErrBadDirective, `_HLS_msn="x": not a decimal-integer`), 400, `_HLS_msn="x"`},
		{"too far ahead", fmt.Errorf("wrapped: %w", ErrBadDirective), 400, "bad delivery directive"},
		{"no such part", fmt.Errorf("%w: part 9 of 40", ErrNotFound), 404, "Not Found"},
		{"hold ran out", ErrHoldTimeout, 503, "Service Unavailable"},
		{"source failure", errors.New("disk on fire"), 500, "Internal Server Error"},
	}
	for _, tc := range tests {
		fail = tc.err
		for _, path := range []string{llPath + "?_HLS_msn=41", "/live/ch/s1/720p/41.2.m4s", "/live/ch/s1/720p/41.m4s"} {
			w := e.do("GET", path)
			if w.Code != tc.status {
				t.Errorf("%s %s: status %d, want %d", tc.name, path, w.Code, tc.status)
			}
			wantHeader(t, w, "Cache-Control", ccError)
			if !strings.Contains(w.Body.String(), tc.wantBody) {
				t.Errorf("%s %s: body %q, want it to contain %q", tc.name, path, w.Body.String(), tc.wantBody)
			}
			if strings.Contains(w.Body.String(), "disk") {
				t.Errorf("%s: the 500 body leaks the error", tc.name)
			}
		}
	}
}

// 404s from storage: parts and blocking reloads are "no-store", other
// objects keep the usual "no-cache".
func TestLiveNotFoundInStorage(t *testing.T) {
	t.Parallel()
	e := liveEnv(t, &fakeSource{})
	tests := []struct {
		path, wantCC string
	}{
		{"/live/ch/s1/720p/41.2.m4s", ccError},
		{"/live/ch/s1/720p/index.m3u8?_HLS_msn=41", ccError},
		{"/live/ch/s1/720p/41.m4s", ccNotFound},
		{"/live/ch/s1/720p/index.m3u8", ccNotFound},
		{"/live/ch/s1/720p/init-1.mp4", ccNotFound},
	}
	for _, tc := range tests {
		w := e.do("GET", tc.path)
		wantStatus(t, w, http.StatusNotFound)
		wantHeader(t, w, "Cache-Control", tc.wantCC)
	}
}

func TestIsPartKey(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"live/ch/s1/720p/41.2.m4s":  true,
		"live/ch/s1/720p/0.0.m4s":   true,
		"live/ch/s1/720p/41.m4s":    false,
		"live/ch/s1/720p/4a.2.m4s":  false,
		"live/ch/s1/720p/41..m4s":   false,
		"live/ch/s1/720p/.2.m4s":    false,
		"live/ch/s1/720p/41.2.mp4":  false,
		"live/ch/s1/720p/1.2.3.m4s": false,
	} {
		if got := isPartKey(key); got != want {
			t.Errorf("isPartKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// pipeSource serves one object whose bytes the test writes.
type pipeSource struct {
	fakeSource
	pr     *io.PipeReader
	pw     *io.PipeWriter
	closed chan struct{}
	once   sync.Once
}

func newPipeSource(key string) *pipeSource {
	p := &pipeSource{closed: make(chan struct{})}
	p.pr, p.pw = io.Pipe()
	p.open = func(_ context.Context, k string) (io.ReadCloser, error) {
		if k != key {
			return nil, ErrNotLive
		}
		return p, nil
	}
	return p
}

func (p *pipeSource) Read(b []byte) (int, error) { return p.pr.Read(b) }

func (p *pipeSource) Close() error {
	p.once.Do(func() { close(p.closed) })
	return p.pr.Close()
}

func (p *pipeSource) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the origin never closed the source's reader")
	}
}

func liveServer(t *testing.T, src LiveSource) (*env, *httptest.Server) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Live = src
	e := newEnv(t, cfg)
	srv := httptest.NewServer(e.o)
	t.Cleanup(srv.Close)
	return e, srv
}

// readN reads n bytes of a response body, failing after 5 s (the chunk
// was not flushed). A read left running ends when the body is closed.
func readN(t *testing.T, r io.Reader, n int) string {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("reading %d bytes: %v", n, res.err)
		}
		return string(res.b)
	case <-time.After(5 * time.Second):
		t.Fatalf("%d bytes written by the source did not arrive within 5 s", n)
		return ""
	}
}

// A part being produced reaches the client chunk by chunk: the headers at
// once, each write as it is produced, the end when the part is complete.
func TestLivePartStreams(t *testing.T) {
	t.Parallel()
	const key = "live/ch/s1/720p/41.1.m4s"
	src := newPipeSource(key)
	_, srv := liveServer(t, src)

	req, err := http.NewRequest("GET", srv.URL+"/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-1")          // ignored: the whole part
	req.Header.Set("Accept-Encoding", "gzip, br") // never on media
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	// The headers arrived while the source has produced nothing.
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if res.ContentLength != -1 || len(res.TransferEncoding) != 1 || res.TransferEncoding[0] != "chunked" {
		t.Fatalf("Content-Length %d, Transfer-Encoding %v: want chunked of unknown length", res.ContentLength, res.TransferEncoding)
	}
	for name, want := range map[string]string{
		"Content-Type":     "video/iso.segment",
		"Cache-Control":    ccImmutable,
		"Content-Encoding": "",
		"Content-Range":    "",
		"Vary":             "",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, chunk := range []string{"moof-mdat-1|", "moof-mdat-2|"} {
		if _, err := src.pw.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		// The client has this chunk before the part is complete.
		if got := readN(t, res.Body, len(chunk)); got != chunk {
			t.Fatalf("read %q, want %q", got, chunk)
		}
	}
	src.pw.Close()
	rest, err := io.ReadAll(res.Body)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the end: %q, %v; want a clean end", rest, err)
	}
	src.waitClosed(t)
}

// A part that fails while it streams ends as a broken response, never as a
// complete one that a cache could keep.
func TestLivePartBrokenStream(t *testing.T) {
	t.Parallel()
	const key = "live/ch/s1/720p/41.1.m4s"
	src := newPipeSource(key)
	_, srv := liveServer(t, src)
	res, err := http.Get(srv.URL + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if _, err := src.pw.Write([]byte("first")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, res.Body, 5); got != "first" {
		t.Fatalf("read %q", got)
	}
	src.pw.CloseWithError(errors.New("packager stopped"))
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Fatal("the broken part ended like a complete one")
	}
}

// A client that leaves while a part is being produced ends the wait: the
// source's reader is closed.
func TestLivePartClientLeaves(t *testing.T) {
	t.Parallel()
	const key = "live/ch/s1/720p/41.1.m4s"
	src := newPipeSource(key)
	_, srv := liveServer(t, src)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	cancel()
	src.waitClosed(t)
}

func TestLivePartHead(t *testing.T) {
	t.Parallel()
	const key = "live/ch/s1/720p/41.1.m4s"
	src := newPipeSource(key)
	e := liveEnv(t, &src.fakeSource)
	w := e.do("HEAD", "/"+key)
	wantStatus(t, w, http.StatusOK)
	wantHeader(t, w, "Cache-Control", ccImmutable)
	wantHeader(t, w, "Content-Length", "")
	if w.Body.Len() != 0 {
		t.Fatalf("HEAD body %q", w.Body.String())
	}
	src.waitClosed(t)
}

// A segment the source does not serve (out of memory, another node's)
// comes from storage with its validators, length and ranges.
func TestLiveSegmentFallsBackToStorage(t *testing.T) {
	t.Parallel()
	const key = "live/ch/s1/720p/40.m4s"
	src := &fakeSource{open: func(_ context.Context, k string) (io.ReadCloser, error) {
		if k != key {
			t.Errorf("source asked for %q", k)
		}
		return nil, ErrNotLive
	}}
	e := liveEnv(t, src)
	info := e.put(t, key, "0123456789")
	w := e.do("GET", "/"+key)
	wantStatus(t, w, http.StatusOK)
	wantHeader(t, w, "ETag", quote(info.ETag))
	wantHeader(t, w, "Content-Length", "10")
	wantHeader(t, w, "Cache-Control", ccImmutable)
	w = e.do("GET", "/"+key, "Range", "bytes=2-4")
	wantStatus(t, w, http.StatusPartialContent)
	if w.Body.String() != "234" {
		t.Fatalf("range body %q", w.Body.String())
	}
	if src.asked.Load() != 2 {
		t.Fatalf("source asked %d times, want 2", src.asked.Load())
	}
}

// A segment being produced (LL-DASH) streams from the source like a part.
func TestLiveSegmentFromSource(t *testing.T) {
	t.Parallel()
	const key = "live/ch/s1/720p/41.m4s"
	src := newPipeSource(key)
	e, srv := liveServer(t, src)
	e.put(t, key, "stale bytes in storage")
	res, err := http.Get(srv.URL + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != -1 {
		t.Fatalf("status %d, length %d", res.StatusCode, res.ContentLength)
	}
	if _, err := src.pw.Write([]byte("chunk1")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, res.Body, 6); got != "chunk1" {
		t.Fatalf("read %q", got)
	}
	src.pw.Close()
	if rest, err := io.ReadAll(res.Body); err != nil || len(rest) != 0 {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

// A playlist rendered in memory has an ETag from its bytes: conditional
// requests and HEAD work as for stored ones, per encoding.
func TestLivePlaylistValidators(t *testing.T) {
	t.Parallel()
	var body atomic.Value
	body.Store(llPlaylist)
	src := &fakeSource{playlist: func(context.Context, string, url.Values) ([]byte, error) {
		return []byte(body.Load().(string)), nil
	}}
	e := liveEnv(t, src)

	w := e.do("GET", llPath)
	wantStatus(t, w, http.StatusOK)
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Last-Modified") != "" {
		t.Fatalf("ETag %q, Last-Modified %q: want an ETag only", etag, w.Header().Get("Last-Modified"))
	}
	wantHeader(t, w, "Content-Length", fmt.Sprint(len(llPlaylist)))
	wantHeader(t, e.do("GET", llPath), "ETag", etag) // same bytes, same tag

	w = e.do("HEAD", llPath)
	wantStatus(t, w, http.StatusOK)
	wantHeader(t, w, "ETag", etag)
	wantHeader(t, w, "Content-Length", fmt.Sprint(len(llPlaylist)))
	if w.Body.Len() != 0 {
		t.Fatal("HEAD has a body")
	}
	wantStatus(t, e.do("GET", llPath, "If-None-Match", etag), http.StatusNotModified)
	wantStatus(t, e.do("HEAD", llPath, "If-None-Match", etag), http.StatusNotModified)

	// Gzipped: its own tag, and conditional on it.
	w = e.do("GET", llPath, "Accept-Encoding", "gzip")
	wantStatus(t, w, http.StatusOK)
	wantHeader(t, w, "Content-Encoding", "gzip")
	gzTag := w.Header().Get("ETag")
	if gzTag == etag || gunzip(t, w.Body.Bytes()) != llPlaylist {
		t.Fatalf("gzip ETag %q (identity %q)", gzTag, etag)
	}
	wantStatus(t, e.do("GET", llPath, "Accept-Encoding", "gzip", "If-None-Match", gzTag), http.StatusNotModified)

	// New bytes, new tag: the old one no longer matches.
	body.Store(llPlaylist + "#EXT-X-PART:DURATION=0.2,URI=\"41.1.m4s\"\n")
	w = e.do("GET", llPath, "If-None-Match", etag)
	wantStatus(t, w, http.StatusOK)
	if w.Header().Get("ETag") == etag {
		t.Fatal("ETag unchanged for different bytes")
	}
}

// A blocking reload is held as long as the source holds it, and the
// answer is sent as soon as the source returns.
func TestLiveBlockingReloadHeld(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	src := &fakeSource{playlist: func(ctx context.Context, _ string, q url.Values) ([]byte, error) {
		if q.Has("_HLS_msn") {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return []byte(llPlaylist), nil
	}}
	_, srv := liveServer(t, src)
	type result struct {
		status int
		cc     string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.Get(srv.URL + llPath + "?_HLS_msn=41&_HLS_part=1")
		if err != nil {
			done <- result{err: err}
			return
		}
		res.Body.Close()
		done <- result{status: res.StatusCode, cc: res.Header.Get("Cache-Control")}
	}()
	// A plain reload is not held meanwhile.
	res, err := http.Get(srv.URL + llPath)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	select {
	case r := <-done:
		t.Fatalf("the blocking reload was answered before its part: %+v", r)
	default:
	}
	close(release)
	r := <-done
	if r.err != nil || r.status != 200 || r.cc != "public, max-age=6" {
		t.Fatalf("blocking reload: %+v", r)
	}
}
