package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// server is an edge under test: a child process serving HTTP on Base.
type server struct {
	Name      string // "nginx" or "osprey"
	Base      string // http://127.0.0.1:port
	Dir       string // its temporary folder
	AccessLog string // its access log file
	HitHeader string // response header that tells a hit
	cmd       *exec.Cmd
	done      chan struct{}
}

// isHit reports whether a response was served from the edge's cache.
func (s *server) isHit(resp *http.Response) bool {
	v := resp.Header.Get(s.HitHeader)
	if s.Name == nginxName {
		return v == "HIT"
	}
	// Cache-Status: osprey-edge; hit; ttl=...
	return strings.Contains(v, "; hit")
}

// start runs cmd, passes its standard error through filter (nil: to
// ours), and waits until GET /healthz answers 200.
func (s *server) start(filter func(line string)) error {
	s.done = make(chan struct{})
	errPipe, err := s.cmd.StderrPipe()
	if err != nil {
		return err
	}
	s.cmd.Stdout = os.Stderr
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.Name, err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if filter != nil {
				filter(sc.Text())
			} else {
				log.Printf("%s: %s", s.Name, sc.Text())
			}
		}
		_, _ = io.Copy(io.Discard, errPipe)
		_ = s.cmd.Wait()
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited at start: %v", s.Name, s.cmd.ProcessState)
		default:
		}
		resp, err := client.Get(s.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("%s did not answer /healthz within 20 s", s.Name)
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		log.Printf("%s did not stop within 10 s: killing it", s.Name)
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// cpu returns the CPU time used so far by the server's processes: the
// process itself and its live children (nginx's workers and cache
// manager), user + system.
func (s *server) cpu() time.Duration {
	pid := s.cmd.Process.Pid
	total := benchkit.SelfCPU(pid)
	for _, c := range childPIDs(pid) {
		total += benchkit.SelfCPU(c)
	}
	return total
}

// freePort returns a loopback address that was free a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, nil
}

// ospreyLogFilter passes osprey's WARN and ERROR log lines on.
func ospreyLogFilter(line string) {
	var rec struct {
		Level string `json:"level"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil {
		log.Printf("osprey: %s", line)
		return
	}
	if rec.Level == "WARN" || rec.Level == "ERROR" {
		log.Printf("osprey: %s", line)
	}
}

// startOsprey runs `osprey edge` (the variant name) in front of
// originBase on a fixed free port, with a fresh data folder under dir.
func startOsprey(name, bin, dir, originBase string, o opts) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	if conf := rateLimitConfig(name); conf != "" {
		if err := os.WriteFile(filepath.Join(dir, "security.yaml"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
	}
	s := &server{
		Name:      name,
		Base:      "http://" + addr,
		Dir:       dir,
		AccessLog: dir + "/access.log",
		HitHeader: "Cache-Status",
	}
	s.cmd = exec.Command(bin, ospreyArgs(name, originBase, addr, dir, o)...)
	s.cmd.Env = append(os.Environ(),
		"OSPREY_ADMIN_TOKEN=edgebench-admin-token",
		"GOMAXPROCS="+strconv.Itoa(o.cores))
	if err := s.start(ospreyLogFilter); err != nil {
		return nil, err
	}
	return s, nil
}

// ospreyArgs is the command line of the osprey variant name.
func ospreyArgs(name, originBase, addr, dir string, o opts) []string {
	args := []string{"edge", "--origin", originBase, "--http", addr, "--data", dir + "/data",
		"--cache-memory", o.cacheMemory, "--cache-disk", o.cacheDisk,
		"--access-log", dir + "/access.log", "--log-format", "json"}
	if rateLimitConfig(name) != "" {
		args = append(args, "--config", dir+"/security.yaml")
	}
	return append(args, o.ospreyExtra...)
}

// rateLimitConfig is the config file of the -ratelimit variants: the same
// front door, loopback not exempt (with a connection cap per address above
// the storm's clients), the media limiter off or on at a rate no benchmark
// client reaches (every request is checked, none refused).
func rateLimitConfig(name string) string {
	switch name {
	case ospreyRLOff:
		return "security:\n  unlimited_clients: []\n  max_connections_per_ip: 10000\n  rate_limits:\n    media: {rate: 0, burst: 0}\n"
	case ospreyRLOn:
		return "security:\n  unlimited_clients: []\n  max_connections_per_ip: 10000\n  rate_limits:\n    media: {rate: 1000000, burst: 1000000}\n"
	}
	return ""
}
