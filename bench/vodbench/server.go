package main

import (
	"encoding/json"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// server is a running osprey serve.
type server struct{ *benchkit.Server }

func startServer(bin, dataDir string, extra ...string) *server {
	return &server{benchkit.StartServer(bin, dataDir, adminToken, append([]string{"--rtmp", "", "--srt", ""}, extra...)...)}
}

func (s *server) stop() { s.Stop() }

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

// waitReady polls the asset until it is ready; failure is fatal.
func (s *server) waitReady(id string) {
	for {
		req, _ := http.NewRequest("GET", s.Base+"/api/v1/assets/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		var a struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		switch a.Status {
		case "ready":
			return
		case "failed":
			log.Fatalf("asset %s failed: %s", id, a.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
