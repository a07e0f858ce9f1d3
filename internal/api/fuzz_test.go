package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/live"
)

// fuzzBodies are seeds shared by the request-body targets.
var fuzzBodies = []string{
	`{"name":"studio-1"}`, `{"name":""}`, `{"name":"  x  "}`, `{"name":"a","extra":1}`, `{"name":1}`,
	`[]`, `null`, `""`, `{}`, `{"name":"a"} {}`, `{"name":"\u0000\ud800"}`, `{"name":"` + strings.Repeat("n", 300) + `"}`,
	`{"url":"https://hooks.example.com/osprey","events":["asset.ready"]}`, `{"url":"http://127.0.0.1/x"}`,
	`{"url":"https://h/#frag"}`, `{"url":"javascript:alert(1)"}`, `{"url":"https://h","events":["asset.nope"]}`,
	`{"url":"https://h","events":null}`, `{"url":"https://h","events":[1]}`,
	`{"source_url":"https://media.example.com/a.mp4","title":"A"}`, `{"source_url":""}`, `{"source_url":"https://x","title":"` + strings.Repeat("t", 600) + `"}`,
	`{"source_url":"https://x","title":"\u202e"}`, `{`, `{"name":"a"`, "\xff\xfe", strings.Repeat("[", 10000),
}

// checkResponse holds for every answer to a request body: no 5xx, a JSON
// body, an error code on every refusal, and success only for valid JSON.
func checkResponse(t *testing.T, body string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 {
		t.Fatalf("body %q: HTTP %d %s", body, w.Code, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Fatalf("body %q: answer is not JSON: %q", body, w.Body)
	}
	if w.Code >= 400 {
		var e ErrorResponse
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("body %q: HTTP %d without an error code and message: %s", body, w.Code, w.Body)
		}
	} else if !json.Valid([]byte(body)) {
		t.Fatalf("body %q is not JSON but got HTTP %d", body, w.Code)
	}
}

func fuzzRequest(target, body string) *http.Request {
	r := request(http.MethodPost, target, body)
	r.Header.Set("Content-Type", "application/json")
	return r
}

// FuzzCreateChannel posts arbitrary bodies to POST /api/v1/channels.
func FuzzCreateChannel(f *testing.F) {
	for _, b := range fuzzBodies {
		f.Add(b)
	}
	// One API for the whole run (building it costs ~0.4 ms, ten times a
	// request); its catalog is emptied before each input so that inputs do
	// not see each other's channels.
	cat := newMemCatalog()
	a := New(Deps{Catalog: cat, Live: &fakeLive{statuses: map[string]live.Status{}},
		AdminToken: testToken, RTMPAddr: ":1935", SRTAddr: ":9000", Now: func() time.Time { return t0 }})
	f.Fuzz(func(t *testing.T, body string) {
		cat.mu.Lock()
		clear(cat.channels)
		cat.mu.Unlock()
		w := httptest.NewRecorder()
		a.ServeHTTP(w, fuzzRequest("/api/v1/channels", body))
		checkResponse(t, body, w)
		if w.Code == http.StatusCreated {
			var ch Channel
			if err := json.Unmarshal(w.Body.Bytes(), &ch); err != nil || !idPattern.MatchString(ch.ID) || ch.Name == "" || strings.TrimSpace(ch.Name) != ch.Name {
				t.Fatalf("body %q: created %s (%v)", body, w.Body, err)
			}
		}
	})
}

// FuzzCreateWebhook posts arbitrary bodies to POST /api/v1/webhooks.
func FuzzCreateWebhook(f *testing.F) {
	for _, b := range fuzzBodies {
		f.Add(b)
	}
	store, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "catalog.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	a := New(Deps{Catalog: store, AdminToken: testToken, Now: func() time.Time { return t0 }})
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, fuzzRequest("/api/v1/webhooks", body))
		checkResponse(t, body, w)
		if w.Code == http.StatusCreated {
			var hook Webhook
			if err := json.Unmarshal(w.Body.Bytes(), &hook); err != nil || !whPattern.MatchString(hook.ID) || !secretPattern.MatchString(hook.Secret) {
				t.Fatalf("body %q: created %s (%v)", body, w.Body, err)
			}
			u, err := url.Parse(hook.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Fragment != "" {
				t.Fatalf("body %q: registered URL %q", body, hook.URL)
			}
		}
	})
}

// fuzzIntake is an Intake whose FromURL "downloads" a few bytes at once,
// so the fuzzer exercises the handler and not the network.
type fuzzIntake struct {
	Intake // nil: other methods are not used
	dir    string
}

func (in *fuzzIntake) FromURL(_ context.Context, raw string) (intake.File, error) {
	f, err := os.CreateTemp(in.dir, "src-*")
	if err != nil {
		return intake.File{}, err
	}
	defer f.Close()
	if _, err := f.WriteString("data"); err != nil {
		return intake.File{}, err
	}
	return intake.File{Path: f.Name(), Filename: "a.mp4", Size: 4, Origin: "url", URL: raw}, nil
}

// FuzzCreateAsset posts arbitrary JSON bodies to POST /api/v1/assets.
func FuzzCreateAsset(f *testing.F) {
	for _, b := range fuzzBodies {
		f.Add(b, "")
	}
	f.Add(`{"source_url":"https://x/a.mp4"}`, "1")
	f.Add(`{"source_url":"https://x/a.mp4"}`, "0x")
	dir := f.TempDir()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "catalog.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	vod := &fakeVOD{cat: store}
	a := New(Deps{Catalog: store, VOD: vod, Intake: &fuzzIntake{dir: dir}, AdminToken: testToken, Now: func() time.Time { return t0 }})
	f.Fuzz(func(t *testing.T, body, priority string) {
		target := "/api/v1/assets"
		if priority != "" {
			target += "?priority=" + url.QueryEscape(priority)
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, fuzzRequest(target, body))
		checkResponse(t, body, w)
		// A file is created queued (201); a URL import is accepted
		// importing (202).
		want := map[int]catalog.AssetStatus{http.StatusCreated: catalog.AssetQueued, http.StatusAccepted: catalog.AssetImporting}
		if status, ok := want[w.Code]; ok {
			var as struct {
				ID     string `json:"id"`
				Title  string `json:"title"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &as); err != nil || as.ID == "" || as.Status != string(status) {
				t.Fatalf("body %q: HTTP %d %s (%v)", body, w.Code, w.Body, err)
			}
		}
	})
}
