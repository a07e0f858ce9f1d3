// Package e2e drives the real osprey binary with real clients: ffmpeg as
// publisher, ffprobe and headless Chromium as players.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var ospreyBin string

func TestMain(m *testing.M) {
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s is required (run the README's test command, which installs it)\n", tool)
			os.Exit(1)
		}
	}
	dir, err := os.MkdirTemp("", "osprey-e2e-")
	if err != nil {
		panic(err)
	}
	ospreyBin = filepath.Join(dir, "osprey")
	build := exec.Command("go", "build", "-o", ospreyBin, "github.com/ospreyvideo/osprey/cmd/osprey")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building osprey: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const adminToken = "e2e-admin-token"

// process is a running osprey command and its JSON log.
type process struct {
	cmd    *exec.Cmd
	logs   *logBuffer
	exited chan struct{}
}

// runOsprey starts `osprey args...` with the admin token, keeps its JSON log
// lines (stdout and stderr), and returns once it logs a record whose
// message is ready, with that record. The process is stopped at the end of
// the test, and its log printed if the test failed.
func runOsprey(t *testing.T, ready string, args ...string) (*process, map[string]any) {
	t.Helper()
	return runOspreyVia(t, nil, ready, args...)
}

// runOspreyVia is runOsprey through a launcher (e.g. `ip netns exec NS`),
// which must exec osprey in its place.
func runOspreyVia(t *testing.T, launcher []string, ready string, args ...string) (*process, map[string]any) {
	t.Helper()
	argv := append(append(append([]string(nil), launcher...), ospreyBin), args...)
	p := &process{cmd: exec.Command(argv[0], argv[1:]...), logs: &logBuffer{}, exited: make(chan struct{})}
	// Load shedding is off: these tests assert the exact ladder, and e2e
	// suites share two cores. Shedding has its own tests (internal/live).
	p.cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken, "OSPREY_SHED_LOAD=false")
	stdout, _ := p.cmd.StdoutPipe()
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting osprey %s: %v", args[0], err)
	}
	readyRec := make(chan map[string]any, 1)
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.logs.add(line)
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == ready {
				readyRec <- rec
			}
		}
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			for _, l := range p.logs.all() {
				t.Logf("osprey %s: %s", args[0], l)
			}
		}
	})
	select {
	case rec := <-readyRec:
		return p, rec
	case <-p.exited:
		t.Fatalf("osprey %s exited at start:\n%s", args[0], strings.Join(p.logs.all(), "\n"))
	case <-time.After(20 * time.Second):
		t.Fatalf("osprey %s did not start in 20 s", args[0])
	}
	return nil, nil
}

// stop sends SIGINT and waits (30 s at most, then kills).
func (p *process) stop() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// server is a running `osprey serve`.
type server struct {
	*process
	t        *testing.T
	dataDir  string
	httpBase string
	rtmpAddr string
	srtAddr  string
}

// logBuffer keeps osprey's JSON log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(l string) {
	b.mu.Lock()
	b.lines = append(b.lines, l)
	b.mu.Unlock()
}

func (b *logBuffer) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

// find returns the log records whose message contains msg.
func (b *logBuffer) find(msg string) []map[string]any {
	var out []map[string]any
	for _, l := range b.all() {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) != nil {
			continue
		}
		if m, _ := rec["msg"].(string); strings.Contains(m, msg) {
			out = append(out, rec)
		}
	}
	return out
}

// startOsprey runs osprey serve on loopback ports chosen by the kernel.
func startOsprey(t *testing.T, extraArgs ...string) *server {
	t.Helper()
	return startOspreyIn(t, t.TempDir(), extraArgs...)
}

// startOspreyIn runs osprey serve on the data folder dir.
func startOspreyIn(t *testing.T, dir string, extraArgs ...string) *server {
	t.Helper()
	return startOspreyVia(t, nil, "127.0.0.1", dir, extraArgs...)
}

// startOspreyVia starts `osprey serve` through launcher (see runOspreyVia)
// with its listeners on free ports of host.
func startOspreyVia(t *testing.T, launcher []string, host, dir string, extraArgs ...string) *server {
	t.Helper()
	free := net.JoinHostPort(host, "0")
	args := append([]string{"serve",
		"--data", dir,
		"--http", free, "--rtmp", free, "--srt", free,
		"--log-format", "json", "--log-level", "debug",
	}, extraArgs...)
	p, rec := runOspreyVia(t, launcher, "osprey is serving", args...)
	s := &server{process: p, t: t, dataDir: dir, httpBase: "http://" + rec["http"].(string)}
	s.rtmpAddr, _ = rec["rtmp"].(string)
	s.srtAddr, _ = rec["srt"].(string)
	return s
}

// cli runs the osprey command line against s (--server, and the admin
// token in the environment) and returns what it printed.
func (s *server) cli(args ...string) (string, error) {
	s.t.Helper()
	cmd := exec.Command(ospreyBin, args...)
	cmd.Env = append(os.Environ(), "OSPREY_SERVER="+s.httpBase, "OSPREY_ADMIN_TOKEN="+adminToken)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// api calls the admin API and decodes the JSON answer into out.
func (s *server) api(method, path string, body any, out any) int {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.httpBase+path, rd)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		data, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(data, out); err != nil && resp.StatusCode < 300 {
			s.t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

// channel is the API's channel JSON, as far as the tests read it.
type channel struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	StreamKey string `json:"stream_key"`
	State     string `json:"state"`
	Ingest    struct {
		RTMP string `json:"rtmp"`
		SRT  string `json:"srt"`
	} `json:"ingest"`
	Playback struct {
		HLS    string `json:"hls"`
		DASH   string `json:"dash"`
		Player string `json:"player"`
	} `json:"playback"`
	Live *struct {
		Transcoder *struct {
			Running  bool    `json:"running"`
			Restarts int     `json:"restarts"`
			Speed    float64 `json:"speed"`
			Behind   bool    `json:"behind"`
		} `json:"transcoder"`
		Packager *struct {
			StoreBacklog int     `json:"store_backlog"`
			StoreGaps    int64   `json:"store_gaps"`
			EdgeDelay    float64 `json:"edge_delay"`
		} `json:"packager"`
	} `json:"live"`
}

func (s *server) createChannel(name string) channel {
	s.t.Helper()
	var ch channel
	if code := s.api("POST", "/api/v1/channels", map[string]string{"name": name}, &ch); code != http.StatusCreated {
		s.t.Fatalf("creating channel: HTTP %d", code)
	}
	return ch
}

func (s *server) getChannel(id string) channel {
	s.t.Helper()
	var ch channel
	if code := s.api("GET", "/api/v1/channels/"+id, nil, &ch); code != http.StatusOK {
		s.t.Fatalf("getting channel: HTTP %d", code)
	}
	return ch
}

// get fetches a URL and returns status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", url, err)
	}
	return resp.StatusCode, b
}

// waitFor polls cond until it is true or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

// publisher is a running ffmpeg sending a test source.
type publisher struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer
	done   chan struct{}
	err    error
	cancel context.CancelFunc
}

// testSource is ffmpeg's input for a synthetic live source of the given size
// and length: a moving test pattern with a tone.
func testSource(size string, seconds int) []string {
	return []string{
		"-re", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=30", size),
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", fmt.Sprint(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "96k",
	}
}

func publish(t *testing.T, url, format string, size string, seconds int) *publisher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	args := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, testSource(size, seconds)...)
	args = append(args, "-f", format, url)
	p := &publisher{cmd: exec.CommandContext(ctx, "ffmpeg", args...), out: &bytes.Buffer{}, done: make(chan struct{}), cancel: cancel}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting publisher: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cancel(); <-p.done })
	return p
}

func (p *publisher) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("publisher still running after %v", timeout)
		return nil
	}
}

func rtmpURL(ch channel) string { return ch.Ingest.RTMP }
func srtURL(ch channel) string  { return ch.Ingest.SRT + "&latency=200000" }
