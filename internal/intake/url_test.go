package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serveBytes serves data; a Content-Disposition of "" is left out.
func serveBytes(t *testing.T, data []byte, disposition string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if disposition != "" {
			w.Header().Set("Content-Disposition", disposition)
		}
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func addrPort(t *testing.T, srv *httptest.Server) netip.AddrPort {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func TestFromURLRefusesLoopbackByDefault(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	port := addrPort(t, srv).Port()
	s, _ := newTestService(t)
	for _, tt := range []struct{ raw, reason string }{
		{srv.URL + "/video.mp4", "a loopback address"},
		{"http://localhost:" + strconv.Itoa(int(port)) + "/video.mp4", "this machine (a loopback name)"}, // refused before any lookup
	} {
		_, err := s.FromURL(context.Background(), tt.raw)
		wantErrorStatus(t, err, http.StatusUnprocessableEntity, tt.reason)
		wantErrorStatus(t, err, http.StatusUnprocessableEntity, "vod.allow_private_urls")
	}
	if hits.Load() != 0 {
		t.Fatalf("the loopback server got %d requests", hits.Load())
	}
	if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
		t.Fatalf("uploads folder holds %v", names)
	}
}

func TestFromURLAllowedWithOption(t *testing.T) {
	t.Parallel()
	data := randomBytes(t, 100<<10)
	tests := []struct {
		name, disposition, path, want string
	}{
		{"name from Content-Disposition", `attachment; filename="My Talk.mp4"`, "/dl?id=7", "My Talk.mp4"},
		{"RFC 5987 name", `attachment; filename*=UTF-8''caf%C3%A9.mov`, "/dl", "café.mov"},
		{"name from the path", "", "/media/clip%20one.mkv", "clip one.mkv"},
		{"no name", "", "/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := serveBytes(t, data, tt.disposition)
			s, _ := newTestService(t, func(c *Config) { c.AllowPrivateURLs = true })
			f, err := s.FromURL(context.Background(), srv.URL+tt.path+"#frag")
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(f.Path)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("downloaded file differs (err %v)", err)
			}
			if f.Filename != tt.want || f.Origin != "url" || f.URL != RedactURL(srv.URL+tt.path) || f.Size != int64(len(data)) {
				t.Fatalf("File = %+v", f)
			}
		})
	}
}

func TestFromURLRedirectToLoopbackRefused(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(private.Close)
	public := httptest.NewServer(http.RedirectHandler(private.URL+"/secret", http.StatusFound))
	t.Cleanup(public.Close)

	s, _ := newTestService(t)
	// Treat the first server as if it were on the internet.
	publicAddr := addrPort(t, public)
	s.allowAddr = func(ap netip.AddrPort) bool { return ap == publicAddr }

	_, err := s.FromURL(context.Background(), public.URL+"/video.mp4")
	wantErrorStatus(t, err, http.StatusUnprocessableEntity, "a loopback address")
	if hits.Load() != 0 {
		t.Fatal("the redirect reached the private server")
	}
}

func TestFromURLTooManyRedirects(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		http.Redirect(w, r, srv.URL+"/r"+strconv.Itoa(int(n)), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	s, _ := newTestService(t, func(c *Config) { c.AllowPrivateURLs = true })
	_, err := s.FromURL(context.Background(), srv.URL)
	wantErrorStatus(t, err, http.StatusUnprocessableEntity, "more than 5 redirects")
	if n := hits.Load(); n != 6 {
		t.Fatalf("server got %d requests, want 6 (the first and five redirects)", n)
	}
}

func TestFromURLSizeLimit(t *testing.T) {
	t.Parallel()
	const max = 1000
	big := bytes.Repeat([]byte("z"), 5*max)
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"Content-Length over the limit", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(big) }},
		{"chunked, over the limit while copying", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < 5; i++ {
				_, _ = w.Write(big[:max])
				w.(http.Flusher).Flush()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			s, _ := newTestService(t, func(c *Config) { c.AllowPrivateURLs = true; c.MaxSize = max })
			_, err := s.FromURL(context.Background(), srv.URL)
			wantErrorStatus(t, err, http.StatusRequestEntityTooLarge, "larger than the limit")
			if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
				t.Fatalf("uploads folder holds %v", names)
			}
		})
	}
}

func TestFromURLSourceFailures(t *testing.T) {
	t.Parallel()
	stall := func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("some"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	trickle := func(w http.ResponseWriter, r *http.Request) {
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	// Each case leaves the limit it does not test far away, so a loaded
	// machine's late timers cannot make the other one fire first.
	const idle, total = 200 * time.Millisecond, 600 * time.Millisecond
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		idle, total time.Duration
		msg         string
		retry       bool // worth trying again later
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, idle, total, `"404 Not Found"`, false},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, idle, total, "empty file", false},
		{"stalls", stall, idle, 20 * time.Second, "no data for 200ms", true},
		{"too slow in all", trickle, 10 * time.Second, total, "the download took longer than 600ms", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			s, _ := newTestService(t, func(c *Config) {
				c.AllowPrivateURLs = true
				c.FetchIdle = tt.idle
				c.FetchTimeout = tt.total
			})
			_, err := s.FromURL(context.Background(), srv.URL+"/v.mp4")
			wantErrorStatus(t, err, http.StatusUnprocessableEntity, tt.msg)
			if ie := (*Error)(nil); errors.As(err, &ie) && ie.Retry != tt.retry {
				t.Errorf("Retry = %v, want %v", ie.Retry, tt.retry)
			}
			if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
				t.Fatalf("uploads folder holds %v", names)
			}
		})
	}
}

func TestFromURLBadInput(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t)
	tests := []struct {
		raw    string
		status int
		msg    string
	}{
		{"", 400, "source_url is required"},
		{"ftp://example.com/a.mp4", 400, "http or https"},
		{"file:///etc/passwd", 400, "http or https"},
		{"example.com/a.mp4", 400, "http or https"},
		{"http:///a.mp4", 400, "no host"},
		{"http://exa mple.com/", 400, "not a valid URL"},
		{"http://169.254.169.254/latest/meta-data/", 422, "link-local"},
		{"http://[::1]:8080/", 422, "loopback"},
		{"http://10.0.0.5/a.mp4", 422, "a private address"},
		{"http://[::ffff:192.168.0.1]/", 422, "leads to 192.168.0.1, a private address"},
		{"http://0.0.0.0:80/", 422, "unspecified"},
		{"https://100.64.1.1/", 422, "carrier-grade NAT"},
		{"http://" + strings.Repeat("a", 9000) + ".com/", 400, "longer than"},
	}
	for _, tt := range tests {
		_, err := s.FromURL(context.Background(), tt.raw)
		wantErrorStatus(t, err, tt.status, tt.msg)
	}
}

// TestFetch checks the download of a URL import: into the named file,
// replacing an earlier attempt's, with progress, the URL's secrets kept
// out of the File, and failures of the server marked for a retry.
func TestFetch(t *testing.T) {
	t.Parallel()
	data := randomBytes(t, 300<<10)
	srv := serveBytes(t, data, "")
	s, _ := newTestService(t, func(c *Config) { c.AllowPrivateURLs = true })
	writeFile(t, filepath.Join(uploadsDir(s), "url-as_1.part"), []byte("an interrupted attempt's bytes, longer than nothing"))
	var last, total int64
	f, err := s.Fetch(context.Background(), srv.URL+"/v.mp4?X-Amz-Signature=SECRET", "url-as_1", func(n, t int64) { last, total = n, t })
	if err != nil {
		t.Fatal(err)
	}
	if f.Path != filepath.Join(uploadsDir(s), "url-as_1.part") || f.Filename != "v.mp4" || strings.Contains(f.URL, "SECRET") {
		t.Fatalf("File = %+v", f)
	}
	if got, _ := os.ReadFile(f.Path); !bytes.Equal(got, data) {
		t.Fatal("downloaded file differs")
	}
	if last != int64(len(data)) || (total != int64(len(data)) && total != -1) {
		t.Errorf("progress ended at %d of %d, want %d of %d", last, total, len(data), len(data))
	}
	for _, bad := range []string{"", "../x", ".hidden", "a/b"} {
		if _, err := s.Fetch(context.Background(), srv.URL, bad, nil); err == nil {
			t.Errorf("Fetch to %q succeeded", bad)
		}
	}

	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(status)
	}))
	t.Cleanup(fail.Close)
	for _, tt := range []struct {
		status int
		retry  bool
	}{{503, true}, {500, true}, {429, true}, {404, false}, {403, false}} {
		_, err := s.Fetch(context.Background(), fail.URL+"/"+strconv.Itoa(tt.status)+"?token=SECRET", "url-as_2", nil)
		var ie *Error
		if !errors.As(err, &ie) || ie.Retry != tt.retry || strings.Contains(ie.Message, "SECRET") {
			t.Errorf("status %d: error %#v, want an *Error with Retry %v", tt.status, err, tt.retry)
		}
	}
	if names := dirNames(t, uploadsDir(s)); len(names) != 1 {
		t.Errorf("uploads folder holds %v, want only the downloaded file", names)
	}
}

// Review of issue 9: "localhost" (and its subdomains, any case, with a
// final dot) is refused when the URL is checked, before any request or
// name lookup, with the message every other non-public host gets; with
// vod.allow_private_urls it passes.
func TestCheckURLRefusesLocalhostEarly(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t)
	const shape = "refusing to fetch the source URL: it leads to %s, %s; " +
		"fetching from non-public addresses is disabled (set vod.allow_private_urls to allow it)"
	for _, tt := range []struct{ raw, dest, reason string }{
		{"http://127.0.0.1/a.mp4", "127.0.0.1", "a loopback address"},
		{"http://10.1.2.3:8080/a.mp4", "10.1.2.3", "a private address"},
		{"http://localhost/a.mp4", "localhost", "this machine (a loopback name)"},
		{"https://LOCALHOST.:8443/a.mp4", "LOCALHOST.", "this machine (a loopback name)"},
		{"http://media.localhost/a.mp4", "media.localhost", "this machine (a loopback name)"},
	} {
		err := s.CheckURL(tt.raw)
		var ie *Error
		if !errors.As(err, &ie) {
			t.Errorf("%s: error %v, want an *Error", tt.raw, err)
			continue
		}
		if want := fmt.Sprintf(shape, tt.dest, tt.reason); ie.Status != http.StatusUnprocessableEntity || ie.Message != want {
			t.Errorf("%s: %d %q, want 422 %q", tt.raw, ie.Status, ie.Message, want)
		}
	}
	for _, raw := range []string{"http://localhost.example.com/a.mp4", "http://example.com/localhost"} {
		if err := s.CheckURL(raw); err != nil {
			t.Errorf("%s: %v, want no refusal (not a loopback name)", raw, err)
		}
	}
	open, _ := newTestService(t, func(c *Config) { c.AllowPrivateURLs = true })
	if err := open.CheckURL("http://localhost/a.mp4"); err != nil {
		t.Errorf("with AllowPrivateURLs: %v", err)
	}
}
