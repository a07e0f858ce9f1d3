package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// server is a running osprey serve.
type server struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

func startServer(bin, dataDir string, extra ...string) *server {
	args := append([]string{"serve", "--data", dataDir, "--http", "127.0.0.1:0", "--rtmp", "", "--srt", "",
		"--log-format", "json"}, extra...)
	s := &server{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	s.cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken)
	out, _ := s.cmd.StderrPipe()
	if err := s.cmd.Start(); err != nil {
		log.Fatal(err)
	}
	ready := make(chan map[string]any, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
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
	req, _ := http.NewRequest("POST", s.base+"/api/v1/assets", pr)
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
		req, _ := http.NewRequest("GET", s.base+"/api/v1/assets/"+id, nil)
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

// procTimes reads a process's CPU time: its own, and that of its waited-for children.
func procTimes(pid int) (self, children time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		log.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	tick := func(i int) time.Duration { // field numbers from proc(5), minus 3
		v, _ := strconv.ParseInt(f[i-3], 10, 64)
		return time.Duration(v) * time.Second / 100 // USER_HZ
	}
	return tick(14) + tick(15), tick(16) + tick(17)
}
