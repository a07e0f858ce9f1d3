package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/live"
)

const testToken = "osp_0123456789abcdefghijklmnopqrstuv"

var (
	t0        = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	idPattern = regexp.MustCompile(`^ch_[a-z2-7]{16}$`)
	skPattern = regexp.MustCompile(`^sk_[a-z2-7]{32}$`)
)

type testEnv struct {
	api  *API
	cat  *memCatalog
	live *fakeLive
}

func newTestEnv(t *testing.T, chs []catalog.Channel, modify ...func(*Deps)) *testEnv {
	t.Helper()
	e := &testEnv{cat: newMemCatalog(chs...), live: &fakeLive{statuses: map[string]live.Status{}}}
	deps := Deps{
		Catalog:    e.cat,
		Live:       e.live,
		AdminToken: testToken,
		RTMPAddr:   ":1935",
		SRTAddr:    ":9000",
		Now:        func() time.Time { return t0 },
	}
	for _, m := range modify {
		m(&deps)
	}
	e.api = New(deps)
	return e
}

// request builds an authenticated request to host example.com:8080.
func request(method, target, body string) *http.Request {
	r := httptest.NewRequest(method, "http://example.com:8080"+target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testToken)
	return r
}

func (e *testEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, r)
	return w
}

func (e *testEnv) do(method, target, body string) *httptest.ResponseRecorder {
	return e.serve(request(method, target, body))
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding %q: %v", w.Body.String(), err)
	}
	return v
}

// wantError checks the status and the JSON error body.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code, msgPart string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	e := decode[ErrorResponse](t, w)
	if e.Error.Code != code || !strings.Contains(e.Error.Message, msgPart) {
		t.Fatalf("error = %+v, want code %q and a message containing %q", e.Error, code, msgPart)
	}
}

var (
	chA = catalog.Channel{ID: "ch_aaaaaaaaaaaaaaaa", Name: "Alpha", StreamKey: "sk_alpha", CreatedAt: t0, UpdatedAt: t0}
	chB = catalog.Channel{ID: "ch_bbbbbbbbbbbbbbbb", Name: "Beta", StreamKey: "sk_beta", CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second)}
)

func TestAuth(t *testing.T) {
	t.Parallel()
	endpoints := []struct{ method, path, body string }{
		{"GET", "/api/v1/channels", ""},
		{"POST", "/api/v1/channels", `{"name":"x"}`},
		{"GET", "/api/v1/channels/" + chA.ID, ""},
		{"DELETE", "/api/v1/channels/" + chA.ID, ""},
		{"POST", "/api/v1/channels/" + chA.ID + "/rotate-key", ""},
		{"GET", "/api/v1/nonexistent", ""},
	}
	creds := []struct {
		name      string
		header    string // Authorization; "-" for none
		admin     string // configured token
		challenge string // "" means authorized
	}{
		{"none", "-", testToken, `Bearer realm="osprey"`},
		{"wrong token", "Bearer osp_wrong", testToken, `Bearer realm="osprey", error="invalid_token"`},
		{"prefix of the token", "Bearer " + testToken[:10], testToken, `error="invalid_token"`},
		{"basic scheme", "Basic " + testToken, testToken, `Bearer realm="osprey"`},
		{"empty bearer", "Bearer ", testToken, `Bearer realm="osprey"`},
		{"empty configured token", "Bearer ", "", `Bearer realm="osprey"`},
		{"empty configured token, any token", "Bearer x", "", `error="invalid_token"`},
		{"right token", "Bearer " + testToken, testToken, ""},
		{"scheme is case-insensitive", "bearer " + testToken, testToken, ""},
	}
	for _, c := range creds {
		for _, ep := range endpoints {
			t.Run(c.name+"/"+ep.method+" "+ep.path, func(t *testing.T) {
				t.Parallel()
				e := newTestEnv(t, []catalog.Channel{chA}, func(d *Deps) { d.AdminToken = c.admin })
				r := request(ep.method, ep.path, ep.body)
				r.Header.Del("Authorization")
				if c.header != "-" {
					r.Header.Set("Authorization", c.header)
				}
				w := e.serve(r)
				if c.challenge == "" {
					if w.Code == http.StatusUnauthorized {
						t.Fatalf("authorized request got 401: %s", w.Body)
					}
					return
				}
				wantError(t, w, http.StatusUnauthorized, CodeUnauthenticated, "")
				if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, c.challenge) {
					t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, c.challenge)
				}
				if _, ok := e.cat.get(chA.ID); !ok || len(e.live.removedIDs()) != 0 {
					t.Error("unauthenticated request changed state")
				}
			})
		}
	}
}

func TestCreateChannel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	w := e.do("POST", "/api/v1/channels", `{"name": "  Main stage  "}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("status = %d; body %s", w.Code, w.Body)
	}
	ch := decode[Channel](t, w)
	if !idPattern.MatchString(ch.ID) || !skPattern.MatchString(ch.StreamKey) {
		t.Errorf("id %q / stream key %q have the wrong form", ch.ID, ch.StreamKey)
	}
	if got := w.Header().Get("Location"); got != "/api/v1/channels/"+ch.ID {
		t.Errorf("Location = %q", got)
	}
	if ch.Name != "Main stage" || ch.State != "idle" || !ch.CreatedAt.Equal(t0) || ch.Live != nil {
		t.Errorf("channel = %+v", ch)
	}
	stored, ok := e.cat.get(ch.ID)
	if !ok || stored.Name != "Main stage" || stored.StreamKey != ch.StreamKey || stored.CreatedAt != t0 {
		t.Errorf("stored channel = %+v, %v", stored, ok)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", w.Header().Get("Cache-Control"))
	}

	w2 := e.do("POST", "/api/v1/channels", `{"name":"Other"}`)
	ch2 := decode[Channel](t, w2)
	if ch2.ID == ch.ID || ch2.StreamKey == ch.StreamKey {
		t.Error("two channels got the same id or key")
	}
}

func TestCreateChannelErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"duplicate name", `{"name":"Alpha"}`, 409, CodeAlreadyExists, `a channel named "Alpha" already exists`},
		{"duplicate after trim", `{"name":" Alpha "}`, 409, CodeAlreadyExists, "already exists"},
		{"missing name", `{}`, 400, CodeInvalidArgument, "name is required"},
		{"blank name", `{"name":"   "}`, 400, CodeInvalidArgument, "name is required"},
		{"null body", `null`, 400, CodeInvalidArgument, "name is required"},
		{"name too long", `{"name":"` + strings.Repeat("é", 101) + `"}`, 400, CodeInvalidArgument, "101 characters long; at most 100"},
		{"control character", `{"name":"a\u0007b"}`, 400, CodeInvalidArgument, "control characters"},
		{"unknown field", `{"name":"x","colour":"red"}`, 400, CodeInvalidArgument, `unknown field "colour"`},
		{"wrong type", `{"name":42}`, 400, CodeInvalidArgument, `field "name" must be a JSON string`},
		{"array body", `["x"]`, 400, CodeInvalidArgument, "must be a JSON object"},
		{"empty body", ``, 400, CodeInvalidArgument, "request body is empty"},
		{"invalid json", `{"name":`, 400, CodeInvalidArgument, "not valid JSON"},
		{"trailing data", `{"name":"x"} {"name":"y"}`, 400, CodeInvalidArgument, "data after the JSON object"},
		{"too large", `{"name":"` + strings.Repeat("a", 20000) + `"}`, 413, CodeTooLarge, "larger than 16384 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, []catalog.Channel{chA})
			wantError(t, e.do("POST", "/api/v1/channels", tt.body), tt.status, tt.code, tt.msg)
			if chs, _ := e.cat.ListChannels(context.Background()); len(chs) != 1 {
				t.Errorf("catalog has %d channels, want 1", len(chs))
			}
		})
	}
}

func TestCreateChannelAcceptsLongestName(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	name := strings.Repeat("é", 100)
	w := e.do("POST", "/api/v1/channels", `{"name":"`+name+`"}`)
	if w.Code != http.StatusCreated || decode[Channel](t, w).Name != name {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
}

func TestListChannels(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	w := e.do("GET", "/api/v1/channels", "")
	if w.Code != 200 || strings.TrimSpace(strings.Join(strings.Fields(w.Body.String()), "")) != `{"items":[]}` {
		t.Fatalf("empty list: %d %s", w.Code, w.Body)
	}

	e = newTestEnv(t, []catalog.Channel{chB, chA})
	e.live.statuses[chB.ID] = live.Status{State: "live", Protocol: "srt"}
	list := decode[ChannelList](t, e.do("GET", "/api/v1/channels", ""))
	if len(list.Items) != 2 || list.Items[0].ID != chA.ID || list.Items[1].ID != chB.ID {
		t.Fatalf("items = %+v", list.Items)
	}
	if list.Items[0].State != "idle" || list.Items[1].State != "live" || list.Items[1].Live == nil || list.Items[1].Live.Protocol != "srt" {
		t.Errorf("states = %+v / %+v", list.Items[0], list.Items[1])
	}
}

func TestGetChannel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	ch := decode[Channel](t, e.do("GET", "/api/v1/channels/"+chA.ID, ""))
	if ch.ID != chA.ID || ch.Name != "Alpha" || ch.StreamKey != "sk_alpha" || ch.State != "idle" {
		t.Errorf("channel = %+v", ch)
	}
	wantError(t, e.do("GET", "/api/v1/channels/ch_nope", ""), 404, CodeNotFound, `channel "ch_nope" not found`)
}

func TestGetLiveChannelShowsStatus(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	since := t0.Add(time.Hour)
	e.live.statuses[chA.ID] = live.Status{
		State: "live", Protocol: "rtmp", Since: &since, Renditions: []string{"720p", "audio"},
		Transcoder: &live.TranscoderStatus{Running: true, Restarts: 2, Speed: 0.93, Behind: true},
	}
	w := e.do("GET", "/api/v1/channels/"+chA.ID, "")
	ch := decode[Channel](t, w)
	if ch.State != "live" || ch.Live == nil || ch.Live.Transcoder == nil || ch.Live.Transcoder.Restarts != 2 || !ch.Live.Transcoder.Behind {
		t.Fatalf("channel = %+v", ch)
	}
	for _, field := range []string{`"speed": 0.93`, `"behind": true`, `"renditions"`} {
		if !strings.Contains(w.Body.String(), field) {
			t.Errorf("body lacks %s: %s", field, w.Body)
		}
	}
}

func TestDeleteChannel(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA, chB})
	w := e.do("DELETE", "/api/v1/channels/"+chA.ID, "")
	if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
	if _, ok := e.cat.get(chA.ID); ok {
		t.Error("channel still in the catalog")
	}
	if _, ok := e.cat.get(chB.ID); !ok {
		t.Error("other channel deleted")
	}
	if got := e.live.removedIDs(); len(got) != 1 || got[0] != chA.ID {
		t.Errorf("Live.Remove calls = %v", got)
	}

	wantError(t, e.do("DELETE", "/api/v1/channels/"+chA.ID, ""), 404, CodeNotFound, "not found")
	if got := e.live.removedIDs(); len(got) != 1 {
		t.Errorf("Live.Remove called for an unknown channel: %v", got)
	}
}

func TestDeleteChannelRemoveFails(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	e.live.removeErr = errBoom
	w := e.do("DELETE", "/api/v1/channels/"+chA.ID, "")
	wantError(t, w, 500, CodeInternal, "internal error")
	if strings.Contains(w.Body.String(), "fire") {
		t.Error("internal error detail leaked to the client")
	}
	if _, ok := e.cat.get(chA.ID); !ok {
		t.Error("channel deleted although its media could not be removed")
	}
}

func TestRotateKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	w := e.do("POST", "/api/v1/channels/"+chA.ID+"/rotate-key", "")
	if w.Code != 200 {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
	ch := decode[Channel](t, w)
	if ch.StreamKey == chA.StreamKey || !skPattern.MatchString(ch.StreamKey) {
		t.Errorf("new key %q", ch.StreamKey)
	}
	if !strings.HasSuffix(ch.Ingest.RTMP, "/live/"+ch.StreamKey) {
		t.Errorf("ingest URL %q does not use the new key", ch.Ingest.RTMP)
	}
	if stored, _ := e.cat.get(chA.ID); stored.StreamKey != ch.StreamKey {
		t.Errorf("stored key %q, response key %q", stored.StreamKey, ch.StreamKey)
	}
	wantError(t, e.do("POST", "/api/v1/channels/ch_nope/rotate-key", ""), 404, CodeNotFound, "not found")
}

func TestCatalogFailureIs500(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	e.cat.failWith = errBoom
	for _, target := range []string{"/api/v1/channels", "/api/v1/channels/" + chA.ID} {
		w := e.do("GET", target, "")
		wantError(t, w, 500, CodeInternal, "see the server log")
	}
	wantError(t, e.do("POST", "/api/v1/channels", `{"name":"x"}`), 500, CodeInternal, "")
}

// A request that fails while the catalog is unreachable (PostgreSQL
// restarting) answers 503 with a JSON error and Retry-After, not 500.
func TestCatalogOutageIs503(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	e.cat.failWith = errBoom
	e.cat.pingErr = errBoom
	for _, target := range []string{"/api/v1/channels", "/api/v1/channels/" + chA.ID} {
		w := e.do("GET", target, "")
		wantError(t, w, 503, CodeUnavailable, "catalog (database) is unreachable")
		if w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", target)
		}
	}
	wantError(t, e.do("POST", "/api/v1/channels", `{"name":"x"}`), 503, CodeUnavailable, "")
}

func TestRouting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"PUT", "/api/v1/channels", 405, "GET, POST"},
		{"PUT", "/api/v1/channels/" + chA.ID, 405, "GET, PATCH, DELETE"},
		{"GET", "/api/v1/channels/" + chA.ID + "/clips", 405, "POST"},
		{"GET", "/api/v1/channels/" + chA.ID + "/rotate-key", 405, "POST"},
		{"GET", "/api/v1/streams", 404, ""},
		{"GET", "/api/v1/channels/" + chA.ID + "/x", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, []catalog.Channel{chA})
			w := e.do(tt.method, tt.path, "")
			code := CodeNotFound
			if tt.status == 405 {
				code = CodeMethodNotAllowed
			}
			wantError(t, w, tt.status, code, "")
			if got := w.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	t.Parallel()
	const id, key = "ch_aaaaaaaaaaaaaaaa", "sk_alpha"
	tests := []struct {
		name      string
		publicURL string
		rtmp, srt string
		host      string // request Host
		tls       bool
		header    http.Header
		want      Channel // only Ingest and Playback compared
	}{
		{
			name: "from request host", rtmp: ":1935", srt: ":9000", host: "example.com:8080",
			want: Channel{
				Ingest: Ingest{RTMP: "rtmp://example.com:1935/live/" + key, SRT: "srt://example.com:9000?streamid=publish:" + key},
				Playback: Playback{HLS: "http://example.com:8080/live/" + id + "/index.m3u8",
					DASH: "http://example.com:8080/live/" + id + "/manifest.mpd", Player: "http://example.com:8080/watch/" + id},
			},
		},
		{
			name: "tls request", rtmp: "0.0.0.0:1936", srt: "", host: "example.com", tls: true,
			want: Channel{
				Ingest:   Ingest{RTMP: "rtmp://example.com:1936/live/" + key},
				Playback: Playback{HLS: "https://example.com/live/" + id + "/index.m3u8", DASH: "https://example.com/live/" + id + "/manifest.mpd", Player: "https://example.com/watch/" + id},
			},
		},
		{
			name: "public url with path", publicURL: "https://video.example.com/osprey/", rtmp: ":1935", srt: ":9000", host: "10.0.0.5:8080",
			want: Channel{
				Ingest: Ingest{RTMP: "rtmp://video.example.com:1935/live/" + key, SRT: "srt://video.example.com:9000?streamid=publish:" + key},
				Playback: Playback{HLS: "https://video.example.com/osprey/live/" + id + "/index.m3u8",
					DASH: "https://video.example.com/osprey/live/" + id + "/manifest.mpd", Player: "https://video.example.com/osprey/watch/" + id},
			},
		},
		{
			name: "ingest disabled", rtmp: "", srt: "", host: "example.com:8080",
			want: Channel{Playback: Playback{HLS: "http://example.com:8080/live/" + id + "/index.m3u8",
				DASH: "http://example.com:8080/live/" + id + "/manifest.mpd", Player: "http://example.com:8080/watch/" + id}},
		},
		{
			name: "ipv6 host", rtmp: "[::]:1935", srt: ":9000", host: "[::1]:8080",
			want: Channel{
				Ingest: Ingest{RTMP: "rtmp://[::1]:1935/live/" + key, SRT: "srt://[::1]:9000?streamid=publish:" + key},
				Playback: Playback{HLS: "http://[::1]:8080/live/" + id + "/index.m3u8",
					DASH: "http://[::1]:8080/live/" + id + "/manifest.mpd", Player: "http://[::1]:8080/watch/" + id},
			},
		},
		{
			name: "forwarded headers ignored", rtmp: ":1935", host: "internal:8080",
			header: http.Header{"X-Forwarded-Host": {"evil.example"}, "X-Forwarded-Proto": {"https"}},
			want: Channel{
				Ingest: Ingest{RTMP: "rtmp://internal:1935/live/" + key},
				Playback: Playback{HLS: "http://internal:8080/live/" + id + "/index.m3u8",
					DASH: "http://internal:8080/live/" + id + "/manifest.mpd", Player: "http://internal:8080/watch/" + id},
			},
		},
		{
			name: "malformed host header", rtmp: ":1935", host: "evil.example/path?",
			want: Channel{
				Ingest: Ingest{RTMP: "rtmp://localhost:1935/live/" + key},
				Playback: Playback{HLS: "http://localhost/live/" + id + "/index.m3u8",
					DASH: "http://localhost/live/" + id + "/manifest.mpd", Player: "http://localhost/watch/" + id},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, []catalog.Channel{chA}, func(d *Deps) {
				d.PublicURL, d.RTMPAddr, d.SRTAddr = tt.publicURL, tt.rtmp, tt.srt
			})
			r := request("GET", "/api/v1/channels/"+id, "")
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, v := range tt.header {
				r.Header[k] = v
			}
			w := e.serve(r)
			ch := decode[Channel](t, w)
			if ch.Ingest != tt.want.Ingest {
				t.Errorf("ingest = %+v\nwant     %+v", ch.Ingest, tt.want.Ingest)
			}
			if ch.Playback != tt.want.Playback {
				t.Errorf("playback = %+v\nwant       %+v", ch.Playback, tt.want.Playback)
			}
			// A disabled protocol's URL is absent, not empty.
			for proto, url := range map[string]string{"rtmp": tt.want.Ingest.RTMP, "srt": tt.want.Ingest.SRT} {
				if present := strings.Contains(w.Body.String(), `"`+proto+`":`); present != (url != "") {
					t.Errorf("%s key present = %v in %s", proto, present, w.Body)
				}
			}
		})
	}
}

// The handler works behind a real server and client, with the JSON error shape intact.
func TestOverHTTP(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, nil)
	srv := httptest.NewServer(e.api)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/channels", bytes.NewReader([]byte(`{"name":"net"}`)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	var ch Channel
	if err := json.Unmarshal(body, &ch); err != nil {
		t.Fatal(err)
	}
	if want := srv.URL + "/live/" + ch.ID + "/index.m3u8"; ch.Playback.HLS != want {
		t.Errorf("hls = %q, want %q", ch.Playback.HLS, want)
	}
}

// Deleting a channel live on an ingest node the events bus cannot reach
// answers 503 and keeps the channel.
func TestDeleteWithIngestNodeUnreachableIs503(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, []catalog.Channel{chA})
	e.live.removeErr = fmt.Errorf("telling the ingest nodes: %w: nats: connection closed", live.ErrNodesUnreachable)
	wantError(t, e.do("DELETE", "/api/v1/channels/"+chA.ID, ""), 503, CodeUnavailable, "cannot be reached")
	if _, ok := e.cat.get(chA.ID); !ok {
		t.Fatal("the channel was deleted although its publisher could not be stopped")
	}
}
