package soaklib

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// server is a running `osprey serve`.
type server struct {
	cmd   *exec.Cmd
	base  string // http://127.0.0.1:port
	token string
	done  chan struct{}

	mu        sync.Mutex
	errLines  int
	firstErrs []string
}

// build compiles osprey into dir.
func build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "osprey")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ospreyvideo/osprey/cmd/osprey")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building osprey: %w\n%s", err, out)
	}
	return bin, nil
}

// configYAML is the soak's config file: the edge in front of the origin,
// with a 4 MiB memory tier, which one 360p channel fills within about
// 30 s, so that the second half of even a 2-minute run measures a steady
// state rather than the cache filling (the live window, a few MB, still
// fits); the small "low" ladder for live and VoD; then extra.
func configYAML(extra string) string {
	return "edge:\n  enabled: true\n  cache_memory: 4MiB\nlive:\n  ladder: low\nvod:\n  ladder: low\n" + extra
}

// startServer runs osprey serve with its data in dir and waits until it
// serves.
func startServer(bin, dir, token, extra string) (*server, error) {
	cfgPath := filepath.Join(dir, "osprey.yaml")
	if err := os.WriteFile(cfgPath, []byte(configYAML(extra)), 0o600); err != nil {
		return nil, err
	}
	s := &server{token: token, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--data", filepath.Join(dir, "data"),
		"--http", "127.0.0.1:0", "--rtmp", "127.0.0.1:0", "--srt", "127.0.0.1:0", "--log-format", "json")
	s.cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+token)
	out, err := s.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout = s.cmd.Stderr // one stream of JSON lines
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting osprey: %w", err)
	}
	ready := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			if rec["msg"] == "osprey is serving" {
				addr, _ := rec["http"].(string)
				ready <- addr
			}
			if rec["level"] == "ERROR" {
				s.mu.Lock()
				s.errLines++
				if len(s.firstErrs) < 5 {
					s.firstErrs = append(s.firstErrs, sc.Text())
				}
				s.mu.Unlock()
			}
		}
		_ = s.cmd.Wait()
	}()
	select {
	case addr := <-ready:
		s.base = "http://" + addr
		return s, nil
	case <-s.done:
		return nil, errors.New("osprey exited at start")
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("osprey did not start within 30 s")
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// exited reports whether the process has ended.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop interrupts the server and waits for it (killing it after 30 s).
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *server) errorLog() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errLines, append([]string(nil), s.firstErrs...)
}
