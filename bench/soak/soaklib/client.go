package soaklib

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// api calls the admin API with the admin token and decodes a 2xx JSON
// answer into out.
func (s *server) api(ctx context.Context, c *http.Client, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(c, req, out)
}

func do(c *http.Client, req *http.Request, out any) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decoding %q: %w", req.Method, req.URL.Path, data, err)
		}
	}
	return resp.StatusCode, nil
}

// upload creates an asset from the file at path (multipart).
func (s *server) upload(ctx context.Context, c *http.Client, path, title string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("title", title)
	fw, err := mw.CreateFormFile("file", filepath.Base(path))
	if err != nil {
		return "", err
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/v1/assets", &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var a struct {
		ID string `json:"id"`
	}
	if _, err := do(c, req, &a); err != nil {
		return "", err
	}
	return a.ID, nil
}

// waitAsset polls the asset until it is ready (nil), failed (an error) or
// the timeout passes.
func (s *server) waitAsset(ctx context.Context, c *http.Client, id string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var a struct {
			Status string `json:"status"`
			Error  string `json:"error"`
		}
		if _, err := s.api(ctx, c, http.MethodGet, "/api/v1/assets/"+id, nil, &a); err != nil {
			return err
		}
		switch a.Status {
		case "ready":
			return nil
		case "failed":
			return fmt.Errorf("asset %s failed: %s", id, a.Error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("asset %s still %s after %v", id, a.Status, timeout)
		case <-time.After(time.Second):
		}
	}
}
