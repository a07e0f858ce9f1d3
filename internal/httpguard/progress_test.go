package httpguard

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// bigHandler writes size bytes and reports how its writing ended.
func bigHandler(size int, result chan<- error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		buf := bytes.Repeat([]byte("m"), 64<<10)
		var err error
		for n := 0; n < size && err == nil; n += len(buf) {
			_, err = w.Write(buf)
		}
		result <- err
	})
}

// A client that stops reading a response is cut after progress_timeout.
func TestStalledReaderCut(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) { s.ProgressTimeout = 300 * time.Millisecond })
	result := make(chan error, 1)
	_, addr := startServer(t, g, bigHandler(512<<20, result), nil)
	c := dialFrom(t, "127.0.0.1", addr)
	defer c.Close()
	if _, err := c.Write([]byte("GET /media/big HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	// Read nothing.
	select {
	case err := <-result:
		if err == nil {
			t.Fatal("the handler wrote 512 MiB to a client that reads nothing")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the stalled reader was not cut")
	}
}

// A slow but steady reader gets the whole response, though it takes
// several times progress_timeout: the deadline is not a total.
func TestSlowSteadyReaderServed(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) { s.ProgressTimeout = 500 * time.Millisecond })
	result := make(chan error, 1)
	const size = 3 << 20
	_, addr := startServer(t, g, bigHandler(size, result), nil)
	c := dialFrom(t, "127.0.0.1", addr)
	defer c.Close()
	// A small receive buffer, so the server's writes really wait on us.
	_ = c.(*net.TCPConn).SetReadBuffer(64 << 10)
	if _, err := c.Write([]byte("GET /media/big HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	got := 0
	for {
		n, err := resp.Body.Read(buf)
		got += n
		if err != nil {
			if err != io.EOF {
				t.Fatalf("after %d bytes in %s: %v", got, time.Since(start), err)
			}
			break
		}
		time.Sleep(15 * time.Millisecond) // about 2 MiB/s
	}
	if got != size {
		t.Fatalf("got %d bytes, want %d", got, size)
	}
	if err := <-result; err != nil {
		t.Fatalf("handler: %v", err)
	}
	if el := time.Since(start); el < time.Second {
		t.Logf("took only %s; the test wants several progress timeouts", el)
	}
}

// A handler that takes longer than progress_timeout before its first byte
// is still delivered, and a keep-alive connection that waits longer than
// progress_timeout between requests still works: no deadline is left over.
func TestNoStaleDeadlines(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) { s.ProgressTimeout = 200 * time.Millisecond })
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		// Reading again after the end (decoders do) must not set a
		// deadline under net/http's background read (past the throttle
		// on moving deadlines).
		time.Sleep(100 * time.Millisecond)
		_, _ = r.Body.Read(make([]byte, 1))
		if r.URL.Query().Get("wait") != "" {
			select {
			case <-time.After(600 * time.Millisecond):
			case <-r.Context().Done():
				http.Error(w, "context cancelled", 500)
				return
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
	_, addr := startServer(t, g, slow, nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(url string) string {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	if got := get("http://" + addr + "/media/a?wait=1"); got != "200 ok" {
		t.Errorf("slow first byte: %s", got)
	}
	// With a body too (the background read after the body's end).
	resp, err := client.Post("http://"+addr+"/up/x?wait=1", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Errorf("slow POST: %d %s", resp.StatusCode, b)
	}
	time.Sleep(500 * time.Millisecond) // an idle keep-alive gap longer than progress_timeout
	if got := get("http://" + addr + "/media/b"); got != "200 ok" {
		t.Errorf("after an idle gap: %s", got)
	}
}

// A request body that stops arriving is cut after progress_timeout; a
// slow steady one is read whole.
func TestRequestBodyProgress(t *testing.T) {
	t.Parallel()
	g := newGuard(t, func(s *Options) { s.ProgressTimeout = 300 * time.Millisecond })
	result := make(chan error, 2)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err == nil && n != r.ContentLength {
			err = fmt.Errorf("read %d of %d", n, r.ContentLength)
		}
		result <- err
	})
	_, addr := startServer(t, g, h, nil)

	// Stalled: says 1 MiB, sends 10 bytes, stops.
	c := dialFrom(t, "127.0.0.1", addr)
	defer c.Close()
	fmt.Fprintf(c, "PATCH /up/1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n0123456789", 1<<20)
	select {
	case err := <-result:
		if err == nil {
			t.Fatal("a stalled body was read to the end")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stalled body was not cut")
	}

	// Steady: 40 pieces of 1 KiB, 25ms apart (1s, more than the timeout).
	c2 := dialFrom(t, "127.0.0.1", addr)
	defer c2.Close()
	fmt.Fprintf(c2, "PATCH /up/2 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 40<<10)
	for range 40 {
		if _, err := c2.Write(bytes.Repeat([]byte("b"), 1<<10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if err := <-result; err != nil {
		t.Fatalf("steady upload: %v", err)
	}
}

// Files served through the guard arrive whole and byte for byte, ranges
// included (the chunked ReadFrom path).
func TestServeFileThroughGuard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := make([]byte, 3<<20+123)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := dir + "/seg.m4s"
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, nil)
	_, addr := startServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, path)
	}), nil)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range []struct {
		rng        string
		from, to   int
		wantStatus int
	}{
		{"", 0, len(data), 200},
		{"bytes=100-2999999", 100, 3000000, 206},
		{"bytes=-1000", len(data) - 1000, len(data), 206},
	} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/media/seg.m4s", nil)
		if tt.rng != "" {
			req.Header.Set("Range", tt.rng)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tt.wantStatus || !bytes.Equal(body, data[tt.from:tt.to]) {
			t.Errorf("Range %q: %d, %d bytes, %v; want %d, %d bytes", tt.rng, resp.StatusCode, len(body), err, tt.wantStatus, tt.to-tt.from)
		}
	}
}

// ReadFrom consumes exactly what a LimitedReader allows, and says so in it.
func TestProgressReadFromLimited(t *testing.T) {
	t.Parallel()
	rec := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	p := &progressWriter{ResponseWriter: rec, d: nopDeadliner{}, timeout: time.Minute}
	src := strings.NewReader(strings.Repeat("z", 600<<10))
	lr := &io.LimitedReader{R: src, N: 500 << 10}
	n, err := p.ReadFrom(lr)
	if err != nil || n != 500<<10 || lr.N != 0 || rec.Body.Len() != 500<<10 {
		t.Fatalf("n %d, err %v, left %d, body %d", n, err, lr.N, rec.Body.Len())
	}
	if rec.calls != 2 {
		t.Errorf("%d ReadFrom calls, want 2 chunks", rec.calls)
	}
	n, err = p.ReadFrom(src) // the rest, to EOF
	if err != nil || n != 100<<10 {
		t.Fatalf("rest: %d %v", n, err)
	}
}

type readFromRecorder struct {
	*httptest.ResponseRecorder
	calls int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.calls++
	return io.Copy(r.ResponseRecorder, src)
}

type nopDeadliner struct{}

func (nopDeadliner) SetReadDeadline(time.Time) error  { return nil }
func (nopDeadliner) SetWriteDeadline(time.Time) error { return nil }

// LimitStall shortens the progress deadline of one response: a client
// that stops reading it is cut after the handler's limit, not after
// progress_timeout; a limit longer than progress_timeout does not lengthen
// it; and a writer that is not behind a guard is reported as such.
func TestLimitStall(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		progress, limit time.Duration
		atLeast, atMost time.Duration
	}{
		{"shorter limit wins", 10 * time.Minute, 500 * time.Millisecond, 250 * time.Millisecond, 8 * time.Second},
		{"progress timeout stays a ceiling", 500 * time.Millisecond, 10 * time.Minute, 250 * time.Millisecond, 8 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := newGuard(t, func(s *Options) { s.ProgressTimeout = tt.progress })
			type result struct {
				guarded bool
				err     error
				blocked time.Duration // how long the failing write waited
			}
			done := make(chan result, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Through a wrapper, as the edge's access-log recorder is.
				w = wrapped{w}
				var res result
				res.guarded = LimitStall(w, tt.limit)
				buf := bytes.Repeat([]byte("m"), 64<<10)
				for n := 0; n < 512<<20 && res.err == nil; n += len(buf) {
					start := time.Now()
					_, res.err = w.Write(buf)
					res.blocked = time.Since(start)
				}
				done <- res
			})
			_, addr := startServer(t, g, h, nil)
			c := dialFrom(t, "127.0.0.1", addr)
			defer c.Close()
			_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
			if _, err := c.Write([]byte("GET /media/big HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			select {
			case res := <-done:
				if !res.guarded {
					t.Fatal("LimitStall did not find the guard")
				}
				if res.err == nil {
					t.Fatal("the handler wrote 512 MiB to a client that reads nothing")
				}
				if res.blocked < tt.atLeast || res.blocked > tt.atMost {
					t.Errorf("the last write waited %v, want about %v", res.blocked, min(tt.progress, tt.limit))
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the stalled reader was not cut")
			}
		})
	}
	if LimitStall(httptest.NewRecorder(), time.Second) {
		t.Error("LimitStall reported a guard in front of a bare recorder")
	}
}

// wrapped is a ResponseWriter wrapper that unwraps.
type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }
