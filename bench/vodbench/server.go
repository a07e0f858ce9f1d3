package main

import (
	"encoding/json"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
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
}

// startServer is benchkit.StartServer keeping each asset's "asset ready"
// log record.
func startServer(bin, dataDir string, extra ...string) *server {
	s := &server{ready: map[string]map[string]any{}}
	onLog := func(rec map[string]any) {
		if rec["msg"] != "asset ready" {
			return
		}
		id, _ := rec["asset"].(string)
		s.mu.Lock()
		s.ready[id] = rec
		s.mu.Unlock()
	}
	s.Server = benchkit.StartServerLogs(bin, dataDir, adminToken, onLog, append([]string{"--rtmp", "", "--srt", ""}, extra...)...)
	return s
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
