package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// tusServer is a tus 1.0 server with Osprey's asset API around it, kept in
// memory. Like tusd it keeps the bytes of a PATCH that broke off, and it
// holds an upload's lock for the whole of a PATCH, so a HEAD sees the
// offset after it. Every received byte is counted, so tests can tell
// whether a client sent anything twice.
type tusServer struct {
	t   *testing.T
	url string

	mu       sync.Mutex
	uploads  map[string]*fakeUpload
	assets   map[string]*fakeAsset
	order    []string // asset IDs, oldest first
	created  int      // uploads created
	received int64    // PATCH body bytes received, over all uploads
	patches  []patchLog
	problems []string // protocol violations by the client

	// Fault injection; each is called with the lock not held.
	// beforePatch may answer the request itself (return true).
	beforePatch func(w http.ResponseWriter, r *http.Request, up *fakeUpload, n int) bool
	// duringPatch is called after each piece of a PATCH body is stored, with
	// the upload's offset; returning true drops the connection there.
	duringPatch func(up *fakeUpload, offset int64) bool
	// noAssetHeader leaves Osprey-Asset-Id out of the last PATCH's answer.
	noAssetHeader bool
	// failCreate is how many more times creating the asset of a complete
	// upload fails (500, the upload kept), as Osprey's does when its
	// catalog is down.
	failCreate int
	// statuses are the statuses GET /api/v1/assets/{id} goes through, one
	// per request, the last one staying.
	statuses []string
}

type fakeUpload struct {
	id      string
	lock    sync.Mutex // held during a PATCH
	length  int64
	data    []byte
	meta    map[string]string
	assetID string
}

type fakeAsset struct {
	ID       string         `json:"id"`
	Title    string         `json:"title"`
	Status   string         `json:"status"`
	Stage    string         `json:"stage,omitempty"`
	Progress float64        `json:"progress"`
	Error    string         `json:"error,omitempty"`
	Duration float64        `json:"duration"`
	Source   map[string]any `json:"source"`
	Playback map[string]any `json:"playback,omitempty"`
	Created  time.Time      `json:"created_at"`
	uploadID string
	gets     int
}

type patchLog struct {
	upload   string
	offset   int64
	received int64
}

func newTusServer(t *testing.T) *tusServer {
	t.Helper()
	s := &tusServer{t: t, uploads: map[string]*fakeUpload{}, assets: map[string]*fakeAsset{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/uploads/", s.create)
	mux.HandleFunc("HEAD /api/v1/uploads/{id}", s.head)
	mux.HandleFunc("PATCH /api/v1/uploads/{id}", s.patch)
	mux.HandleFunc("DELETE /api/v1/uploads/{id}", s.terminate)
	mux.HandleFunc("GET /api/v1/assets", s.listAssets)
	mux.HandleFunc("GET /api/v1/assets/{id}", s.getAsset)
	mux.HandleFunc("DELETE /api/v1/assets/{id}", s.deleteAsset)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+adminToken {
			apiError(w, http.StatusUnauthorized, "unauthenticated", "missing or wrong admin token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *tusServer) problem(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

func (s *tusServer) upload(id string) *fakeUpload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploads[id]
}

func (s *tusServer) create(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Tus-Resumable") != tusVersion {
		s.problem("POST without Tus-Resumable")
	}
	length, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
	if err != nil || length < 0 {
		http.Error(w, "bad Upload-Length", http.StatusBadRequest)
		return
	}
	meta := map[string]string{}
	for _, pair := range strings.Split(r.Header.Get("Upload-Metadata"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), " ")
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			http.Error(w, "bad Upload-Metadata", http.StatusBadRequest)
			return
		}
		meta[k] = string(b)
	}
	s.mu.Lock()
	s.created++
	id := fmt.Sprintf("up%d", s.created)
	s.uploads[id] = &fakeUpload{id: id, length: length, meta: meta}
	s.mu.Unlock()
	w.Header().Set("Tus-Resumable", tusVersion)
	w.Header().Set("Location", "/api/v1/uploads/"+id) // relative, as tusd may send
	w.WriteHeader(http.StatusCreated)
}

func (s *tusServer) head(w http.ResponseWriter, r *http.Request) {
	up := s.upload(r.PathValue("id"))
	if up == nil {
		http.NotFound(w, r)
		return
	}
	up.lock.Lock()
	defer up.lock.Unlock()
	w.Header().Set("Upload-Offset", strconv.Itoa(len(up.data)))
	w.Header().Set("Upload-Length", strconv.FormatInt(up.length, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

func (s *tusServer) patch(w http.ResponseWriter, r *http.Request) {
	up := s.upload(r.PathValue("id"))
	if up == nil {
		http.NotFound(w, r)
		return
	}
	if s.beforePatch != nil && s.beforePatch(w, r, up, len(s.patchLogs())) {
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/offset+octet-stream" {
		s.problem("PATCH with Content-Type %q", ct)
		http.Error(w, "bad Content-Type", http.StatusUnsupportedMediaType)
		return
	}
	up.lock.Lock()
	defer up.lock.Unlock()
	off, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || off != int64(len(up.data)) {
		s.problem("PATCH at offset %q; the server has %d", r.Header.Get("Upload-Offset"), len(up.data))
		http.Error(w, "offset mismatch", http.StatusConflict)
		return
	}
	entry := patchLog{upload: up.id, offset: off}
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Body.Read(buf)
		if int64(len(up.data)+n) > up.length {
			s.problem("PATCH beyond Upload-Length")
			n = int(up.length) - len(up.data)
		}
		up.data = append(up.data, buf[:n]...)
		entry.received += int64(n)
		s.mu.Lock()
		s.received += int64(n)
		s.mu.Unlock()
		if n > 0 && s.duringPatch != nil && s.duringPatch(up, int64(len(up.data))) {
			s.logPatch(entry)
			panic(http.ErrAbortHandler) // drops the connection
		}
		if err == io.EOF {
			break
		}
		if err != nil { // the client went away: keep what arrived
			s.logPatch(entry)
			return
		}
	}
	s.logPatch(entry)
	if int64(len(up.data)) == up.length && up.assetID == "" {
		s.mu.Lock()
		fail := s.failCreate > 0
		if fail {
			s.failCreate--
		}
		s.mu.Unlock()
		if fail {
			http.Error(w, "ERR_ASSET_CREATE_FAILED: the upload arrived but creating its asset failed", http.StatusInternalServerError)
			return
		}
		up.assetID = s.addAsset(up)
	}
	w.Header().Set("Upload-Offset", strconv.Itoa(len(up.data)))
	if up.assetID != "" && !s.noAssetHeader {
		w.Header().Set("Osprey-Asset-Id", up.assetID)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *tusServer) logPatch(e patchLog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patches = append(s.patches, e)
}

func (s *tusServer) patchLogs() []patchLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]patchLog(nil), s.patches...)
}

func (s *tusServer) terminate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.uploads, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

// addAsset makes the asset a completed upload becomes.
func (s *tusServer) addAsset(up *fakeUpload) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("as_test%d", len(s.order)+1)
	title := up.meta["title"]
	if title == "" {
		title = up.meta["filename"]
	}
	s.assets[id] = &fakeAsset{
		ID: id, Title: title, Status: "queued", Created: time.Date(2025, 6, 7, 8, 9, 10, 0, time.UTC),
		Source:   map[string]any{"filename": up.meta["filename"], "size": up.length, "origin": "tus"},
		uploadID: up.id,
	}
	s.order = append(s.order, id)
	return id
}

func (s *tusServer) listAssets(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 50
	}
	start := 0
	if c := q.Get("cursor"); c != "" {
		start, _ = strconv.Atoi(c)
	}
	var items []*fakeAsset
	next := ""
	for i := len(s.order) - 1 - start; i >= 0; i-- {
		a := s.assets[s.order[i]]
		if a == nil || q.Get("status") != "" && a.Status != q.Get("status") || q.Get("upload_id") != "" && a.uploadID != q.Get("upload_id") {
			continue
		}
		if len(items) == limit {
			next = strconv.Itoa(len(s.order) - 1 - i)
			break
		}
		items = append(items, a)
	}
	if items == nil {
		items = []*fakeAsset{}
	}
	writeTestJSON(w, map[string]any{"items": items, "next_cursor": next})
}

func (s *tusServer) getAsset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.assets[r.PathValue("id")]
	if a == nil {
		apiError(w, http.StatusNotFound, "not_found", "no such asset")
		return
	}
	if len(s.statuses) > 0 {
		st := s.statuses[min(a.gets, len(s.statuses)-1)]
		a.gets++
		a.Status, a.Stage, a.Progress, a.Error = st, "", 0, ""
		switch st {
		case "processing":
			a.Stage, a.Progress = "transcode", 40
		case "ready":
			a.Progress, a.Duration = 100, 62
			a.Playback = map[string]any{"player": s.url + "/watch/vod/" + a.ID}
		case "failed":
			a.Error = "the file holds no audio or video stream"
		}
	}
	writeTestJSON(w, a)
}

func (s *tusServer) deleteAsset(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assets[r.PathValue("id")] == nil {
		apiError(w, http.StatusNotFound, "not_found", "no such asset")
		return
	}
	delete(s.assets, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// check fails the test on any protocol violation the server saw.
func (s *tusServer) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.problems {
		t.Errorf("server saw: %s", p)
	}
}

func (s *tusServer) stats() (created int, received int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.created, s.received
}

// uploaded returns the bytes of the only upload with an asset.
func (s *tusServer) uploadedData(t *testing.T, assetID string) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, up := range s.uploads {
		if up.assetID == assetID {
			return up.data
		}
	}
	t.Fatalf("no upload became asset %s", assetID)
	return nil
}
