package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// edgeProc is a running `osprey edge`.
type edgeProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	base      string
	dataDir   string
	accessLog string
	logs      *logBuffer
	exited    chan struct{}
}

// startEdge runs osprey edge on a loopback port, its access log in a file.
func startEdge(t *testing.T, args ...string) *edgeProc {
	t.Helper()
	dir := t.TempDir()
	e := &edgeProc{t: t, dataDir: dir, accessLog: filepath.Join(dir, "access.log"), logs: &logBuffer{}, exited: make(chan struct{})}
	full := append([]string{"edge", "--http", "127.0.0.1:0", "--data", dir, "--access-log", e.accessLog,
		"--log-format", "json", "--cache-disk", "64MiB"}, args...)
	e.cmd = exec.Command(ospreyBin, full...)
	e.cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken)
	out, _ := e.cmd.StderrPipe()
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		defer close(e.exited)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			e.logs.add(line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "osprey edge is serving" {
				ready <- rec
			}
		}
		_ = e.cmd.Wait()
	}()
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			for _, l := range e.logs.all() {
				t.Log("edge: " + l)
			}
		}
	})
	select {
	case rec := <-ready:
		e.base = rec["scheme"].(string) + "://" + rec["http"].(string)
	case <-e.exited:
		t.Fatalf("osprey edge exited at start:\n%s", strings.Join(e.logs.all(), "\n"))
	case <-time.After(20 * time.Second):
		t.Fatal("osprey edge did not start in 20 s")
	}
	return e
}

func (e *edgeProc) stop() {
	if e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(os.Interrupt)
	select {
	case <-e.exited:
	case <-time.After(15 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
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
