package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/live"
)

const adminToken = "osp_testtoken0123456789abcdefghij"

// fakeLive reports the statuses it is given and records removals.
type fakeLive struct {
	mu       sync.Mutex
	statuses map[string]live.Status
	removed  []string
}

func (l *fakeLive) Status(id string) live.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st, ok := l.statuses[id]; ok {
		return st
	}
	return live.Status{State: "idle"}
}

func (l *fakeLive) Remove(_ context.Context, id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removed = append(l.removed, id)
	return nil
}

func (l *fakeLive) removedIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.removed...)
}

func (l *fakeLive) setLive(id string, st live.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.statuses[id] = st
}

// server is an httptest server running the real API over a SQLite catalog.
type server struct {
	url  string
	live *fakeLive
}

func newServer(t *testing.T) *server { return newServerWith(t, nil) }

// newServerWith is newServer with setup to change the API's dependencies
// and add routes of the media side (mux serves the API at /).
func newServerWith(t *testing.T, setup func(*api.Deps, *http.ServeMux)) *server {
	t.Helper()
	cat, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "osprey.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	fl := &fakeLive{statuses: map[string]live.Status{}}
	deps := api.Deps{Catalog: cat, Live: fl, AdminToken: adminToken, RTMPAddr: ":1935", SRTAddr: ""}
	mux := http.NewServeMux()
	if setup != nil {
		setup(&deps, mux)
	}
	mux.Handle("/", api.New(deps))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &server{url: srv.URL, live: fl}
}

// channel runs `osprey channel args...` against s with the right token.
func (s *server) channel(args ...string) result {
	return run(Options{}, append([]string{"channel", "--server", s.url, "--token", adminToken, "--data", "/nonexistent"}, args...)...)
}

var channelID = regexp.MustCompile(`ch_[a-z2-7]{16}`)

func TestChannelLifecycle(t *testing.T) {
	t.Parallel()
	s := newServer(t)

	r := s.channel("create", "Main stage")
	if r.code != 0 {
		t.Fatalf("create: %+v", r)
	}
	id := channelID.FindString(r.stdout)
	if id == "" {
		t.Fatalf("create printed no channel ID: %q", r.stdout)
	}
	host := strings.TrimPrefix(s.url, "http://")
	hostname, _, _ := net.SplitHostPort(host)
	for _, line := range []string{
		`(?m)^ID:\s+` + id + `$`,
		`(?m)^Name:\s+Main stage$`,
		`(?m)^State:\s+idle$`,
		`(?m)^Stream key:\s+sk_[a-z2-7]{32}$`,
		`(?m)^RTMP ingest:\s+rtmp://` + regexp.QuoteMeta(hostname) + `:1935/live/sk_[a-z2-7]{32}$`,
		`(?m)^HLS:\s+` + regexp.QuoteMeta(s.url) + `/live/` + id + `/index\.m3u8$`,
		`(?m)^DASH:\s+` + regexp.QuoteMeta(s.url) + `/live/` + id + `/manifest\.mpd$`,
		`(?m)^Player:\s+` + regexp.QuoteMeta(s.url) + `/watch/` + id + `$`,
	} {
		if !matches(line, r.stdout) {
			t.Errorf("create output lacks %s:\n%s", line, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "SRT ingest") {
		t.Errorf("SRT is disabled but its URL is shown:\n%s", r.stdout)
	}
	key := regexp.MustCompile(`sk_[a-z2-7]{32}`).FindString(r.stdout)

	if r := s.channel("create", "Main stage"); r.code != 1 || !strings.Contains(r.stderr, `a channel named "Main stage" already exists`) {
		t.Errorf("duplicate create: %+v", r)
	}
	s.channel("create", "Second")

	r = s.channel("list")
	if r.code != 0 || !matches(`(?m)^ID\s+NAME\s+STATE\s+HLS$`, r.stdout) ||
		!matches(`(?m)^`+id+`\s+Main stage\s+idle\s+`+regexp.QuoteMeta(s.url)+`/live/`+id+`/index\.m3u8$`, r.stdout) ||
		!strings.Contains(r.stdout, "Second") {
		t.Errorf("list: %+v", r)
	}

	since := time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)
	s.live.setLive(id, live.Status{State: "live", Protocol: "rtmp", RemoteAddr: "192.0.2.7:50000", Since: &since,
		Input: []string{"h264 1920x1080", "aac 48000Hz 2ch"}, Renditions: []string{"1080p", "720p", "audio"},
		Transcoder: &live.TranscoderStatus{Running: true, Restarts: 1, Speed: 0.97, Lag: 1.5, Behind: true},
		Degraded:   &live.Degraded{Level: 1, Reason: "dropped the top rung 1080p", Since: since}})
	r = s.channel("get", id)
	for _, line := range []string{
		`(?m)^State:\s+live$`,
		`(?m)^Publisher:\s+rtmp from 192\.0\.2\.7:50000$`,
		`(?m)^Input:\s+h264 1920x1080, aac 48000Hz 2ch$`,
		`(?m)^Renditions:\s+1080p, 720p, audio$`,
		`(?m)^Transcoder:\s+running, speed 0\.97x, lag 1\.5s, 1 restarts, BEHIND real time$`,
		`(?m)^Degraded:\s+level 1 since \d\d:\d\d:\d\d: dropped the top rung 1080p$`,
	} {
		if !matches(line, r.stdout) {
			t.Errorf("get output lacks %s:\n%s", line, r.stdout)
		}
	}

	r = s.channel("rotate-key", id, "--json")
	var rotated api.Channel
	if err := json.Unmarshal([]byte(r.stdout), &rotated); err != nil || r.code != 0 {
		t.Fatalf("rotate-key --json: %+v (%v)", r, err)
	}
	if rotated.ID != id || rotated.StreamKey == key || !strings.HasPrefix(rotated.StreamKey, "sk_") {
		t.Errorf("rotated channel %+v; old key %s", rotated, key)
	}

	r = s.channel("delete", id)
	if r.code != 0 || strings.TrimSpace(r.stdout) != "Deleted channel "+id+"." {
		t.Errorf("delete: %+v", r)
	}
	if removed := s.live.removedIDs(); len(removed) != 1 || removed[0] != id {
		t.Errorf("Live.Remove calls: %v", removed)
	}
	for _, cmd := range []string{"get", "delete", "rotate-key"} {
		r = s.channel(cmd, id)
		if r.code != 1 || !strings.Contains(r.stderr, `channel "`+id+`" not found`) {
			t.Errorf("%s after delete: %+v", cmd, r)
		}
	}
}

func TestChannelJSONOutput(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.channel("create", "--json", "J")
	var ch api.Channel
	if err := json.Unmarshal([]byte(r.stdout), &ch); err != nil || ch.Name != "J" || ch.Ingest.RTMP == "" {
		t.Fatalf("create --json: %+v (%v)", r, err)
	}
	r = s.channel("list", "--json")
	var list api.ChannelList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Items) != 1 || list.Items[0].ID != ch.ID {
		t.Fatalf("list --json: %+v (%v)", r, err)
	}
	if r := s.channel("delete", "--json", ch.ID); r.code != 0 || r.stdout != "" {
		t.Errorf("delete --json: %+v", r)
	}
	if r := s.channel("list"); !strings.Contains(r.stdout, "No channels") {
		t.Errorf("empty list: %+v", r)
	}
}

func TestChannelToken(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	dataWithToken := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataWithToken, api.AdminTokenFile), []byte(adminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyData := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout when code is 0, else in stderr
	}{
		{"token flag", []string{"--token", adminToken, "--data", emptyData}, 0, "No channels"},
		{"token from the data directory", []string{"--token", "", "--data", dataWithToken}, 0, "No channels"},
		{"flag wins over the file", []string{"--token", "osp_wrong", "--data", dataWithToken}, 1, "refused the admin token (401"},
		{"wrong token", []string{"--token", "osp_wrong", "--data", emptyData}, 1, "check OSPREY_ADMIN_TOKEN, --token or --data"},
		{"no token anywhere", []string{"--token", "", "--data", emptyData}, 1, "none found in " + emptyData + "/admin-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(Options{}, append([]string{"channel", "list", "--server", s.url}, tt.args...)...)
			out := r.stdout
			if tt.code != 0 {
				out = r.stderr
			}
			if r.code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("got %+v; want exit %d and %q", r, tt.code, tt.want)
			}
		})
	}
}

func TestChannelTokenFromEnv(t *testing.T) {
	s := newServer(t)
	t.Setenv("OSPREY_ADMIN_TOKEN", adminToken)
	t.Setenv("OSPREY_SERVER", s.url)
	r := run(Options{}, "channel", "list", "--data", t.TempDir())
	if r.code != 0 || !strings.Contains(r.stdout, "No channels") {
		t.Fatalf("%+v", r)
	}
}

func TestChannelServerErrors(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: bind, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()

	notOsprey := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/channels" {
			http.Error(w, "upstream exploded", http.StatusBadGateway)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(notOsprey.Close)

	tests := []struct {
		name   string
		server string
		args   []string
		code   int
		want   string
	}{
		{"unreachable", closedURL, []string{"list"}, 1, "cannot reach the Osprey server at " + closedURL},
		{"bad gateway", notOsprey.URL, []string{"list"}, 1, "the server answered 502: upstream exploded"},
		{"404 from a non-osprey server", notOsprey.URL + "/x", []string{"list"}, 1, "is it an Osprey server?"},
		{"invalid server URL", "127.0.0.1:8080", []string{"list"}, 2, `--server "127.0.0.1:8080" must be an http:// or https:// URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(Options{}, append([]string{"channel", "--server", tt.server, "--token", adminToken}, tt.args...)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Fatalf("got %+v; want exit %d and %q", r, tt.code, tt.want)
			}
		})
	}
}

func TestChannelServerURLWithTrailingSlash(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := run(Options{}, "channel", "create", "x", "--server", s.url+"/", "--token", adminToken)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
}

// recordingServer answers every request with a channel and records what it
// was asked.
type recordingServer struct {
	url  string
	mu   sync.Mutex
	reqs []string // "METHOD /path?query body"
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
		rs.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+adminToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(api.Channel{ID: "ch_aaaaaaaaaaaaaaaa", Name: "a", StreamKey: "sk_new", State: "idle"})
	}))
	t.Cleanup(srv.Close)
	rs.url = srv.URL
	return rs
}

func (rs *recordingServer) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.reqs...)
}

func TestChannelDisconnect(t *testing.T) {
	t.Parallel()
	const id = "ch_aaaaaaaaaaaaaaaa"
	tests := []struct {
		args    []string
		request string
		stdout  string
	}{
		{[]string{"disconnect", id}, "POST /api/v1/channels/" + id + "/disconnect", "Disconnected the publisher of channel " + id + ", if any.\n"},
		{[]string{"disconnect", "--json", id}, "POST /api/v1/channels/" + id + "/disconnect", `"stream_key":"sk_new"`},
		{[]string{"rotate-key", "--disconnect", id}, "POST /api/v1/channels/" + id + `/rotate-key {"disconnect":true}`, "sk_new"},
		{[]string{"rotate-key", id}, "POST /api/v1/channels/" + id + "/rotate-key", "sk_new"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			rs := newRecordingServer(t)
			r := run(Options{}, append([]string{"channel", "--server", rs.url, "--token", adminToken, "--data", "/nonexistent"}, tt.args...)...)
			if r.code != 0 || !strings.Contains(r.stdout, tt.stdout) {
				t.Errorf("%+v, want stdout with %q", r, tt.stdout)
			}
			if got := rs.requests(); len(got) != 1 || got[0] != tt.request {
				t.Errorf("requests %q, want [%q]", got, tt.request)
			}
		})
	}
}
