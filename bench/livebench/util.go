package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

const adminToken = "livebench-admin-token"

// makeSource encodes a test pattern with a tone: the input publishers send
// without re-encoding (-c copy), so the publisher costs next to nothing.
func makeSource(path, size string, seconds int) {
	benchkit.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", path)
}

// server is a running osprey serve with RTMP ingest.
type server struct{ *benchkit.Server }

func startServer(bin, dataDir string, extra ...string) *server {
	return &server{benchkit.StartServer(bin, dataDir, adminToken, append([]string{"--rtmp", "127.0.0.1:0", "--srt", ""}, extra...)...)}
}

func (s *server) stop() { s.Stop() }

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
	req, _ := http.NewRequest("POST", s.Base+"/api/v1/channels", bytes.NewReader(body))
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
	req, _ := http.NewRequest("GET", s.Base+"/api/v1/channels/"+id, nil)
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
