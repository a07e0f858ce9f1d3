package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

const adminToken = "livebench-admin-token"

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Fatalf("%s %v: %v", name, args, err)
	}
}

// makeSource encodes a test pattern with a tone: the input publishers send
// without re-encoding (-c copy), so the publisher costs next to nothing.
func makeSource(path, size string, seconds int) {
	run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", path)
}

// server is a running osprey serve.
type server struct {
	cmd     *exec.Cmd
	base    string
	rtmp    string
	done    chan struct{}
	dataDir string
}

func startServer(bin, dataDir string, extra ...string) *server {
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0", "--rtmp", "127.0.0.1:0", "--srt", "",
		"--log-format", "json"}, extra...)
	s := &server{cmd: exec.Command(bin, args...), done: make(chan struct{}), dataDir: dataDir}
	s.cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken)
	out, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				if rec["msg"] == "osprey is serving" {
					ready <- rec
				}
				if rec["level"] == "ERROR" {
					log.Printf("osprey: %s", sc.Text())
				}
			}
		}
		_ = s.cmd.Wait()
	}()
	select {
	case rec := <-ready:
		s.base = "http://" + rec["http"].(string)
		s.rtmp = rec["rtmp"].(string)
	case <-s.done:
		log.Fatal("osprey exited at start")
	case <-time.After(20 * time.Second):
		log.Fatal("osprey did not start")
	}
	return s
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	<-s.done
}

type channel struct {
	ID     string `json:"id"`
	Ingest struct {
		RTMP string `json:"rtmp"`
	} `json:"ingest"`
	Playback struct {
		HLS string `json:"hls"`
	} `json:"playback"`
	State string `json:"state"`
}

func (s *server) createChannel(name string) channel {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, _ := http.NewRequest("POST", s.base+"/api/v1/channels", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var ch channel
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || resp.StatusCode != 201 {
		log.Fatalf("creating a channel: HTTP %d %v", resp.StatusCode, err)
	}
	return ch
}

func (s *server) state(id string) string {
	req, _ := http.NewRequest("GET", s.base+"/api/v1/channels/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var ch channel
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	return ch.State
}

func (s *server) waitIdle(id string) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if s.state(id) == "idle" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	log.Fatalf("channel %s did not end", id)
}

// publish sends the source in real time without re-encoding.
func publish(source, url string) *exec.Cmd {
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", source, "-c", "copy", "-f", "flv", url)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	return cmd
}

func getText(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// procTimes reads a process's CPU time: its own, and that of its waited-for children.
func procTimes(pid int) (self, children time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	tick := func(i int) time.Duration { // field numbers from proc(5), minus 3
		v, _ := strconv.ParseInt(f[i-3], 10, 64)
		return time.Duration(v) * time.Second / 100 // USER_HZ
	}
	return tick(14) + tick(15), tick(16) + tick(17)
}

// rss reads a process's resident set size in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		log.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return s[i]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
