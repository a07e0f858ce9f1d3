package intake

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tusClient speaks tus 1.0 in raw HTTP, as the spec describes it.
type tusClient struct {
	t    *testing.T
	base string // server URL
}

func (c tusClient) do(method, url string, body []byte, hdr map[string]string) *http.Response {
	c.t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = c.base + url
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func (c tusClient) create(length int, meta map[string]string) string {
	c.t.Helper()
	resp := c.do(http.MethodPost, UploadsPath, nil, map[string]string{
		"Upload-Length":   strconv.Itoa(length),
		"Upload-Metadata": tusMetadata(meta),
	})
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("creation: status %d, want 201", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func (c tusClient) patch(loc string, offset int, chunk []byte) *http.Response {
	c.t.Helper()
	return c.do(http.MethodPatch, loc, chunk, map[string]string{
		"Upload-Offset": strconv.Itoa(offset),
		"Content-Type":  "application/offset+octet-stream",
	})
}

func tusMetadata(meta map[string]string) string {
	var pairs []string
	for k, v := range meta {
		pairs = append(pairs, k+" "+base64.StdEncoding.EncodeToString([]byte(v)))
	}
	return strings.Join(pairs, ",")
}

func wantStatus(t *testing.T, resp *http.Response, status int, what string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d", what, resp.StatusCode, status)
	}
}

func newTusServer(t *testing.T, modify ...func(*Config)) (*Service, *fakeCreator, tusClient) {
	t.Helper()
	s, fc := newTestService(t, modify...)
	srv := httptest.NewServer(s.Uploads())
	t.Cleanup(srv.Close)
	return s, fc, tusClient{t: t, base: srv.URL}
}

func TestTusResumableUpload(t *testing.T) {
	t.Parallel()
	s, fc, c := newTusServer(t)
	data := randomBytes(t, 300<<10)
	half := len(data) / 2

	loc := c.create(len(data), map[string]string{"filename": "clip.mp4", "title": "My clip"})
	if !strings.HasPrefix(loc, c.base+UploadsPath) {
		t.Fatalf("Location = %q, want it under %s", loc, c.base+UploadsPath)
	}
	id := path.Base(loc)

	resp := c.patch(loc, 0, data[:half])
	wantStatus(t, resp, http.StatusNoContent, "first PATCH")
	if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(half) {
		t.Fatalf("Upload-Offset after the first PATCH = %q, want %d", got, half)
	}
	if resp.Header.Get(AssetIDHeader) != "" || len(fc.files()) != 0 {
		t.Fatal("an incomplete upload was handed to the Creator")
	}

	resp = c.do(http.MethodHead, loc, nil, nil)
	wantStatus(t, resp, http.StatusOK, "HEAD")
	if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(half) {
		t.Fatalf("HEAD Upload-Offset = %q, want %d", got, half)
	}
	if got := resp.Header.Get("Upload-Length"); got != strconv.Itoa(len(data)) {
		t.Fatalf("HEAD Upload-Length = %q, want %d", got, len(data))
	}

	wantStatus(t, c.patch(loc, 0, data[:half]), http.StatusConflict, "PATCH at a wrong offset")

	resp = c.patch(loc, half, data[half:])
	wantStatus(t, resp, http.StatusNoContent, "last PATCH")
	if got := resp.Header.Get(AssetIDHeader); got != "as_test1" {
		t.Fatalf("%s = %q, want as_test1", AssetIDHeader, got)
	}
	f := wantOnlyCreated(t, fc, data)
	want := File{Path: filepath.Join(uploadsDir(s), id), Filename: "clip.mp4", Size: int64(len(data)),
		Title: "My clip", UploadID: id, Origin: "tus"}
	if f != want {
		t.Fatalf("File = %+v\nwant   %+v", f, want)
	}
	if _, err := os.Stat(filepath.Join(uploadsDir(s), id+".info")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf(".info sidecar of a finished upload: %v, want it removed", err)
	}
	wantStatus(t, c.do(http.MethodHead, loc, nil, nil), http.StatusNotFound, "HEAD of a handed-over upload")
	wantStatus(t, c.patch(loc, len(data), []byte("x")), http.StatusNotFound, "PATCH of a handed-over upload")
	if len(fc.files()) != 1 {
		t.Fatal("an upload was handed over twice")
	}
}

func TestTusCreationWithUpload(t *testing.T) {
	t.Parallel()
	_, fc, c := newTusServer(t)
	data := randomBytes(t, 10<<10)
	resp := c.do(http.MethodPost, UploadsPath, data, map[string]string{
		"Upload-Length":   strconv.Itoa(len(data)),
		"Upload-Metadata": tusMetadata(map[string]string{"name": `C:\videos\talk.mov`}),
		"Content-Type":    "application/offset+octet-stream",
	})
	wantStatus(t, resp, http.StatusCreated, "creation with upload")
	if resp.Header.Get(AssetIDHeader) != "as_test1" {
		t.Fatalf("%s = %q", AssetIDHeader, resp.Header.Get(AssetIDHeader))
	}
	f := wantOnlyCreated(t, fc, data)
	if f.Filename != "talk.mov" || f.UploadID != path.Base(resp.Header.Get("Location")) || f.Title != "" {
		t.Fatalf("File = %+v", f)
	}
}

func TestTusTermination(t *testing.T) {
	t.Parallel()
	s, fc, c := newTusServer(t)
	loc := c.create(1000, nil)
	wantStatus(t, c.patch(loc, 0, randomBytes(t, 400)), http.StatusNoContent, "PATCH")
	wantStatus(t, c.do(http.MethodDelete, loc, nil, nil), http.StatusNoContent, "DELETE")
	wantStatus(t, c.do(http.MethodHead, loc, nil, nil), http.StatusNotFound, "HEAD after DELETE")
	if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
		t.Fatalf("uploads folder after termination holds %v", names)
	}
	if len(fc.files()) != 0 {
		t.Fatal("a terminated upload reached the Creator")
	}
}

func TestTusRefusals(t *testing.T) {
	t.Parallel()
	s, fc, c := newTusServer(t, func(cfg *Config) { cfg.MaxSize = 1000 })
	loc := c.create(10, nil)
	tests := []struct {
		name   string
		method string
		url    string
		body   []byte
		hdr    map[string]string
		status int
	}{
		{"over the size limit", "POST", UploadsPath, nil, map[string]string{"Upload-Length": "1001"}, http.StatusRequestEntityTooLarge},
		{"empty", "POST", UploadsPath, nil, map[string]string{"Upload-Length": "0"}, http.StatusBadRequest},
		{"no length", "POST", UploadsPath, nil, nil, http.StatusBadRequest},
		{"deferred length", "POST", UploadsPath, nil, map[string]string{"Upload-Defer-Length": "1"}, http.StatusNotImplemented},
		{"no Tus-Resumable", "POST", UploadsPath, nil, map[string]string{"Upload-Length": "10", "Tus-Resumable": ""}, http.StatusPreconditionFailed},
		{"bad title", "POST", UploadsPath, nil, map[string]string{"Upload-Length": "10",
			"Upload-Metadata": tusMetadata(map[string]string{"title": "a\x00b"})}, http.StatusBadRequest},
		{"more than the upload's length", "PATCH", loc, []byte("01234567890"),
			map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, http.StatusRequestEntityTooLarge},
		{"wrong content type", "PATCH", loc, []byte("0"),
			map[string]string{"Upload-Offset": "0", "Content-Type": "text/plain"}, http.StatusBadRequest},
		{"unknown upload", "HEAD", UploadsPath + "0123456789abcdef0123456789abcdef", nil, nil, http.StatusNotFound},
		{"not an upload id", "HEAD", UploadsPath + "x.info", nil, nil, http.StatusNotFound},
		{"nested path", "PATCH", UploadsPath + "a/b", []byte("0"),
			map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, http.StatusNotFound},
		{"download", "GET", loc, nil, nil, http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, c.do(tt.method, tt.url, tt.body, tt.hdr), tt.status, tt.name)
		})
	}
	if len(fc.files()) != 0 {
		t.Fatal("a refused upload reached the Creator")
	}
	// Only the one upload created above exists.
	if names := dirNames(t, uploadsDir(s)); len(names) != 2 {
		t.Fatalf("uploads folder holds %v, want the data and info file of one upload", names)
	}
}

func TestTusOptions(t *testing.T) {
	t.Parallel()
	_, _, c := newTusServer(t, func(cfg *Config) { cfg.MaxSize = 12345 })
	resp := c.do(http.MethodOptions, UploadsPath, nil, map[string]string{"Tus-Resumable": ""})
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("OPTIONS: status %d", resp.StatusCode)
	}
	if resp.Header.Get("Tus-Version") != "1.0.0" || resp.Header.Get("Tus-Max-Size") != "12345" {
		t.Fatalf("OPTIONS headers: %v", resp.Header)
	}
	ext := resp.Header.Get("Tus-Extension")
	for _, want := range []string{"creation", "creation-with-upload", "termination"} {
		if !strings.Contains(","+ext+",", ","+want+",") {
			t.Errorf("Tus-Extension = %q, missing %s", ext, want)
		}
	}
}

func TestTusLocation(t *testing.T) {
	t.Parallel()
	t.Run("forwarding headers ignored", func(t *testing.T) {
		t.Parallel()
		_, _, c := newTusServer(t)
		resp := c.do(http.MethodPost, UploadsPath, nil, map[string]string{
			"Upload-Length": "5", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
			"Forwarded": "host=evil.example;proto=https",
		})
		wantStatus(t, resp, http.StatusCreated, "creation")
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, c.base+UploadsPath) {
			t.Fatalf("Location = %q, want it under %s", loc, c.base+UploadsPath)
		}
	})
	t.Run("public URL", func(t *testing.T) {
		t.Parallel()
		_, _, c := newTusServer(t, func(cfg *Config) { cfg.PublicURL = "https://video.example.com/" })
		loc := c.create(5, nil)
		if !uploadID.MatchString(strings.TrimPrefix(loc, "https://video.example.com"+UploadsPath)) {
			t.Fatalf("Location = %q, want https://video.example.com%s<id>", loc, UploadsPath)
		}
	})
}

// TestTusCreatorFails checks that an upload whose asset cannot be created
// is kept whole: HEAD shows the full offset, and a PATCH at that offset
// with an empty body creates the asset once the Creator works again.
func TestTusCreatorFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"internal", errors.New("disk on fire"), http.StatusInternalServerError},
		{"refused", &Error{Status: http.StatusUnprocessableEntity, Message: "not a video"}, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, fc, c := newTusServer(t)
			fc.setErr(tt.err, true)
			data := []byte("abcd")
			loc := c.create(len(data), map[string]string{"filename": "a.mp4"})
			resp := c.patch(loc, 0, data)
			wantStatus(t, resp, tt.status, "last PATCH")
			if resp.Header.Get(AssetIDHeader) != "" {
				t.Fatal("asset ID header on a failed creation")
			}
			resp = c.do(http.MethodHead, loc, nil, nil)
			wantStatus(t, resp, http.StatusOK, "HEAD after the failed creation")
			if got := resp.Header.Get("Upload-Offset"); got != "4" {
				t.Fatalf("HEAD Upload-Offset = %q, want 4", got)
			}
			// Still failing: the retry fails the same way and keeps it.
			wantStatus(t, c.patch(loc, len(data), nil), tt.status, "retry while the Creator fails")
			wantStatus(t, c.patch(loc, 2, nil), http.StatusConflict, "empty PATCH at a wrong offset")

			fc.setErr(nil, false)
			resp = c.patch(loc, len(data), nil)
			wantStatus(t, resp, http.StatusNoContent, "retry")
			if got := resp.Header.Get(AssetIDHeader); got != "as_test1" {
				t.Fatalf("%s = %q, want as_test1", AssetIDHeader, got)
			}
			if got := resp.Header.Get("Upload-Offset"); got != "4" {
				t.Fatalf("Upload-Offset = %q, want 4", got)
			}
			f := wantOnlyCreated(t, fc, data)
			if f.Filename != "a.mp4" || f.UploadID != path.Base(loc) {
				t.Fatalf("File = %+v", f)
			}
			wantStatus(t, c.do(http.MethodHead, loc, nil, nil), http.StatusNotFound, "HEAD after the asset exists")
			wantStatus(t, c.patch(loc, len(data), nil), http.StatusNotFound, "retry after the asset exists")
			if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
				t.Fatalf("uploads folder holds %v, want nothing", names)
			}
		})
	}
}
