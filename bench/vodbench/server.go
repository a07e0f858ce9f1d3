package main

import (
	"bufio"
	"encoding/json"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// server is a running osprey serve whose log is read for the phases of
// each asset ("asset ready" lines).
type server struct {
	*benchkit.Server
	mu    sync.Mutex
	ready map[string]map[string]any // asset id → its "asset ready" log record
	done  chan struct{}
}

// startServer is benchkit.StartServer with the log kept: the same command
// line, and ERROR lines passed on.
func startServer(bin, dataDir string, extra ...string) *server {
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0", "--log-format", "json", "--rtmp", "", "--srt", ""}, extra...)
	s := &server{Server: &benchkit.Server{Cmd: exec.Command(bin, args...), DataDir: dataDir}, ready: map[string]map[string]any{}, done: make(chan struct{})}
	s.Cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken)
	out, _ := s.Cmd.StderrPipe()
	if err := s.Cmd.Start(); err != nil {
		log.Fatal(err)
	}
	serving := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			switch {
			case rec["msg"] == "osprey is serving":
				addr, _ := rec["http"].(string)
				serving <- addr
			case rec["msg"] == "asset ready":
				id, _ := rec["asset"].(string)
				s.mu.Lock()
				s.ready[id] = rec
				s.mu.Unlock()
			case rec["level"] == "ERROR":
				log.Printf("osprey: %s", sc.Text())
			}
		}
		_ = s.Cmd.Wait()
	}()
	select {
	case addr := <-serving:
		s.Base = "http://" + addr
	case <-s.done:
		log.Fatal("osprey exited at start")
	case <-time.After(20 * time.Second):
		log.Fatal("osprey did not start")
	}
	return s
}

// stop interrupts the server and waits for it to exit.
func (s *server) stop() {
	_ = s.Cmd.Process.Signal(os.Interrupt)
	<-s.done
}

// readyLog is the asset's "asset ready" log record, waiting up to a
// second for it (it follows the ready state's commit).
func (s *server) readyLog(id string) map[string]any {
	for range 100 {
		s.mu.Lock()
		rec := s.ready[id]
		s.mu.Unlock()
		if rec != nil {
			return rec
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// upload posts a file as multipart and returns the asset id.
func (s *server) upload(path string) string {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		fw, _ := mw.CreateFormFile("file", filepath.Base(path))
		_, err := io.Copy(fw, f)
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", s.Base+"/api/v1/assets", pr)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		ID string `json:"id"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &a) != nil {
		log.Fatalf("upload: HTTP %d %s", resp.StatusCode, body)
	}
	return a.ID
}

// pollEvery is how often waitReady asks: each request costs the server
// about a millisecond of CPU (authentication, a catalog read), taken from
// the transcode it measures; the times come from the asset itself.
const pollEvery = 250 * time.Millisecond

// waitReady polls the asset until it is ready and returns its creation
// and ready times; failure is fatal.
func (s *server) waitReady(id string) (created, ready time.Time) {
	for {
		req, _ := http.NewRequest("GET", s.Base+"/api/v1/assets/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		var a struct {
			Status    string    `json:"status"`
			Error     string    `json:"error"`
			CreatedAt time.Time `json:"created_at"`
			ReadyAt   time.Time `json:"ready_at"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		switch a.Status {
		case "ready":
			return a.CreatedAt, a.ReadyAt
		case "failed":
			log.Fatalf("asset %s failed: %s", id, a.Error)
		}
		time.Sleep(pollEvery)
	}
}
