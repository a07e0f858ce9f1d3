package app

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

func TestServeClass(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path, contentType string
		want                      httpguard.Class
	}{
		{"GET", "/healthz", "", httpguard.ClassOpen},
		{"GET", "/readyz", "", httpguard.ClassOpen},
		{"GET", "/metrics", "", httpguard.ClassMetrics},
		{"GET", "/api/v1/channels", "", httpguard.ClassAPI},
		{"POST", "/api/v1/assets", "application/json", httpguard.ClassAPI},
		{"POST", "/api/v1/assets", "multipart/form-data; boundary=x", httpguard.ClassUpload},
		{"POST", "/api/v1/assets", "Multipart/Form-Data; boundary=x", httpguard.ClassUpload},
		{"POST", "/api/v1/assets/as_1/subtitles", "text/vtt", httpguard.ClassUpload},
		{"GET", "/api/v1/assets/as_1/subtitles", "", httpguard.ClassAPI},
		{"POST", "/api/v1/uploads/", "", httpguard.ClassUpload},
		{"PATCH", "/api/v1/uploads/abc", "application/offset+octet-stream", httpguard.ClassUpload},
		{"HEAD", "/api/v1/uploads/abc", "", httpguard.ClassUpload},
		{"POST", "/api/v1/edge/invalidations", "application/json", httpguard.ClassAPI},
		{"GET", "/live/ch_1/index.m3u8", "", httpguard.ClassMedia},
		{"GET", "/vod/as_1/720p/seg_1.m4s", "", httpguard.ClassMedia},
		{"GET", "/time", "", httpguard.ClassMedia},
		{"GET", "/", "", httpguard.ClassWeb},
		{"GET", "/watch/ch_1", "", httpguard.ClassWeb},
		{"GET", "/assets/hls.min.js", "", httpguard.ClassWeb},
		{"GET", "/livestream", "", httpguard.ClassWeb},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		if got := serveClass(r); got != tt.want {
			t.Errorf("%s %s (%s): %s, want %s", tt.method, tt.path, tt.contentType, got, tt.want)
		}
	}
}

func TestEdgeClass(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]httpguard.Class{
		"/healthz":                   httpguard.ClassOpen,
		"/metrics":                   httpguard.ClassMetrics,
		"/api/v1/edge/invalidations": httpguard.ClassAPI,
		"/vod/as_1/index.m3u8":       httpguard.ClassMedia,
		"/anything/else":             httpguard.ClassMedia,
	} {
		if got := edgeClass(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

const testToken = "test-admin-token-0123456789"

func newFront(t *testing.T, modify func(*config.Security)) *frontDoor {
	t.Helper()
	sec := config.Default().Security
	if modify != nil {
		modify(&sec)
	}
	f, err := openFrontDoor(t.Context(), sec, "", "", testToken, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.close)
	return f
}

// /metrics on the main port needs the admin token, or is not there at all
// when metrics have their own address.
func TestMainPortMetrics(t *testing.T) {
	t.Parallel()
	get := func(h http.Handler, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/metrics", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	f := newFront(t, nil)
	h := f.mainPortMetrics(f.metricsHandler())
	if w := get(h, ""); w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d", w.Code)
	}
	if w := get(h, "wrong"); w.Code != 401 {
		t.Errorf("wrong token: %d", w.Code)
	}
	if w := get(h, testToken); w.Code != 200 || !strings.Contains(w.Body.String(), "osprey_http_refused_total") ||
		!strings.Contains(w.Body.String(), "go_goroutines") {
		t.Errorf("admin token: %d %.200s", w.Code, w.Body)
	}
	f2 := newFront(t, func(s *config.Security) { s.MetricsAddr = "127.0.0.1:0" })
	if w := get(f2.mainPortMetrics(f2.metricsHandler()), testToken); w.Code != 404 {
		t.Errorf("with metrics_addr, main port: %d, want 404", w.Code)
	}
}

// The edge's /healthz tells strangers only that it is up.
func TestEdgeRoutesHealth(t *testing.T) {
	t.Parallel()
	detailed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"status":"ok","origins":[{"url":"http://10.0.0.5:8080"}]}`)
	})
	h := edgeRoutes(detailed, http.NotFoundHandler(), httpguard.NewBearer(testToken))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 200 || strings.Contains(w.Body.String(), "origins") {
		t.Errorf("public healthz: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest("GET", "/healthz", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if !strings.Contains(w.Body.String(), "origins") {
		t.Errorf("healthz with the admin token: %s", w.Body)
	}
	// /readyz is the edge's own, never passed on to an origin.
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("readyz: %d %q", w.Code, w.Body)
	}
}

// writeTestCert writes a self-signed certificate with the serial number.
func writeTestCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "osprey"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool, logs ...*syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, l := range logs {
				t.Logf("log:\n%s", l.String())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// `osprey edge` serves HTTPS with a certificate that a reload request
// (SIGHUP) replaces on the same listener, /metrics only on the metrics
// address, its media behind the rate limit, and security headers.
func TestRunEdgeFrontDoor(t *testing.T) {
	t.Parallel()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		_, _ = io.WriteString(w, "segment")
	}))
	defer origin.Close()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writeTestCert(t, certFile, keyFile, 501)

	cfg := config.DefaultEdge()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DataDir = filepath.Join(dir, "edge")
	cfg.Origins = []string{origin.URL}
	cfg.CacheDisk = 0
	cfg.AccessLog = ""
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.Security.MetricsAddr = "127.0.0.1:0"
	cfg.Security.TLSReloadInterval = 0 // reload on request only
	cfg.Security.RateLimits = map[string]config.RateLimit{"media": {Rate: 1, Burst: 3}}
	cfg.Security.UnlimitedClients = nil // the test comes from loopback

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	reload := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- RunEdge(ctx, cfg, testToken, log, reload) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunEdge: %v", err)
		}
	}()
	serving := regexp.MustCompile(`osprey edge is serving" http=(\S+) scheme=https metrics=(\S+)`)
	var m []string
	waitUntil(t, "the edge to serve", func() bool {
		select {
		case err := <-done:
			t.Fatalf("RunEdge ended: %v; log:\n%s", err, logs.String())
		default:
		}
		m = serving.FindStringSubmatch(logs.String())
		return m != nil
	}, &logs)
	addr, metricsAddr := m[1], m[2]

	serial := func() int64 {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if s := serial(); s != 501 {
		t.Fatalf("serial %d, want 501", s)
	}
	writeTestCert(t, certFile, keyFile, 502)
	reload <- struct{}{}
	waitUntil(t, "the new certificate", func() bool { return serial() == 502 })

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	get := func(url, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get("https://"+addr+"/metrics", testToken); r.StatusCode != 404 {
		t.Errorf("main-port /metrics with metrics_addr: %d, want 404", r.StatusCode)
	}
	if r := get("http://"+metricsAddr+"/metrics", ""); r.StatusCode != 200 {
		t.Errorf("metrics address: %d", r.StatusCode)
	}
	var codes []int
	for range 4 {
		r := get("https://"+addr+"/vod/a/seg.m4s", "")
		codes = append(codes, r.StatusCode)
		if r.ProtoMajor != 2 || r.Header.Get("Strict-Transport-Security") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("response %s, HSTS %q, nosniff %q", r.Proto, r.Header.Get("Strict-Transport-Security"), r.Header.Get("X-Content-Type-Options"))
		}
		if r.StatusCode == 429 && r.Header.Get("Retry-After") != "1" {
			t.Errorf("429 with Retry-After %q", r.Header.Get("Retry-After"))
		}
	}
	if codes[0] != 200 || codes[2] != 200 || codes[3] != 429 {
		t.Errorf("media codes %v, want 200 200 200 429", codes)
	}
}
