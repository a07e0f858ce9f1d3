package intake

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type formPart struct {
	field, filename string // filename "" makes a plain field
	data            []byte
}

func multipartBody(t *testing.T, parts ...formPart) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p.filename != "" {
			w, err = mw.CreateFormFile(p.field, p.filename)
		} else {
			w, err = mw.CreateFormField(p.field)
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(p.data)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func postForm(s *Service, body io.Reader, contentType string) (File, error) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/assets", body)
	r.Header.Set("Content-Type", contentType)
	return s.FromMultipart(httptest.NewRecorder(), r)
}

func TestFromMultipart(t *testing.T) {
	t.Parallel()
	data := randomBytes(t, 200<<10)
	tests := []struct {
		name  string
		parts []formPart
		want  File // without Path
	}{
		{"file then title", []formPart{{"file", "clip.mp4", data}, {"title", "", []byte(" Holiday ")}},
			File{Filename: "clip.mp4", Title: "Holiday", Size: int64(len(data)), Origin: "multipart"}},
		{"title then file", []formPart{{"title", "", []byte("Holiday")}, {"file", "dir/clip.mkv", data}},
			File{Filename: "clip.mkv", Title: "Holiday", Size: int64(len(data)), Origin: "multipart"}},
		{"file only", []formPart{{"file", "clip.mp4", data}},
			File{Filename: "clip.mp4", Size: int64(len(data)), Origin: "multipart"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t)
			body, ct := multipartBody(t, tt.parts...)
			f, err := postForm(s, bytes.NewReader(body), ct)
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(f.Path) != uploadsDir(s) {
				t.Errorf("Path = %s, want it in %s", f.Path, uploadsDir(s))
			}
			got, err := os.ReadFile(f.Path)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("stored file differs from the upload (err %v)", err)
			}
			f.Path = ""
			if f != tt.want {
				t.Fatalf("File = %+v\nwant   %+v", f, tt.want)
			}
		})
	}
}

func TestFromMultipartRefusals(t *testing.T) {
	t.Parallel()
	const max = 1000
	small := []byte("0123456789")
	big := bytes.Repeat([]byte("x"), max+1)
	tests := []struct {
		name   string
		parts  []formPart
		status int
		msg    string
	}{
		{"no file", []formPart{{"title", "", []byte("x")}}, 400, `"file" field is required`},
		{"two files", []formPart{{"file", "a.mp4", small}, {"file", "b.mp4", small}}, 400, "more than one"},
		{"unknown field", []formPart{{"file", "a.mp4", small}, {"tags", "", small}}, 400, `unknown form field "tags"`},
		{"too large", []formPart{{"file", "a.mp4", big}}, 413, "larger than the limit of 1000 B"},
		{"title with control characters", []formPart{{"file", "a.mp4", small}, {"title", "", []byte("a\nb")}}, 400, "control characters"},
		{"title too long", []formPart{{"file", "a.mp4", small}, {"title", "", bytes.Repeat([]byte("é"), 201)}}, 400, "201 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestService(t, func(c *Config) { c.MaxSize = max })
			body, ct := multipartBody(t, tt.parts...)
			_, err := postForm(s, bytes.NewReader(body), ct)
			wantErrorStatus(t, err, tt.status, tt.msg)
			if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
				t.Fatalf("uploads folder holds %v after a refusal", names)
			}
		})
	}
	t.Run("not multipart", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t)
		_, err := postForm(s, strings.NewReader("{}"), "application/json")
		wantErrorStatus(t, err, 400, "multipart/form-data")
	})
	t.Run("truncated body", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t)
		body, ct := multipartBody(t, formPart{"file", "a.mp4", small})
		_, err := postForm(s, bytes.NewReader(body[:len(body)-20]), ct)
		wantErrorStatus(t, err, 400, "reading the form failed")
		if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
			t.Fatalf("uploads folder holds %v after a refusal", names)
		}
	})
	t.Run("too large without Content-Length", func(t *testing.T) {
		t.Parallel()
		s, _ := newTestService(t, func(c *Config) { c.MaxSize = max })
		body, ct := multipartBody(t, formPart{"file", "a.mp4", bytes.Repeat([]byte("y"), 50*max)})
		r := httptest.NewRequest(http.MethodPost, "/api/v1/assets", io.MultiReader(bytes.NewReader(body)))
		r.ContentLength = -1
		r.Header.Set("Content-Type", ct)
		_, err := s.FromMultipart(httptest.NewRecorder(), r)
		wantErrorStatus(t, err, 413, "larger than the limit")
		if names := dirNames(t, uploadsDir(s)); len(names) != 0 {
			t.Fatalf("uploads folder holds %v after a refusal", names)
		}
	})
}

func TestFromMultipartOverHTTP(t *testing.T) {
	t.Parallel()
	s, _ := newTestService(t)
	data := randomBytes(t, 512<<10)
	got := make(chan File, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.FromMultipart(w, r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- f
	}))
	t.Cleanup(srv.Close)
	body, ct := multipartBody(t, formPart{"file", "a.mp4", data})
	resp, err := http.Post(srv.URL, ct, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	f := <-got
	stored, err := os.ReadFile(f.Path)
	if err != nil || !bytes.Equal(stored, data) {
		t.Fatalf("stored file differs (err %v)", err)
	}
}
