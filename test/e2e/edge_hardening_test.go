package e2e

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rawRequest sends target exactly as given to base and returns the status
// and body (Go's client would not send some of these forms unchanged).
func rawRequest(t *testing.T, base, target string) (int, string) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: "+u.Host+"\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Issue 9, defect 2: `osprey edge --require-signed '/vod/*'` in front of an
// origin that normalises paths as nginx does serves no spelling of a /vod
// path unsigned: non-canonical forms get 400, equivalent spellings are
// protected like the canonical path.
func TestEdgeRefusesNonCanonicalPaths(t *testing.T) {
	dir := t.TempDir()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
		p = path.Clean("/" + strings.ReplaceAll(p, `\`, "/"))
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.HasPrefix(p, "/vod/") {
			w.Write([]byte("SECRET"))
			return
		}
		w.Write([]byte("public"))
	}))
	defer origin.Close()
	e := startEdge(t, "--origin", origin.URL, "--trusted-key", "APKAOSPREYTEST="+pub, "--require-signed", "/vod/*")

	for _, tc := range []struct {
		target string
		status int
	}{
		{"/live/a/1.m4s", 200},
		{"/vod/a/1.m4s", 403},
		{"//vod/a/1.m4s", 400},
		{"/./vod/a/1.m4s", 400},
		{"/live/../vod/a/1.m4s", 400},
		{"/%2e/vod/a/1.m4s", 400},
		{"/live/..%2fvod/a/1.m4s", 400},
		{"/vod%2f../vod/a/1.m4s", 400},
		{"/live\\..\\vod/a/1.m4s", 400},
		{"/%76od/a/1.m4s", 403},
	} {
		st, body := rawRequest(t, e.base, tc.target)
		if strings.Contains(body, "SECRET") || st != tc.status {
			t.Errorf("GET %s unsigned: %d %q, want %d", tc.target, st, body, tc.status)
		}
	}
	recs := e.waitAccess(10)
	rejected := 0
	for _, r := range recs {
		if r["cache"] == "rejected" {
			rejected++
		}
	}
	if rejected != 7 {
		t.Errorf("%d requests logged as rejected, want 7", rejected)
	}
}

var utcTiming = regexp.MustCompile(`<UTCTiming [^>]*value="([^"]*)"`)

// Issue 9, defect 3: a live channel played with dash.js in Chromium through
// `osprey edge`: the page, manifests, segments and the clock all come from
// the edge (the harness fails on any request to another origin, such as an
// MPD clock pointing at the origin), the MPD is a cache hit for the next
// viewer, and the clock is passed through uncached.
func TestEdgeDashPlaysLiveThroughEdge(t *testing.T) {
	harness, err := filepath.Abs("browser/play.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("browser/node_modules/playwright-core"); err != nil {
		t.Fatal("playwright-core is not installed: run the README's test command (it runs npm ci in test/e2e/browser)")
	}
	s := startOsprey(t)
	ch := s.createChannel("dash through the edge")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 75)
	defer pub.cancel()
	waitLive(t, s, ch)
	// The player page's ?player=dash must reach the origin: the edge
	// forwards (and keys on) only the query parameters it is told to.
	e := startEdge(t, "--origin", s.httpBase, "--cache-key-query", "player")

	mpdURL := strings.Replace(ch.Playback.DASH, s.httpBase, e.base, 1)
	var statuses []string
	var body []byte
	for range 3 {
		st, cs, b := getHeader(t, mpdURL, "Cache-Status")
		if st != 200 {
			t.Fatalf("MPD through the edge: %d", st)
		}
		statuses = append(statuses, cs)
		body = b
	}
	if !strings.Contains(strings.Join(statuses[1:], " | "), "; hit") {
		t.Errorf("the live MPD is never a hit at the edge: %q", statuses)
	}
	m := utcTiming.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no UTCTiming in the MPD:\n%s", body)
	}
	base, _ := url.Parse(mpdURL)
	clock, err := base.Parse(string(m[1]))
	if err != nil || clock.Host != base.Host {
		t.Fatalf("UTCTiming %q resolves to %v, not to the edge %s", m[1], clock, base.Host)
	}
	resp, err := http.Get(clock.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("clock through the edge: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}

	player := strings.Replace(ch.Playback.Player, s.httpBase, e.base, 1)
	start := time.Now()
	out, err := exec.Command("node", harness, player, "--engine", "dash", "--seconds", "6", "--timeout", "60").Output()
	var res map[string]any
	_ = json.Unmarshal(out, &res)
	if err != nil {
		t.Fatalf("dash.js through the edge failed after %v: %v\n%s", time.Since(start), err, out)
	}
	t.Logf("dash.js through the edge: %s", out)

	// dash.js synchronised its clock through the edge.
	time.Sleep(1100 * time.Millisecond) // one access-log flush
	clockViaEdge := 0
	for _, r := range e.access() {
		if r["path"] == "/time" && r["status"] == float64(200) {
			clockViaEdge++
		}
	}
	if clockViaEdge < 2 { // ours above, and the player's
		t.Errorf("the player never read the clock through the edge (%d /time requests logged)", clockViaEdge)
	}
}
