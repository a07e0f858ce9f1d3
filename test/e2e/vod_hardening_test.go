package e2e

import (
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestVODTruncatedSourceFails uploads the first third of a faststart MP4
// (its index intact, most of its media missing): the asset fails with a
// sentence that says the file is cut short, and a good file uploaded after
// it is processed (the queue goes on).
func TestVODTruncatedSourceFails(t *testing.T) {
	s := startOsprey(t)
	dir := t.TempDir()
	full := makeSource(t, dir, "full.mp4", join(videoIn("320x240", 12), toneIn(12),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart"})...)
	cut := filepath.Join(dir, "cut.mp4")
	st, err := os.Stat(full)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runShell(fmt.Sprintf("head -c %d %q > %q", st.Size()/3, full, cut)); err != nil {
		t.Fatalf("head -c: %v %s", err, out)
	}
	code, bad, raw := s.uploadMultipart(cut, "cut")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	code, good, raw := s.uploadMultipart(full, "whole")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	a := s.waitAsset(bad.ID, 120*time.Second)
	if a.Status != "failed" || !strings.HasPrefix(a.Error, "the file is cut short: it says it lasts 12.0 s, but only the first ") ||
		!strings.Contains(a.Error, "send the whole file again") {
		t.Fatalf("cut file: %s %q, want failed, cut short", a.Status, a.Error)
	}
	if a.Attempts != 1 {
		t.Errorf("cut file: %d attempts, want 1 (a damaged file is not retried)", a.Attempts)
	}
	if g := s.waitAsset(good.ID, 120*time.Second); g.Status != "ready" || g.Duration < 11.5 {
		t.Fatalf("whole file after it: %s %q, %.1f s", g.Status, g.Error, g.Duration)
	}
}

func runShell(script string) ([]byte, error) {
	return exec.Command("sh", "-c", script).CombinedOutput()
}

// TestVODPlaylistInDisguiseRefused uploads a ".mp4" that is an HLS
// playlist naming a local file: the asset fails, saying it is a playlist,
// and the named file is never opened (it is a FIFO whose writer would
// learn it).
func TestVODPlaylistInDisguiseRefused(t *testing.T) {
	s := startOsprey(t)
	dir := t.TempDir()
	segment := makeSource(t, dir, "seg.ts", join(videoIn("320x240", 2), []string{"-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts"})...)
	data, err := os.ReadFile(segment)
	if err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "secret.ts")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var opened, releasing atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // returns once a reader opens it
		if err != nil {
			return
		}
		defer f.Close()
		if releasing.Load() {
			return // opened by the cleanup, not by osprey
		}
		opened.Store(true)
		_, _ = f.Write(data)
	}()
	t.Cleanup(func() {
		releasing.Store(true)
		if r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			_, _ = io.Copy(io.Discard, r) // until the writer closes
			<-done
			_ = r.Close()
		}
	})
	evil := filepath.Join(dir, "holiday.mp4")
	playlist := "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nfile://" + fifo + "\n#EXT-X-ENDLIST\n"
	if err := os.WriteFile(evil, []byte(playlist), 0o644); err != nil {
		t.Fatal(err)
	}
	code, a, raw := s.uploadMultipart(evil, "")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	a = s.waitAsset(a.ID, 60*time.Second)
	if a.Status != "failed" || !strings.HasPrefix(a.Error, "the file is a playlist (hls), not a video or audio file") {
		t.Fatalf("asset %s %q, want failed as a playlist", a.Status, a.Error)
	}
	if opened.Load() {
		t.Error("osprey opened the file the playlist names")
	}
}

// vodImportConfig allows URL imports and webhooks to loopback test servers.
func vodImportConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "osprey.yaml")
	cfg := "vod:\n  allow_private_urls: true\nwebhooks:\n  allow_private_urls: true\n"
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gatedSource serves a file at any path; while gate is closed it sends the
// first chunk and then holds the response open until the gate opens.
type gatedSource struct {
	data []byte
	gate chan struct{}

	mu       sync.Mutex
	requests []string // full request URIs, secrets included
}

func (g *gatedSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.RequestURI)
	g.mu.Unlock()
	w.Header().Set("Content-Length", fmt.Sprint(len(g.data)))
	w.Header().Set("Content-Type", "video/mp4")
	first := min(len(g.data), 64<<10)
	if _, err := w.Write(g.data[:first]); err != nil {
		return
	}
	w.(http.Flusher).Flush()
	select {
	case <-g.gate:
	case <-r.Context().Done():
		return
	}
	_, _ = w.Write(g.data[first:])
}

func serveGated(t *testing.T, data []byte) (*gatedSource, string) {
	t.Helper()
	g := &gatedSource{data: data, gate: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return g, "http://" + ln.Addr().String()
}

// TestVODURLImportKeepsSecrets imports a source from a presigned-looking
// URL: POST answers 202 at once with the asset importing, the asset shows
// the download's progress and becomes ready; the signature and token are
// in no API response, log line, webhook payload or catalog row (the import
// job's arguments are wiped once it is done).
func TestVODURLImportKeepsSecrets(t *testing.T) {
	const secret = "AKIAe2eSECRETsignature0123456789"
	s := startOsprey(t, "--config", vodImportConfig(t))
	var mu sync.Mutex
	var payloads []string
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		payloads = append(payloads, string(b))
		mu.Unlock()
	})}
	go hook.Serve(hookLn)
	t.Cleanup(func() { hook.Close() })
	if code := s.api("POST", "/api/v1/webhooks", map[string]any{"url": "http://" + hookLn.Addr().String() + "/hook"}, nil); code != http.StatusCreated {
		t.Fatalf("creating webhook: HTTP %d", code)
	}

	src := makeSource(t, t.TempDir(), "talk.mp4", join(videoIn("320x240", 3), toneIn(3),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})...)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	g, base := serveGated(t, data)
	url := base + "/bucket/talk.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + secret +
		"&X-Amz-Security-Token=" + secret + "&X-Amz-Signature=" + secret + "&token=" + secret
	var raw map[string]any
	started := time.Now()
	code := s.api("POST", "/api/v1/assets", map[string]string{"source_url": url}, &raw)
	if code != http.StatusAccepted {
		t.Fatalf("POST: HTTP %d %v, want 202", code, raw)
	}
	if took := time.Since(started); took > 10*time.Second {
		t.Errorf("POST took %v: it must not wait for the download", took)
	}
	id, _ := raw["id"].(string)
	if st, _ := raw["status"].(string); st != "importing" {
		t.Fatalf("POST answered status %q, want importing", st)
	}
	var a asset
	waitFor(t, 30*time.Second, "the download's progress on the asset", func() bool {
		a = s.getAsset(id)
		return a.Status == "importing" && a.Source.Size > 0 && a.Progress > 0
	})
	close(g.gate)
	if a = s.waitAsset(id, 120*time.Second); a.Status != "ready" {
		t.Fatalf("asset %s %q", a.Status, a.Error)
	}
	if a.Source.Size != int64(len(data)) || a.Title != "talk" {
		t.Errorf("asset %+v", a)
	}
	g.mu.Lock()
	if len(g.requests) != 1 || !strings.Contains(g.requests[0], secret) {
		t.Errorf("source requests %q, want one with the full URL", g.requests)
	}
	g.mu.Unlock()
	waitFor(t, 30*time.Second, "asset.ready at the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(payloads) > 0 && strings.Contains(payloads[len(payloads)-1], `"asset.ready"`)
	})

	_, body := getWithToken(t, s.httpBase+"/api/v1/assets/"+id)
	_, list := getWithToken(t, s.httpBase+"/api/v1/assets")
	for what, text := range map[string]string{"GET asset": body, "GET assets": list} {
		if strings.Contains(text, secret) {
			t.Errorf("%s shows the secret: %s", what, text)
		}
		if !strings.Contains(text, "X-Amz-Signature=REDACTED") {
			t.Errorf("%s lacks the redacted URL: %s", what, text)
		}
	}
	mu.Lock()
	for _, p := range payloads {
		if strings.Contains(p, secret) {
			t.Errorf("a webhook payload shows the secret: %s", p)
		}
	}
	mu.Unlock()
	for _, l := range s.logs.all() {
		if strings.Contains(l, secret) {
			t.Errorf("a log line shows the secret: %s", l)
		}
	}
	s.stop()
	if n := countInDB(t, filepath.Join(s.dataDir, "osprey.db"), secret); n != 0 {
		t.Errorf("the database holds the secret in %d places", n)
	}
}

// getWithToken GETs an admin API URL.
func getWithToken(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// countInDB counts the text cells and JSON documents of the SQLite
// database that hold s: every column of every table, and the raw file.
func countInDB(t *testing.T, path, s string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	tables, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var name string
		_ = tables.Scan(&name)
		names = append(names, name)
	}
	tables.Close()
	for _, table := range names {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			_ = rows.Scan(ptrs...)
			for i, v := range vals {
				var text string
				switch x := v.(type) {
				case string:
					text = x
				case []byte:
					text = string(x)
				}
				if strings.Contains(text, s) {
					t.Logf("%s.%s holds it", table, cols[i])
					n++
				}
			}
		}
		rows.Close()
	}
	// The file itself, WAL included (freed pages may keep old rows).
	for _, f := range []string{path, path + "-wal"} {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			t.Logf("%s holds it in its pages", filepath.Base(f))
		}
	}
	return n
}

// TestVODURLImportSurvivesKill kills osprey (SIGKILL) in the middle of a
// URL import; after a restart on the same data folder the import runs
// again and the asset becomes ready.
func TestVODURLImportSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	cfg := vodImportConfig(t)
	s := startOspreyIn(t, dir, "--config", cfg)
	src := makeSource(t, t.TempDir(), "clip.mp4", join(videoIn("320x240", 3), toneIn(3),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})...)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	g, base := serveGated(t, data)
	var raw map[string]any
	if code := s.api("POST", "/api/v1/assets", map[string]string{"source_url": base + "/clip.mp4"}, &raw); code != http.StatusAccepted {
		t.Fatalf("POST: HTTP %d %v", code, raw)
	}
	id, _ := raw["id"].(string)
	waitFor(t, 30*time.Second, "the download to be under way", func() bool {
		a := s.getAsset(id)
		return a.Status == "importing" && a.Source.Size > 0
	})
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	if parts, _ := filepath.Glob(filepath.Join(dir, "uploads", "url-*.part")); len(parts) != 1 {
		t.Errorf("partial downloads after the kill: %v, want one", parts)
	}
	close(g.gate) // the source answers in full from now on

	s2 := startOspreyIn(t, dir, "--config", cfg)
	a := s2.waitAsset(id, 120*time.Second)
	if a.Status != "ready" || a.Source.Size != int64(len(data)) {
		t.Fatalf("after the restart: %s %q, %d bytes", a.Status, a.Error, a.Source.Size)
	}
	if parts, _ := filepath.Glob(filepath.Join(dir, "uploads", "*")); len(parts) != 0 {
		t.Errorf("uploads left: %v", parts)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.requests) != 2 {
		t.Errorf("%d requests to the source, want 2 (the killed download and its retry)", len(g.requests))
	}
}

// TestVODUploadJanitorAtStart: partial files a crash left in the uploads
// folder longer ago than vod.upload_expiry are removed when osprey starts;
// recent ones stay.
func TestVODUploadJanitorAtStart(t *testing.T) {
	dir := t.TempDir()
	uploads := filepath.Join(dir, "uploads")
	if err := os.MkdirAll(uploads, 0o750); err != nil {
		t.Fatal(err)
	}
	old, recent := filepath.Join(uploads, "multipart-1.part"), filepath.Join(uploads, "multipart-2.part")
	for _, p := range []string{old, recent} {
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(cfg, []byte("vod:\n  upload_expiry: 2h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startOspreyIn(t, dir, "--config", cfg)
	waitFor(t, 10*time.Second, "the janitor's removal", func() bool { return len(s.logs.find("janitor: removed an abandoned upload")) == 1 })
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the expired upload is still there (%v)", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("the recent upload is gone: %v", err)
	}
}
