package vod

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
)

const secret = "s3cr3tSIGNATURE"

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// withFetcher gives the env's service a real intake fetcher that may
// reach the test servers on loopback.
func (e *env) withFetcher() *intake.Service {
	e.t.Helper()
	in, err := intake.New(intake.Config{DataDir: e.dir, AllowPrivateURLs: true, Creator: e.svc, Log: e.svc.cfg.Log})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = in.Close() })
	e.svc.UseFetcher(in)
	return in
}

// waitLastEvent waits for the last event about asset id to be of type typ
// (the pipeline emits after it writes the catalog) and returns the types.
func (e *env) waitLastEvent(id, typ string) []string {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := e.events.types(id)
		if len(got) > 0 && got[len(got)-1] == typ {
			return got
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("events of %s: %v, want the last one %s", id, got, typ)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// jobArgs returns the stored arguments of the asset's import job,
// the first job inserted for it.
func (e *env) jobArgs(assetID string) []string {
	e.t.Helper()
	rows, err := e.cat.DB().QueryContext(e.ctx, "SELECT json(args) FROM river_job WHERE json_extract(args, '$.asset_id') = ? ORDER BY id", assetID)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestImportURL imports a clip from a presigned-looking URL: the asset is
// importing at once, then ready; the signature is in no log line, asset
// row or event, and not left in the job's arguments either.
func TestImportURL(t *testing.T) {
	logs := &syncBuffer{}
	e := newEnv(t, envOptions{log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	e.withFetcher()
	clip, err := os.ReadFile(makeClip(t, t.TempDir(), "clip.mp4", 2))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release // the asset is seen importing first
		w.Header().Set("Content-Disposition", `attachment; filename="talk.mp4"`)
		http.ServeContent(w, r, "talk.mp4", time.Time{}, bytes.NewReader(clip))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	e.start()

	url := srv.URL + "/dl/v.mp4?X-Amz-Date=20260101T000000Z&X-Amz-Signature=" + secret
	a, err := e.svc.ImportURL(e.ctx, url, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != catalog.AssetImporting || a.Title != "v" || a.Source.Origin != "url" || a.JobID == 0 ||
		a.Source.URL != srv.URL+"/dl/v.mp4?X-Amz-Date=20260101T000000Z&X-Amz-Signature=REDACTED" {
		t.Fatalf("ImportURL returned %+v", a)
	}
	e.waitAsset(a.ID, 10*time.Second, "importing", func(a catalog.Asset) bool { return a.Status == catalog.AssetImporting && a.Attempts == 1 })
	close(release)
	a = e.waitDone(a.ID)
	if a.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", a.Status, a.Error)
	}
	if a.Title != "talk" || a.Source.Filename != "talk.mp4" || a.Source.Size != int64(len(clip)) {
		t.Errorf("asset %+v", a)
	}
	if got := e.waitLastEvent(a.ID, eventReady); got[0] != eventCreated {
		t.Errorf("events %v", got)
	}
	for _, st := range e.cat.states(a.ID) {
		if strings.Contains(st.Source.URL, secret) {
			t.Fatalf("the catalog stored the secret: %q", st.Source.URL)
		}
	}
	var row string
	if err := e.cat.DB().QueryRowContext(e.ctx, "SELECT source_url FROM assets WHERE id = ?", a.ID).Scan(&row); err != nil || strings.Contains(row, secret) {
		t.Errorf("source_url %q (%v)", row, err)
	}
	args := e.jobArgs(a.ID)
	if len(args) != 2 {
		t.Fatalf("jobs of the asset: %v, want the import and the processing", args)
	}
	for _, arg := range args {
		if strings.Contains(arg, secret) {
			t.Errorf("a finished job keeps the URL: %s", arg)
		}
	}
	var prio int
	if err := e.cat.DB().QueryRowContext(e.ctx, "SELECT priority FROM river_job WHERE id = ?", a.JobID).Scan(&prio); err != nil || prio != 1 {
		t.Errorf("processing job priority %d (%v), want 1", prio, err)
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("the log shows the secret:\n%s", logs.String())
	}
	if files := filesIn(t, e.dir+"/uploads"); len(files) != 0 {
		t.Errorf("uploads left: %v", files)
	}
}

// TestImportURLFailures checks that a refused URL never becomes an asset,
// that a source the server does not have fails the asset at once with the
// server's answer, and that a failing server is tried MaxAttempts times.
func TestImportURLFailures(t *testing.T) {
	e := newEnv(t, envOptions{maxAttempts: 2, retryUnit: 10 * time.Millisecond})
	e.withFetcher()
	var hits503 atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/busy") {
			hits503.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	e.start()

	var ie *intake.Error
	if _, err := e.svc.ImportURL(e.ctx, "ftp://example.com/x?token="+secret, "", 0); !errors.As(err, &ie) || ie.Status != 400 || strings.Contains(ie.Message, secret) {
		t.Errorf("ftp URL: %v, want a 400 *intake.Error without the secret", err)
	}

	gone, err := e.svc.ImportURL(e.ctx, srv.URL+"/gone.mp4?sig="+secret, "Gone", 0)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := e.svc.ImportURL(e.ctx, srv.URL+"/busy.mp4", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	a := e.waitDone(gone.ID)
	if a.Status != catalog.AssetFailed || a.Error != `fetching the source URL failed: the server answered "404 Not Found"` || a.Attempts != 1 {
		t.Errorf("gone: status %s, error %q, attempts %d", a.Status, a.Error, a.Attempts)
	}
	b := e.waitDone(busy.ID)
	if b.Status != catalog.AssetFailed || !strings.Contains(b.Error, "503") || hits503.Load() != 2 {
		t.Errorf("busy: status %s, error %q, %d requests", b.Status, b.Error, hits503.Load())
	}
	for _, id := range []string{gone.ID, busy.ID} {
		if got := e.waitLastEvent(id, eventFailed); strings.Join(got, ",") != eventCreated+","+eventFailed {
			t.Errorf("events %v", got)
		}
		for _, arg := range e.jobArgs(id) {
			if strings.Contains(arg, secret) || strings.Contains(arg, "/busy.mp4") {
				t.Errorf("a failed import keeps its URL: %s", arg)
			}
		}
	}
}

// TestCancelImport cancels an asset while its source downloads: the
// download stops, the asset ends failed "cancelled", nothing is stored.
func TestCancelImport(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withFetcher()
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		_, _ = w.Write(make([]byte, 1000))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done() // never sends the rest
	}))
	t.Cleanup(srv.Close)
	e.start()
	a, err := e.svc.ImportURL(e.ctx, srv.URL+"/slow.mp4", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	c, err := e.svc.Cancel(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != catalog.AssetFailed || c.Error != "cancelled" {
		t.Fatalf("after Cancel: %s %q", c.Status, c.Error)
	}
	e.waitJob(a.JobID, "cancelled")
	if got := e.files("sources"); len(got) != 0 {
		t.Errorf("sources stored: %v", got)
	}
	if got := filesIn(t, e.dir+"/uploads"); len(got) != 0 {
		t.Errorf("uploads left: %v", got)
	}
}

func TestURLFilename(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"https://h/films/intro.mp4?sig=x", "intro.mp4"},
		{"https://h/films/", ""},
		{"https://h", ""},
		{"https://h/a%0Ab%09c.mp4", "abc.mp4"},
		{"https://h/..", ""},
		{"::", ""},
	} {
		if got := urlFilename(tt.in); got != tt.want {
			t.Errorf("urlFilename(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
