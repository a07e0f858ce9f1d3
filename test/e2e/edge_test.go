package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The edge in front of a real osprey serve whose origin insists on the
// edge's CDN identifier: viewers going straight to the origin get 403,
// ffprobe plays HLS and DASH through the edge, a second viewer is served
// entirely from the cache, and an invalidation sends it back to the origin.
func TestEdgeInFrontOfServe(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "osprey.yaml")
	os.WriteFile(cfgPath, []byte("origin:\n  require_header: \"X-Osprey-CDN-Identifier: s3cret\"\n"), 0o600)
	s := startOsprey(t, "--config", cfgPath)
	src := makeSource(t, dir, "clip.mp4", join(videoIn("426x240", 4), toneIn(4), []string{"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"})...)
	code, a, raw := s.uploadMultipart(src, "edge clip")
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, raw)
	}
	a = s.waitAsset(a.ID, 120*time.Second)
	if a.Status != "ready" {
		t.Fatalf("asset %s: %s", a.Status, a.Error)
	}
	hlsPath := strings.TrimPrefix(a.Playback.HLS, s.httpBase)
	dashPath := strings.TrimPrefix(a.Playback.DASH, s.httpBase)
	if st, _ := get(t, s.httpBase+hlsPath); st != http.StatusForbidden {
		t.Fatalf("origin without the CDN identifier: %d, want 403", st)
	}

	e := startEdge(t, "--origin", s.httpBase, "--origin-header", "X-Osprey-CDN-Identifier: s3cret")
	for _, p := range []string{hlsPath, dashPath} {
		if d := mediaDuration(t, e.base+p); math.Abs(d-4) > 0.3 {
			t.Errorf("ffprobe through the edge: %s lasts %.2f s, want 4", p, d)
		}
	}
	e.waitAccess(1)
	time.Sleep(1100 * time.Millisecond) // one access-log flush
	first := e.access()
	// A second viewer: everything it asks for is in the cache (the
	// manifests may have expired: they are revalidated, not refetched).
	mediaDuration(t, e.base+hlsPath)
	e.waitAccess(len(first) + 3)
	time.Sleep(1100 * time.Millisecond)
	recs := e.access()[len(first):]
	for _, r := range recs {
		if c := r["cache"]; c != "hit" && c != "revalidated" {
			t.Errorf("second viewer: %v %v was %v, want a hit", r["path"], r["status"], c)
		}
	}
	segs := 0
	for _, r := range recs {
		if strings.HasSuffix(r["path"].(string), ".m4s") {
			segs++
		}
	}
	if segs == 0 {
		t.Errorf("second viewer fetched no segment: %v", recs)
	}

	// Invalidate the asset: the next manifest request goes to the origin.
	req, _ := http.NewRequest(http.MethodPost, e.base+"/api/v1/edge/invalidations",
		strings.NewReader(fmt.Sprintf(`{"paths":["/vod/%s/*"]}`, a.ID)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !bytes.Contains(body, []byte(`"objects"`)) || bytes.Contains(body, []byte(`"objects": 0`)) {
		t.Fatalf("invalidation: %d %s", resp.StatusCode, body)
	}
	if st, cs, _ := getHeader(t, e.base+hlsPath, "Cache-Status"); st != 200 || !strings.Contains(cs, "fwd=miss") {
		t.Errorf("after invalidation: %d %q, want a miss", st, cs)
	}
	if st, metrics := adminGet(t, e.base+"/metrics"); st != 200 || !bytes.Contains(metrics, []byte(`osprey_edge_requests_total{cache="hit"}`)) {
		t.Errorf("/metrics: %d, no hit counter", st)
	}
}

// 1,000 real viewers ask an edge binary for one object at once: one origin
// request, 1,000 identical bodies.
func TestEdgeThousandViewersOneOriginRequest(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var hits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		time.Sleep(500 * time.Millisecond) // the storm gathers meanwhile
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("Content-Type", "video/iso.segment")
		w.Write(body)
	}))
	defer origin.Close()
	e := startEdge(t, "--origin", origin.URL)

	const viewers = 1000
	tr := &http.Transport{MaxConnsPerHost: viewers, MaxIdleConnsPerHost: viewers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	want := sha256.Sum256(body)
	var wg sync.WaitGroup
	var bad atomic.Int64
	var firstErr atomic.Value
	start := make(chan struct{})
	for range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Get(e.base + "/live/storm/seg42.m4s")
			if err != nil {
				bad.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || sha256.Sum256(b) != want {
				bad.Add(1)
				firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d, %d bytes, %v", resp.StatusCode, len(b), err))
			}
		}()
	}
	close(start)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d of %d viewers failed; first: %v", n, viewers, firstErr.Load())
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
}

// Failover to the second origin when the first is down, within the time
// bound; then, with both down, the expired object is still served.
func TestEdgeFailoverAndStaleWhenOriginsDie(t *testing.T) {
	serve := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			fmt.Fprintf(w, "%s %s", name, r.URL.Path)
		}))
	}
	primary, backup := serve("primary"), serve("backup")
	defer backup.Close()
	e := startEdge(t, "--origin", primary.URL, "--origin", backup.URL, "--origin-timeout", "500ms")
	if _, b := get(t, e.base+"/live/a/index.m3u8"); string(b) != "primary /live/a/index.m3u8" {
		t.Fatalf("from the primary: %q", b)
	}
	primary.Close()
	start := time.Now()
	if _, b := get(t, e.base+"/live/a/other.m3u8"); string(b) != "backup /live/a/other.m3u8" {
		t.Fatalf("failover: %q", b)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failover took %s", d)
	}
	backup.Close()
	time.Sleep(1200 * time.Millisecond) // the playlist expires
	for range 10 {
		st, cs, b := getHeader(t, e.base+"/live/a/index.m3u8", "Cache-Status")
		if st != 200 || string(b) != "primary /live/a/index.m3u8" || !strings.Contains(cs, "stale-if-error") {
			t.Fatalf("both origins down: %d %q %q, want the stale playlist", st, cs, b)
		}
	}
	if st, _ := get(t, e.base+"/live/a/never-cached.m3u8"); st != http.StatusBadGateway {
		t.Errorf("uncached object with every origin down: %d, want 502", st)
	}
}

// Signed URLs made with openssl (canned, SHA-1) and by `osprey sign-url`
// (custom policy, SHA-256) are accepted; altered or expired ones are not.
func TestEdgeSignedURLsFromOpenssl(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	run := func(name string, args ...string) []byte {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return out
	}
	run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
	run("openssl", "pkey", "-in", key, "-pubout", "-out", pub)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("protected"))
	}))
	defer origin.Close()
	e := startEdge(t, "--origin", origin.URL, "--trusted-key", "APKAOSPREYTEST="+pub, "--require-signed", "/vod/*")

	opensslSign := func(resource string, expires int64) string {
		policy := fmt.Sprintf(`{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, resource, expires)
		pf := filepath.Join(dir, "policy.json")
		os.WriteFile(pf, []byte(policy), 0o600)
		sig := run("openssl", "dgst", "-sha1", "-sign", key, pf)
		enc := base64.StdEncoding.EncodeToString(sig)
		enc = strings.NewReplacer("+", "-", "=", "_", "/", "~").Replace(enc)
		return fmt.Sprintf("%s?Expires=%d&Signature=%s&Key-Pair-Id=APKAOSPREYTEST", resource, expires, enc)
	}
	resource := e.base + "/vod/abc/seg1.m4s"
	good := opensslSign(resource, time.Now().Add(time.Hour).Unix())
	cli := strings.TrimSpace(string(run(ospreyBin, "sign-url", "--key-pair-id", "APKAOSPREYTEST", "--private-key", key,
		"--sha256", "--policy-resource", e.base+"/vod/abc/*", "--expires", "10m", e.base+"/vod/abc/seg2.m4s")))
	cases := []struct {
		name, url string
		status    int
	}{
		{"openssl canned SHA-1", good, 200},
		{"osprey sign-url custom SHA-256", cli, 200},
		{"unsigned", resource, 403},
		{"expired", opensslSign(resource, time.Now().Add(-time.Minute).Unix()), 403},
		{"other path", strings.Replace(good, "seg1", "seg9", 1), 403},
		{"altered Expires", strings.Replace(good, "Expires=", "Expires=9", 1), 403},
		{"public path", e.base + "/live/x/1.m4s", 200},
	}
	for _, c := range cases {
		if st, b := get(t, c.url); st != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, st, b, c.status)
		}
	}
}

// The same edge inside osprey serve (edge.enabled), in front of the local
// origin: media is answered from its cache, and its API and metrics are on
// the server's port.
func TestServeWithEdgeEnabled(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "osprey.yaml")
	os.WriteFile(cfgPath, []byte("edge:\n  enabled: true\n"), 0o600)
	s := startOsprey(t, "--config", cfgPath)
	src := makeSource(t, dir, "clip.mp4", join(videoIn("320x180", 2), []string{"-c:v", "libx264", "-preset", "ultrafast"})...)
	code, a, raw := s.uploadMultipart(src, "")
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %s", code, raw)
	}
	if a = s.waitAsset(a.ID, 120*time.Second); a.Status != "ready" {
		t.Fatalf("asset: %s %s", a.Status, a.Error)
	}
	st, cs1, b1 := getHeader(t, a.Playback.HLS, "Cache-Status")
	_, cs2, b2 := getHeader(t, a.Playback.HLS, "Cache-Status")
	if st != 200 || !strings.Contains(cs1, "fwd=miss") || !strings.Contains(cs2, "; hit") || !bytes.Equal(b1, b2) {
		t.Errorf("through the built-in edge: %d %q then %q", st, cs1, cs2)
	}
	if st, m := adminGet(t, s.httpBase+"/metrics"); st != 200 || !bytes.Contains(m, []byte("osprey_edge_requests_total")) {
		t.Errorf("/metrics: %d", st)
	}
	req, _ := http.NewRequest(http.MethodPost, s.httpBase+"/api/v1/edge/invalidations", strings.NewReader(`{"paths":["/vod/*"]}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("invalidation on serve's port: %d", resp.StatusCode)
	}
}

// Bad invocations exit 2 with a reason; garbage on the port does not hurt.
func TestEdgeBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"edge"}, "at least one origin"},
		{[]string{"edge", "--origin", "ftp://x"}, "http:// or https://"},
		{[]string{"edge", "--origin", "http://a", "--cache-memory", "lots"}, "is not a size"},
		{[]string{"edge", "--origin", "http://a", "--require-signed", "/vod/*"}, "trusted key"},
		{[]string{"edge", "--origin", "http://a", "--trusted-key", "K=/nonexistent.pem", "--http", "127.0.0.1:0", "--data", t.TempDir()}, "nonexistent.pem"},
	} {
		cmd := exec.Command(ospreyBin, c.args...)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("osprey %v: %v\n%s\nwant an error mentioning %q", c.args, err, out, c.want)
		}
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer origin.Close()
	e := startEdge(t, "--origin", origin.URL)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(bytes.Repeat([]byte{0x16, 0x03, 0x01, 0xff, 0x00}, 1000))
	conn.Close()
	if st, _ := get(t, e.base+"/healthz"); st != 200 {
		t.Errorf("after garbage on the port: /healthz %d", st)
	}
	if st, b := get(t, e.base+"/x.m4s"); st != 200 || string(b) != "ok" {
		t.Errorf("after garbage on the port: %d %q", st, b)
	}
}

// An edge with a certificate serves HTTPS and HTTP/2, and URLs signed for
// its https:// address are accepted.
func TestEdgeServesHTTPS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	signKey, signPub := filepath.Join(dir, "sign.pem"), filepath.Join(dir, "sign.pub.pem")
	for _, args := range [][]string{
		{"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
			"-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert},
		{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", signKey},
		{"pkey", "-in", signKey, "-pubout", "-out", signPub},
	} {
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("over tls"))
	}))
	defer origin.Close()
	e := startEdge(t, "--origin", origin.URL, "--tls-cert", cert, "--tls-key", key,
		"--trusted-key", "K1="+signPub, "--require-signed", "/vod/*")
	if !strings.HasPrefix(e.base, "https://") {
		t.Fatalf("edge base %s, want https", e.base)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	signed, err := exec.Command(ospreyBin, "sign-url", "--key-pair-id", "K1", "--private-key", signKey, "--expires", "5m", e.base+"/vod/a/1.m4s").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{e.base + "/live/a/1.m4s", strings.TrimSpace(string(signed))} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "over tls" || resp.ProtoMajor != 2 {
			t.Errorf("GET %s: %d %q over %s, want 200 over HTTP/2", u, resp.StatusCode, b, resp.Proto)
		}
	}
	// Signed for http:// is not valid on https://.
	httpSigned, _ := exec.Command(ospreyBin, "sign-url", "--key-pair-id", "K1", "--private-key", signKey, "--expires", "5m",
		strings.Replace(e.base, "https://", "http://", 1)+"/vod/a/1.m4s").Output()
	resp, err := client.Get(strings.Replace(strings.TrimSpace(string(httpSigned)), "http://", "https://", 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("URL signed for http:// fetched over https: %d, want 403", resp.StatusCode)
	}
}

// A live channel watched through an edge: the playlists keep moving (their
// one-second lifetime is honoured, not stretched by the cache) and every
// segment the edge serves is byte for byte the origin's.
func TestEdgeDeliversALiveStream(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("edge live")
	pub := publish(t, rtmpURL(ch), "flv", "320x240", 25)
	defer pub.cancel()
	waitLive(t, s, ch)
	e := startEdge(t, "--origin", s.httpBase)

	master, err := url.Parse(strings.Replace(ch.Playback.HLS, s.httpBase, e.base, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, body := get(t, master.String())
	var child *url.URL
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			child = master.ResolveReference(&url.URL{Path: line})
			break
		}
	}
	if child == nil {
		t.Fatalf("no media playlist in the master playlist:\n%s", body)
	}
	newest := map[string]bool{} // the newest segment of each playlist seen
	checked := 0
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		st, pl := get(t, child.String())
		if st != 200 {
			t.Fatalf("media playlist through the edge: %d", st)
		}
		var last string
		for _, line := range strings.Split(string(pl), "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				last = line
			}
		}
		if last != "" {
			newest[last] = true
			seg := child.ResolveReference(&url.URL{Path: last})
			_, viaEdge := get(t, seg.String())
			_, direct := get(t, strings.Replace(seg.String(), e.base, s.httpBase, 1))
			if !bytes.Equal(viaEdge, direct) || len(direct) == 0 {
				t.Errorf("segment %s: %d bytes through the edge, %d from the origin", last, len(viaEdge), len(direct))
			}
			checked++
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(newest) < 3 {
		t.Errorf("the live playlist through the edge ended with %v in 8 s; a new segment should appear every 2 s", newest)
	}
	if checked == 0 {
		t.Error("no segment checked")
	}
	if p := ffprobe(t, master.String()); len(p.Streams) == 0 {
		t.Error("ffprobe sees no stream through the edge")
	}
}
