package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
)

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// multipartRequest builds an authenticated POST /api/v1/assets with the
// fields in order; a field named "file" is sent as a file part.
func multipartRequest(t *testing.T, fields ...[2]string) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		var w io.Writer
		var err error
		if f[0] == "file" {
			w, err = mw.CreateFormFile("file", "holiday.mp4")
		} else {
			w, err = mw.CreateFormField(f[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, f[1])
	}
	_ = mw.Close()
	r := request(http.MethodPost, "/api/v1/assets", buf.String())
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return r
}

func jsonRequest(method, target, body string) *http.Request {
	r := request(method, target, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestCreateAssetMultipart(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil)
	data := string(randomData(t, 300<<10))
	w := e.serve(multipartRequest(t, [2]string{"title", "Summer"}, [2]string{"file", data}))
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := decode[Asset](t, w)
	if got.ID == "" || got.Title != "Summer" || got.Status != "queued" || w.Header().Get("Location") != "/api/v1/assets/"+got.ID {
		t.Fatalf("asset = %+v, Location %q", got, w.Header().Get("Location"))
	}
	if got.Source != (AssetSource{Filename: "holiday.mp4", Size: int64(len(data)), Origin: "multipart"}) {
		t.Fatalf("source = %+v", got.Source)
	}
	if strings.Contains(w.Body.String(), `"playback"`) {
		t.Fatal("a queued asset has playback URLs")
	}
	srcs := e.vod.sources()
	if len(srcs) != 1 || string(srcs[0].Data) != data {
		t.Fatalf("VOD got %d sources; the bytes differ or are missing", len(srcs))
	}
	if dir := filepath.Dir(srcs[0].File.Path); dir != filepath.Join(e.dataDir, "uploads") {
		t.Fatalf("source arrived in %s", dir)
	}
	if srcs[0].File.Priority != 0 {
		t.Fatalf("priority %d without ?priority", srcs[0].File.Priority)
	}
	req := multipartRequest(t, [2]string{"file", "x"})
	req.URL.RawQuery = "priority=1"
	if w := e.serve(req); w.Code != http.StatusCreated {
		t.Fatalf("with priority: %d %s", w.Code, w.Body)
	}
	if srcs = e.vod.sources(); len(srcs) != 2 || srcs[1].File.Priority != 1 {
		t.Fatalf("?priority=1 did not reach the VOD: %+v", srcs[len(srcs)-1].File)
	}

	w = e.do(http.MethodGet, "/api/v1/assets/"+got.ID, "")
	if w.Code != http.StatusOK || decode[Asset](t, w).ID != got.ID {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
}

func TestCreateAssetRefusals(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, func(c *intake.Config) { c.MaxSize = 1000 })
	loopback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the loopback server was fetched")
	}))
	t.Cleanup(loopback.Close)
	body, _ := json.Marshal(CreateAssetRequest{SourceURL: loopback.URL + "/v.mp4"})

	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
		msg    string
	}{
		{"source_url to loopback", jsonRequest("POST", "/api/v1/assets", string(body)), 422, CodeUnprocessable, "loopback address"},
		{"source_url to the metadata service", jsonRequest("POST", "/api/v1/assets", `{"source_url":"http://169.254.169.254/latest"}`),
			422, CodeUnprocessable, "link-local"},
		{"no source_url", jsonRequest("POST", "/api/v1/assets", `{"title":"x"}`), 400, CodeInvalidArgument, "source_url is required"},
		{"ftp source_url", jsonRequest("POST", "/api/v1/assets", `{"source_url":"ftp://example.com/a"}`), 400, CodeInvalidArgument, "http or https"},
		{"unknown JSON field", jsonRequest("POST", "/api/v1/assets", `{"url":"http://example.com/a"}`), 400, CodeInvalidArgument, `unknown field "url"`},
		{"bad title", jsonRequest("POST", "/api/v1/assets", `{"source_url":"http://example.com/a","title":"a\u0007"}`), 400, CodeInvalidArgument, "control characters"},
		{"plain text", request("POST", "/api/v1/assets", "hello"), 415, CodeUnsupportedMediaType, "multipart/form-data"},
		{"multipart without file", multipartRequest(t, [2]string{"title", "x"}), 400, CodeInvalidArgument, `"file" field is required`},
		{"multipart too large", multipartRequest(t, [2]string{"file", strings.Repeat("x", 1001)}), 413, CodeTooLarge, "larger than the limit"},
		{"priority out of range", jsonRequest("POST", "/api/v1/assets?priority=9", string(body)), 400, CodeInvalidArgument, "priority must be 1 (highest) to 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.serve(tt.req), tt.status, tt.code, tt.msg)
		})
	}
	if n := len(e.vod.sources()); n != 0 {
		t.Fatalf("VOD got %d sources from refused requests", n)
	}
}

// TestCreateAssetFromURL checks that a URL import answers 202 at once
// with the asset importing, hands the full URL to the VOD (its job), and
// shows the URL everywhere else with its secrets redacted.
func TestCreateAssetFromURL(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, func(c *intake.Config) { c.AllowPrivateURLs = true })
	const secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
	full := "https://bucket.example.com/films/intro.mp4?X-Amz-Expires=600&X-Amz-Signature=" + secret + "&token=" + secret
	body, _ := json.Marshal(CreateAssetRequest{SourceURL: full, Title: "Intro"})
	w := e.serve(jsonRequest("POST", "/api/v1/assets", string(body)))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), secret) {
		t.Fatalf("the response shows the secret: %s", w.Body)
	}
	got := decode[Asset](t, w)
	want := AssetSource{Origin: "url", URL: "https://bucket.example.com/films/intro.mp4?X-Amz-Expires=600&X-Amz-Signature=REDACTED&token=REDACTED"}
	if got.Title != "Intro" || got.Status != "importing" || got.Source != want || w.Header().Get("Location") != "/api/v1/assets/"+got.ID {
		t.Fatalf("asset = %+v, Location %q", got, w.Header().Get("Location"))
	}
	e.vod.mu.Lock()
	imports := slices.Clone(e.vod.imports)
	e.vod.mu.Unlock()
	if len(imports) != 1 || imports[0] != full {
		t.Fatalf("the VOD got %q, want the full URL", imports)
	}
	w = e.do("GET", "/api/v1/assets/"+got.ID, "")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), secret) {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	w = e.do("GET", "/api/v1/assets?status=importing", "")
	if l := decode[AssetList](t, w); w.Code != http.StatusOK || len(l.Items) != 1 || l.Items[0].ID != got.ID {
		t.Fatalf("list of importing assets: %d %s", w.Code, w.Body)
	}
}

// TestAssetJSONRedactsOldRows checks that a URL stored before URLs were
// stored redacted is still shown redacted (the API and webhook payloads).
func TestAssetJSONRedactsOldRows(t *testing.T) {
	t.Parallel()
	a := AssetJSON("", catalog.Asset{ID: "as_1", Source: catalog.AssetSource{Origin: "url", URL: "https://h/v.mp4?sig=SECRET"}})
	if a.Source.URL != "https://h/v.mp4?sig=REDACTED" {
		t.Fatalf("source url %q", a.Source.URL)
	}
}

// addAssets creates n assets through the fake VOD, the i-th with upload ID
// "up<i>"; they are returned oldest first.
func addAssets(t *testing.T, e *assetEnv, n int) []catalog.Asset {
	t.Helper()
	var out []catalog.Asset
	for i := 0; i < n; i++ {
		p := filepath.Join(e.dataDir, "uploads", "src"+strconv.Itoa(i))
		if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := e.vod.CreateAsset(context.Background(), intake.File{Path: p, Size: 4, Origin: "tus", UploadID: "up" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestListAssets(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil)
	assets := addAssets(t, e, 5)
	if _, err := e.cat.UpdateAsset(context.Background(), assets[1].ID, func(a *catalog.Asset) error {
		a.Status = catalog.AssetReady
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Pages of two, newest first.
	var ids []string
	cursor := ""
	for page := 0; ; page++ {
		target := "/api/v1/assets?limit=2"
		if cursor != "" {
			target += "&cursor=" + cursor
		}
		w := e.do("GET", target, "")
		if w.Code != http.StatusOK {
			t.Fatalf("page %d: %d %s", page, w.Code, w.Body)
		}
		list := decode[AssetList](t, w)
		for _, a := range list.Items {
			ids = append(ids, a.ID)
		}
		if list.NextCursor == "" {
			if page != 2 || len(list.Items) != 1 || strings.Contains(w.Body.String(), "next_cursor") {
				t.Fatalf("last page %d has %d items: %s", page, len(list.Items), w.Body)
			}
			break
		}
		if len(list.Items) != 2 || page > 2 {
			t.Fatalf("page %d has %d items", page, len(list.Items))
		}
		cursor = list.NextCursor
	}
	want := []string{assets[4].ID, assets[3].ID, assets[2].ID, assets[1].ID, assets[0].ID}
	if strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("listed %v, want %v", ids, want)
	}

	filters := []struct {
		query string
		want  []string
	}{
		{"upload_id=up3", []string{assets[3].ID}},
		{"upload_id=nope", nil},
		{"status=ready", []string{assets[1].ID}},
		{"status=queued&upload_id=up1", nil},
	}
	for _, f := range filters {
		w := e.do("GET", "/api/v1/assets?"+f.query, "")
		list := decode[AssetList](t, w)
		var got []string
		for _, a := range list.Items {
			got = append(got, a.ID)
		}
		if w.Code != 200 || strings.Join(got, ",") != strings.Join(f.want, ",") || list.Items == nil {
			t.Errorf("?%s: %d %v, want %v", f.query, w.Code, got, f.want)
		}
	}

	bad := []struct{ query, msg string }{
		{"limit=0", "limit must be"},
		{"limit=501", "limit must be"},
		{"limit=ten", "limit must be"},
		{"status=done", `status "done" is not one of`},
		{"cursor=garbage!", "cursor is not valid"},
	}
	for _, b := range bad {
		wantError(t, e.do("GET", "/api/v1/assets?"+b.query, ""), 400, CodeInvalidArgument, b.msg)
	}
}

func TestAssetByID(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil)
	a := addAssets(t, e, 1)[0]

	wantError(t, e.do("GET", "/api/v1/assets/as_nope", ""), 404, CodeNotFound, `asset "as_nope" not found`)
	wantError(t, e.do("DELETE", "/api/v1/assets/as_nope", ""), 404, CodeNotFound, `asset "as_nope" not found`)
	wantError(t, e.do("POST", "/api/v1/assets/as_nope/cancel", ""), 404, CodeNotFound, "not found")
	wantError(t, e.do("PUT", "/api/v1/assets/"+a.ID, ""), 405, CodeMethodNotAllowed, "allowed: GET, DELETE")

	w := e.do("POST", "/api/v1/assets/"+a.ID+"/cancel", "")
	if got := decode[Asset](t, w); w.Code != 200 || got.Status != "failed" || got.Error != "cancelled" {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}

	w = e.do("DELETE", "/api/v1/assets/"+a.ID, "")
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	wantError(t, e.do("GET", "/api/v1/assets/"+a.ID, ""), 404, CodeNotFound, "not found")
	if len(e.vod.deleted) != 1 || e.vod.deleted[0] != a.ID {
		t.Fatalf("VOD deletions: %v", e.vod.deleted)
	}
}

func TestAddSubtitle(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil)
	a := addAssets(t, e, 1)[0]
	target := "/api/v1/assets/" + a.ID + "/subtitles"
	vtt := "WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n"

	r := request("POST", target+"?language=pt-BR&label=Portugu%C3%AAs", vtt)
	r.Header.Set("Content-Type", "text/vtt")
	w := e.serve(r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := decode[Asset](t, w)
	want := AssetSubtitle{Name: "pt-BR", Language: "pt-BR", Label: "Português",
		URL: "http://example.com:8080/vod/" + a.ID + "/subs/pt-BR.vtt"}
	if len(got.Subtitles) != 1 || got.Subtitles[0] != want {
		t.Fatalf("subtitles = %+v, want [%+v]", got.Subtitles, want)
	}

	tests := []struct {
		name, query, ctype, body string
		status                   int
		code, msg                string
	}{
		{"not WebVTT", "?language=en", "text/vtt", "1\n00:00:00,000 --> 00:00:01,000\nHi\n", 400, CodeInvalidArgument, "not a WebVTT file"},
		{"WEBVTTX", "?language=en", "text/vtt", "WEBVTTX\n", 400, CodeInvalidArgument, "not a WebVTT file"},
		{"no language", "", "text/vtt", vtt, 400, CodeInvalidArgument, "language"},
		{"bad language", "?language=english!", "text/vtt", vtt, 400, CodeInvalidArgument, "language"},
		{"wrong content type", "?language=en", "application/json", vtt, 415, CodeUnsupportedMediaType, "text/vtt"},
		{"too large", "?language=en", "text/vtt", "WEBVTT\n" + strings.Repeat("x", 10<<20), 413, CodeTooLarge, "10 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("POST", target+tt.query, tt.body)
			r.Header.Set("Content-Type", tt.ctype)
			wantError(t, e.serve(r), tt.status, tt.code, tt.msg)
		})
	}
	r = request("POST", "/api/v1/assets/as_nope/subtitles?language=en", vtt)
	wantError(t, e.serve(r), 404, CodeNotFound, "not found")
	if n := len(e.vod.subtitles); n != 2 { // the success and the unknown asset
		t.Fatalf("VOD got %d subtitle calls, want 2", n)
	}
}

func TestAssetEndpointsNeedToken(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil)
	for _, ep := range []struct{ method, path string }{
		{"GET", "/api/v1/assets"}, {"POST", "/api/v1/assets"}, {"GET", "/api/v1/assets/as_x"},
		{"DELETE", "/api/v1/assets/as_x"}, {"POST", "/api/v1/assets/as_x/cancel"},
		{"POST", "/api/v1/assets/as_x/subtitles"}, {"POST", "/api/v1/uploads/"}, {"POST", "/api/v1/uploads"},
		{"PATCH", "/api/v1/uploads/0123456789abcdef0123456789abcdef"},
		{"HEAD", "/api/v1/uploads/0123456789abcdef0123456789abcdef"},
		{"DELETE", "/api/v1/uploads/0123456789abcdef0123456789abcdef"},
	} {
		r := httptest.NewRequest(ep.method, "http://example.com"+ep.path, nil)
		r.Header.Set("Tus-Resumable", "1.0.0")
		r.Header.Set("Upload-Length", "10")
		w := e.serve(r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", ep.method, ep.path, w.Code)
		}
	}
	// tus discovery is open.
	r := httptest.NewRequest("OPTIONS", "http://example.com/api/v1/uploads/", nil)
	w := e.serve(r)
	if w.Code != http.StatusOK || w.Header().Get("Tus-Version") != "1.0.0" || w.Header().Get("Tus-Max-Size") != strconv.Itoa(1<<20) {
		t.Fatalf("OPTIONS without a token: %d %v", w.Code, w.Header())
	}
	if n := len(e.vod.sources()); n != 0 {
		t.Fatal("an unauthenticated request reached the VOD")
	}
}

func TestVODDisabled(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil, func(d *Deps) { d.VOD, d.Intake = nil, nil })
	wantError(t, e.serve(multipartRequest(t, [2]string{"file", "x"})), 503, CodeUnavailable, "not enabled")
	wantError(t, e.do("DELETE", "/api/v1/assets/as_x", ""), 503, CodeUnavailable, "not enabled")
	wantError(t, e.do("POST", "/api/v1/uploads/", ""), 503, CodeUnavailable, "uploads are not enabled")
	if w := e.do("GET", "/api/v1/assets", ""); w.Code != http.StatusOK {
		t.Fatalf("listing without a VOD: %d", w.Code)
	}
}

// TestTusUploadThroughAPI uploads over real HTTP with the bearer token, in
// two PATCHes, and finds the asset by its upload ID.
func TestTusUploadThroughAPI(t *testing.T) {
	t.Parallel()
	e := newAssetEnv(t, nil)
	srv := httptest.NewServer(e.api)
	t.Cleanup(srv.Close)
	data := randomData(t, 200<<10)

	tusDo := func(method, url string, body []byte, hdr ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Tus-Resumable", "1.0.0")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}

	meta := "filename " + base64.StdEncoding.EncodeToString([]byte("lecture.mp4")) +
		",title " + base64.StdEncoding.EncodeToString([]byte("Lecture 1"))
	resp := tusDo("POST", srv.URL+"/api/v1/uploads/", nil, "Upload-Length", strconv.Itoa(len(data)), "Upload-Metadata", meta)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creation: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, srv.URL+"/api/v1/uploads/") {
		t.Fatalf("Location = %q", loc)
	}
	uploadID := path.Base(loc)

	half := len(data) / 2
	octet := "application/offset+octet-stream"
	if resp := tusDo("PATCH", loc, data[:half], "Upload-Offset", "0", "Content-Type", octet); resp.StatusCode != 204 {
		t.Fatalf("first PATCH: %d", resp.StatusCode)
	}
	resp = tusDo("HEAD", loc, nil)
	if resp.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("HEAD Upload-Offset = %q", resp.Header.Get("Upload-Offset"))
	}
	resp = tusDo("PATCH", loc, data[half:], "Upload-Offset", strconv.Itoa(half), "Content-Type", octet)
	if resp.StatusCode != 204 {
		t.Fatalf("last PATCH: %d", resp.StatusCode)
	}
	assetID := resp.Header.Get(intake.AssetIDHeader)

	srcs := e.vod.sources()
	if len(srcs) != 1 || !bytes.Equal(srcs[0].Data, data) {
		t.Fatal("VOD did not get the uploaded bytes")
	}
	if f := srcs[0].File; f.UploadID != uploadID || f.Origin != "tus" || f.Filename != "lecture.mp4" || f.Title != "Lecture 1" {
		t.Fatalf("File = %+v, want upload ID %s", f, uploadID)
	}

	w := e.do("GET", "/api/v1/assets?upload_id="+uploadID, "")
	list := decode[AssetList](t, w)
	if w.Code != 200 || len(list.Items) != 1 || list.Items[0].ID != assetID || list.Items[0].UploadID != uploadID {
		t.Fatalf("assets with upload_id %s: %s (asset header %q)", uploadID, w.Body, assetID)
	}
}

func TestAssetJSON(t *testing.T) {
	t.Parallel()
	ready := catalog.Asset{
		ID: "as_ready", Title: "Ready", Status: catalog.AssetReady, Progress: 99.96, Attempts: 1,
		Duration: 61500 * time.Millisecond, UploadID: "abc",
		Source:    catalog.AssetSource{Filename: "a.mp4", Size: 10, Key: "sources/as_ready/source", Origin: "tus", Probe: "h264 1280x720"},
		CreatedAt: t0, UpdatedAt: t0.Add(time.Minute), ReadyAt: t0.Add(time.Minute),
		Output: catalog.AssetOutput{
			Renditions: []catalog.AssetRendition{
				{Name: "720p", Kind: "video", Codec: "avc1.64001f", Width: 1280, Height: 720, Bitrate: 3000000},
				{Name: "audio", Kind: "audio", Codec: "mp4a.40.2", Bitrate: 128000, Language: "en"},
			},
			Subtitles:  []catalog.AssetSubtitle{{Name: "en", Language: "en", Label: "English", Path: "subs/en.vtt"}},
			Poster:     "thumbs/poster.jpg",
			Sprite:     "thumbs/sprite-0.jpg",
			Thumbnails: "thumbs/thumbnails.vtt",
		},
	}
	queued := catalog.Asset{ID: "as_q", Title: "Q", Status: catalog.AssetQueued, Progress: 12.345,
		Source:    catalog.AssetSource{Filename: "b.mov", Size: 5, Origin: "url", URL: "https://example.com/b.mov"},
		CreatedAt: t0, UpdatedAt: t0}
	tests := []struct {
		name string
		a    catalog.Asset
		want string
	}{
		{"ready", ready, `{"id":"as_ready","title":"Ready","status":"ready","stage":"","progress":100,"attempts":1,` +
			`"duration":61.5,"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:05:05Z",` +
			`"ready_at":"2025-01-02T03:05:05Z","upload_id":"abc",` +
			`"source":{"filename":"a.mp4","size":10,"origin":"tus","probe":"h264 1280x720"},` +
			`"renditions":[{"name":"720p","kind":"video","codec":"avc1.64001f","width":1280,"height":720,"bitrate":3000000},` +
			`{"name":"audio","kind":"audio","codec":"mp4a.40.2","bitrate":128000,"language":"en"}],` +
			`"subtitles":[{"name":"en","language":"en","label":"English","url":"https://v.example/vod/as_ready/subs/en.vtt"}],` +
			`"playback":{"hls":"https://v.example/vod/as_ready/index.m3u8","dash":"https://v.example/vod/as_ready/manifest.mpd",` +
			`"player":"https://v.example/watch/vod/as_ready"},` +
			`"thumbnails":{"poster":"https://v.example/vod/as_ready/thumbs/poster.jpg",` +
			`"sprite":"https://v.example/vod/as_ready/thumbs/sprite-0.jpg","vtt":"https://v.example/vod/as_ready/thumbs/thumbnails.vtt"}}`},
		{"queued", queued, `{"id":"as_q","title":"Q","status":"queued","stage":"","progress":12.3,"attempts":0,"duration":0,` +
			`"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z",` +
			`"source":{"filename":"b.mov","size":5,"origin":"url","url":"https://example.com/b.mov"},"renditions":[],"subtitles":[]}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(AssetJSON("https://v.example/", tt.a))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestAssetErrorMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{&intake.Error{Status: 413, Message: "big"}, 413, CodeTooLarge},
		{&intake.Error{Status: 422, Message: "no"}, 422, CodeUnprocessable},
		{errors.Join(errors.New("ctx"), catalog.ErrNotFound), 404, CodeNotFound},
		{statusErr{400}, 400, CodeInvalidArgument},
	}
	for _, tt := range tests {
		var e *Error
		if !errors.As(assetError(tt.err, "as_x", "doing"), &e) || e.Status != tt.status || e.Code != tt.code {
			t.Errorf("assetError(%v) = %+v, want %d %s", tt.err, e, tt.status, tt.code)
		}
	}
	if err := assetError(errors.New("disk"), "as_x", "deleting"); errors.As(err, new(*Error)) {
		t.Errorf("an internal error became a client error: %v", err)
	}
}

type statusErr struct{ status int }

func (e statusErr) Error() string   { return "refused" }
func (e statusErr) HTTPStatus() int { return e.status }
