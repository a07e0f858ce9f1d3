package cli

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newPlainServer answers every request with status and text.
func newPlainServer(t *testing.T, status int, text string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, text, status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// testTusClient talks to s with small chunks and no waiting between retries.
func testTusClient(s *tusServer) *tusClient {
	c := newTusClient(&client{base: s.url, token: adminToken, http: http.DefaultClient})
	c.chunkSize = 64 << 10
	c.retries = 3
	c.backoff = func(int) time.Duration { return 0 }
	return c
}

func TestTusSendRetriesServerErrors(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 000 bytes, 5 chunks
	tests := []struct {
		name     string
		fail     func(n int) int // status to answer the n-th PATCH with, 0 to serve it
		wantErr  string          // "" for success
		patches  int             // PATCH requests that reached the handler
		received int64
	}{
		{"every other request fails", func(n int) int { return []int{0, 503}[n%2] }, "", 9, int64(len(data))},
		{"a 409 makes it re-read the offset", func(n int) int { return map[int]int{2: 409}[n] }, "", 6, int64(len(data))},
		{"persistent 500", func(int) int { return 500 }, "giving up after 4 attempts", 4, 0},
		{"413 is not retried", func(int) int { return 413 }, "the server answered 413", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTusServer(t)
			var calls atomic.Int32
			s.beforePatch = func(w http.ResponseWriter, r *http.Request, _ *fakeUpload, _ int) bool {
				n := int(calls.Add(1)) - 1
				if st := tt.fail(n); st != 0 {
					http.Error(w, "injected", st)
					return true
				}
				return false
			}
			c := testTusClient(s)
			var notices []string
			c.notice = func(m string) { notices = append(notices, m) }
			url, err := c.create(context.Background(), s.url+uploadsPath, int64(len(data)), map[string]string{"filename": "f"})
			if err != nil {
				t.Fatal(err)
			}
			id, err := c.send(context.Background(), url, bytes.NewReader(data), 0, int64(len(data)))
			if tt.wantErr == "" {
				if err != nil || id != "as_test1" {
					t.Fatalf("send: %q, %v", id, err)
				}
				if got := s.upload("up1").data; !bytes.Equal(got, data) {
					t.Errorf("uploaded bytes differ")
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("send: %v; want %q", err, tt.wantErr)
			}
			if int(calls.Load()) != tt.patches {
				t.Errorf("%d PATCH requests, want %d (notices %q)", calls.Load(), tt.patches, notices)
			}
			if _, received := s.stats(); received != tt.received {
				t.Errorf("received %d bytes, want %d", received, tt.received)
			}
		})
	}
}

// A PATCH whose body stops moving is abandoned and resumed.
func TestTusSendStalledRequest(t *testing.T) {
	t.Parallel()
	s := newTusServer(t)
	data := bytes.Repeat([]byte{7}, 200<<10)
	release := make(chan struct{})
	var stalled atomic.Bool
	s.beforePatch = func(w http.ResponseWriter, r *http.Request, _ *fakeUpload, _ int) bool {
		if stalled.CompareAndSwap(false, true) {
			<-release // read nothing: the client's body stops moving
			return true
		}
		return false
	}
	c := testTusClient(s)
	c.stall = 300 * time.Millisecond
	c.respTimeout = 300 * time.Millisecond // the body may fit in the socket buffers
	var notices []string
	c.notice = func(m string) {
		notices = append(notices, m)
		select {
		case <-release:
		default:
			close(release)
		}
	}
	url, err := c.create(context.Background(), s.url+uploadsPath, int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.send(context.Background(), url, bytes.NewReader(data), 0, int64(len(data))); err != nil {
		t.Fatalf("send: %v (notices %q)", err, notices)
	}
	// The stalled PATCH is noticed and retried. (On a loaded machine the
	// retry's answer may itself take longer than the 300 ms allowed and be
	// retried again, so only the first notice is pinned down.)
	if len(notices) == 0 || !strings.Contains(notices[0], "300ms") {
		t.Errorf("notices %q", notices)
	}
	if !bytes.Equal(s.upload("up1").data, data) {
		t.Error("uploaded bytes differ")
	}
}

func TestTusOffsetOfUnknownUpload(t *testing.T) {
	t.Parallel()
	s := newTusServer(t)
	c := testTusClient(s)
	_, err := c.offset(context.Background(), s.url+"/api/v1/uploads/nope")
	if !errors.Is(err, errUploadGone) || retryable(err) {
		t.Fatalf("offset: %v", err)
	}
	url, err := c.create(context.Background(), s.url+uploadsPath, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.terminate(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	if _, err := c.offset(context.Background(), url); !errors.Is(err, errUploadGone) {
		t.Errorf("offset after terminate: %v", err)
	}
}

func TestEncodeMetadata(t *testing.T) {
	t.Parallel()
	got := encodeMetadata(map[string]string{"title": "Été", "filename": "a b.mp4"})
	if want := "filename YSBiLm1wNA==,title w4l0w6k="; got != want {
		t.Errorf("encodeMetadata = %q, want %q", got, want)
	}
}

func TestResumeStore(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "osprey", "uploads.json")
	s := resumeStore{path: path, now: func() time.Time { return now }}
	mtime := now.Add(-time.Hour)
	k1 := resumeKey("http://a", "/f1", 10, mtime)
	k2 := resumeKey("http://a", "/f1", 11, mtime) // same file, other size
	if k1 == k2 || k1 == resumeKey("http://b", "/f1", 10, mtime) || k1 == resumeKey("http://a", "/f1", 10, now) {
		t.Fatal("keys do not tell server, size and mtime apart")
	}
	if err := s.put(k1, resumeRecord{URL: "u1", Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.put(k2, resumeRecord{URL: "u2", Created: now.Add(-resumeTTL - time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := s.get(k1); err != nil || !ok || r.URL != "u1" {
		t.Errorf("get k1: %+v %v %v", r, ok, err)
	}
	if _, ok, _ := s.get(k2); ok {
		t.Error("an expired record is still offered")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("records file: %v, %v", fi, err)
	}
	if err := s.remove(k1); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the records file outlives its last record: %v", err)
	}
	// A damaged file costs resumability, not the upload.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.get(k1); ok || err != nil {
		t.Errorf("get from a damaged file: %v %v", ok, err)
	}
	if err := s.put(k1, resumeRecord{URL: "u3", Created: now}); err != nil {
		t.Fatal(err)
	}
	if r, ok, _ := s.get(k1); !ok || r.URL != "u3" {
		t.Errorf("after rewriting a damaged file: %+v %v", r, ok)
	}
	// No path: resuming is off, and nothing fails.
	off := resumeStore{now: time.Now}
	if err := off.put(k1, resumeRecord{}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := off.get(k1); ok || err != nil {
		t.Errorf("disabled store: %v %v", ok, err)
	}
}

func TestProgressMeterLines(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var out bytes.Buffer
	p := newProgressMeter(&out, 100e6, clock)
	p.begin(20e6) // resumed at 20 %
	for done := int64(21e6); done <= 100e6; done += 1e6 {
		now = now.Add(100 * time.Millisecond) // 10 MB/s
		p.update(done)
	}
	p.finish()
	p.finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d lines, want 9 (20 %%, 30 %%, ..., 100 %%):\n%s", len(lines), out.String())
	}
	if lines[0] != "uploaded  20%: 20.0 MB of 100.0 MB" {
		t.Errorf("first line %q", lines[0])
	}
	if want := "uploaded  50%: 50.0 MB of 100.0 MB, 10.0 MB/s, ETA 0:05"; lines[3] != want {
		t.Errorf("line %q, want %q", lines[3], want)
	}
	if !strings.HasPrefix(lines[8], "uploaded 100%: 100.0 MB of 100.0 MB, 10.0 MB/s") || strings.Contains(lines[8], "ETA") {
		t.Errorf("last line %q", lines[8])
	}
}

func TestProgressMeterTerminal(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	p := newProgressMeter(&out, 10e6, func() time.Time { return now })
	p.tty = true
	p.begin(0)
	now = now.Add(time.Second)
	p.update(5e6)
	p.update(6e6) // within the redraw interval: not drawn
	p.note("a note")
	p.finish()
	s := out.String()
	if !strings.Contains(s, "\r\x1b[K 50.0% [===============               ] 5.0 MB of 10.0 MB, 5.0 MB/s, ETA 0:01") {
		t.Errorf("no 50%% bar in %q", s)
	}
	if strings.Contains(s[:strings.Index(s, "a note")], " 60.0%") {
		t.Errorf("redrawn within %s: %q", redrawEvery, s)
	}
	if !strings.Contains(s, "\r\x1b[Ka note\n") || !strings.HasSuffix(s, "\n") {
		t.Errorf("note or final newline missing: %q", s)
	}
}
