package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// asset is the API's asset JSON, as far as the tests read it.
type asset struct {
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	Status   string  `json:"status"`
	Stage    string  `json:"stage"`
	Progress float64 `json:"progress"`
	Error    string  `json:"error"`
	Attempts int     `json:"attempts"`
	Duration float64 `json:"duration"`
	UploadID string  `json:"upload_id"`
	Source   struct {
		Filename string `json:"filename"`
		Size     int64  `json:"size"`
		Origin   string `json:"origin"`
	} `json:"source"`
	Renditions []struct {
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		Codec    string `json:"codec"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
		Bitrate  int    `json:"bitrate"`
		Language string `json:"language"`
	} `json:"renditions"`
	Playback struct {
		HLS    string `json:"hls"`
		DASH   string `json:"dash"`
		Player string `json:"player"`
	} `json:"playback"`
	Thumbnails struct {
		Poster string `json:"poster"`
		Sprite string `json:"sprite"`
		VTT    string `json:"vtt"`
	} `json:"thumbnails"`
}

type assetList struct {
	Items      []asset `json:"items"`
	NextCursor string  `json:"next_cursor"`
}

// makeSource runs ffmpeg to make a test file in dir.
func makeSource(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, path)
	if out, err := exec.Command("ffmpeg", full...).CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", name, err, out)
	}
	return path
}

// lavfi inputs: a moving test picture and a tone.
func videoIn(size string, seconds int) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=30:duration=%d", size, seconds)}
}

func toneIn(seconds int) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", seconds)}
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// uploadMultipart creates an asset with POST /api/v1/assets (multipart).
func (s *server) uploadMultipart(path, title string) (int, asset, []byte) {
	s.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if title != "" {
		_ = mw.WriteField("title", title)
	}
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	data, err := os.ReadFile(path)
	if err != nil {
		s.t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", s.httpBase+"/api/v1/assets", &body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("uploading %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var a asset
	_ = json.Unmarshal(raw, &a)
	return resp.StatusCode, a, raw
}

func (s *server) getAsset(id string) asset {
	s.t.Helper()
	var a asset
	if code := s.api("GET", "/api/v1/assets/"+id, nil, &a); code != http.StatusOK {
		s.t.Fatalf("getting asset %s: HTTP %d", id, code)
	}
	return a
}

// waitAsset waits until the asset is ready or failed and returns it.
func (s *server) waitAsset(id string, timeout time.Duration) asset {
	s.t.Helper()
	var a asset
	waitFor(s.t, timeout, "asset "+id+" to finish", func() bool {
		a = s.getAsset(id)
		return a.Status == "ready" || a.Status == "failed"
	})
	return a
}

// mediaDuration is a media file's or manifest's duration according to ffprobe.
func mediaDuration(t *testing.T, input string) float64 {
	t.Helper()
	p := ffprobe(t, input)
	var d float64
	if _, err := fmt.Sscanf(p.Format.Duration, "%g", &d); err != nil {
		t.Fatalf("ffprobe %s: duration %q", input, p.Format.Duration)
	}
	return d
}
