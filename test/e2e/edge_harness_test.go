package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// edgeProc is a running `osprey edge`.
type edgeProc struct {
	*process
	t         *testing.T
	base      string
	dataDir   string
	accessLog string
}

// startEdge runs osprey edge on a loopback port, its access log in a file.
func startEdge(t *testing.T, args ...string) *edgeProc {
	t.Helper()
	dir := t.TempDir()
	e := &edgeProc{t: t, dataDir: dir, accessLog: filepath.Join(dir, "access.log")}
	full := append([]string{"edge", "--http", "127.0.0.1:0", "--data", dir, "--access-log", e.accessLog,
		"--log-format", "json", "--cache-disk", "64MiB"}, args...)
	p, rec := runOsprey(t, "osprey edge is serving", full...)
	e.process = p
	e.base = rec["scheme"].(string) + "://" + rec["http"].(string)
	return e
}

// access returns the access-log records written so far (the edge flushes
// its log every second, so wait a little after the requests).
func (e *edgeProc) access() []map[string]any {
	e.t.Helper()
	data, err := os.ReadFile(e.accessLog)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			e.t.Fatalf("access-log line is not JSON: %v\n%s", err, line)
		}
		out = append(out, rec)
	}
	return out
}

// waitAccess waits until the access log holds at least n records.
func (e *edgeProc) waitAccess(n int) []map[string]any {
	e.t.Helper()
	var recs []map[string]any
	waitFor(e.t, 5*time.Second, "the access log", func() bool {
		recs = e.access()
		return len(recs) >= n
	})
	return recs
}

// getHeader fetches url and returns the status, a header and the body.
func getHeader(t *testing.T, url, header string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header.Get(header), body
}
