package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// frontdoorConfig writes a config file with a security section.
func frontdoorConfig(t *testing.T, security string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "osprey.yaml")
	// The tests come from loopback, which is exempt from limits by default.
	if err := os.WriteFile(path, []byte("security:\n  unlimited_clients: []\n"+security), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientFrom is an HTTP client whose connections come from src, a
// loopback address (127.0.0.0/8 all reach the server on Linux).
func clientFrom(src string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext:     (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}).DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
}

type frontdoorResponse struct {
	status int
	header http.Header
	body   string
}

func doAs(t *testing.T, c *http.Client, method, url, token string) frontdoorResponse {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return frontdoorResponse{resp.StatusCode, resp.Header, string(b)}
}

// A client past its API burst gets 429 with Retry-After; a denied address
// gets 403 with the API's JSON error; others are not affected.
func TestFrontdoorRateLimitAndAccess(t *testing.T) {
	cfg := frontdoorConfig(t, `
  rate_limits:
    api: {rate: 0.5, burst: 5}
  access:
    api: ["deny 127.0.0.2"]
`)
	s := startOsprey(t, "--config", cfg)
	local := clientFrom("127.0.0.1")
	var last frontdoorResponse
	n := 0
	for ; n < 20; n++ {
		last = doAs(t, local, "GET", s.httpBase+"/api/v1/channels", adminToken)
		if last.status != http.StatusOK {
			break
		}
	}
	if n != 5 || last.status != http.StatusTooManyRequests {
		t.Fatalf("%d requests passed, then %d; want 5 then 429", n, last.status)
	}
	if ra := last.header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want 2 (a token every 2s)", ra)
	}
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(last.body), &body); err != nil || body.Error.Code != "rate_limited" {
		t.Errorf("429 body %q", last.body)
	}
	// Media is another class, with its own (default) bucket.
	if r := doAs(t, local, "GET", s.httpBase+"/live/ch_nope/index.m3u8", ""); r.status == http.StatusTooManyRequests {
		t.Errorf("media limited by the API's bucket")
	}

	denied := clientFrom("127.0.0.2")
	r := doAs(t, denied, "GET", s.httpBase+"/api/v1/channels", adminToken)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, `"code":"forbidden"`) ||
		r.header.Get("Content-Type") != "application/json" {
		t.Errorf("denied address: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	// The denied address still reaches what the rule does not cover.
	if r := doAs(t, denied, "GET", s.httpBase+"/healthz", ""); r.status != http.StatusOK {
		t.Errorf("healthz from the denied address: %d", r.status)
	}
	if r := doAs(t, clientFrom("127.0.0.3"), "GET", s.httpBase+"/api/v1/channels", adminToken); r.status != http.StatusOK {
		t.Errorf("another address: %d %s", r.status, r.body)
	}
}

// /metrics needs the admin token; /readyz and /healthz say little; API
// responses carry the security headers.
func TestFrontdoorExposure(t *testing.T) {
	s := startOsprey(t, "--config", frontdoorConfig(t, "  max_connections_per_ip: 16\n"))
	c := clientFrom("127.0.0.1")
	if r := doAs(t, c, "GET", s.httpBase+"/metrics", ""); r.status != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", r.status)
	}
	if r := doAs(t, c, "GET", s.httpBase+"/metrics", adminToken); r.status != http.StatusOK || !strings.Contains(r.body, "osprey_http_refused_total") {
		t.Errorf("/metrics with the token: %d %.100s", r.status, r.body)
	}
	if r := doAs(t, c, "GET", s.httpBase+"/readyz", ""); r.status != http.StatusOK || r.body != "ok\n" {
		t.Errorf("/readyz: %d %q", r.status, r.body)
	}
	r := doAs(t, c, "GET", s.httpBase+"/api/v1/channels", adminToken)
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
		if got := r.header.Get(k); got != v {
			t.Errorf("API %s = %q, want %q", k, got, v)
		}
	}
	page := doAs(t, c, "GET", s.httpBase+"/", "")
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'self'") {
		t.Errorf("page CSP %q", csp)
	}

	// An idle flood from one address does not lock out another.
	var flood []net.Conn
	for range 64 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}}
		conn, err := d.Dial("tcp", strings.TrimPrefix(s.httpBase, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, conn)
		defer conn.Close()
	}
	if r := doAs(t, clientFrom("127.0.0.5"), "GET", s.httpBase+"/healthz", ""); r.status != http.StatusOK {
		t.Errorf("another client during the flood: %d", r.status)
	}
	// The server closed the flood's connections past 16.
	closed := 0
	for _, conn := range flood {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				closed++
			}
		}
		_ = conn.SetReadDeadline(time.Time{})
	}
	if closed < 48 {
		t.Errorf("%d of 64 flood connections closed, want at least 48 (cap 16 per address)", closed)
	}
}

// HTTPS with HTTP/2 on the HTTP address; SIGHUP swaps in a renewed
// certificate on the same listener.
func TestFrontdoorTLSReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeE2ECert(t, certFile, keyFile, 71)
	cfg := frontdoorConfig(t, "  tls_reload_interval: 0s\n") // SIGHUP only, to test it
	s := startOsprey(t, "--config", cfg, "--tls-cert", certFile, "--tls-key", keyFile)
	addr := strings.TrimPrefix(s.httpBase, "http://")
	serial := func() int64 {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatalf("TLS: %v", err)
		}
		defer conn.Close()
		if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
			t.Errorf("ALPN %q, want h2", p)
		}
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 71 {
		t.Fatalf("serial %d, want 71", got)
	}
	c := clientFrom("127.0.0.1")
	c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
	r := doAs(t, c, "GET", "https://"+addr+"/healthz", "")
	if r.status != 200 || r.header.Get("Strict-Transport-Security") == "" {
		t.Errorf("over TLS: %d, HSTS %q", r.status, r.header.Get("Strict-Transport-Security"))
	}

	writeE2ECert(t, certFile, keyFile, 72)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the renewed certificate", func() bool { return serial() == 72 })

	// A broken renewal keeps the current certificate and says why.
	if err := os.WriteFile(certFile, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the failed reload logged", func() bool { return len(s.logs.find("TLS certificate not reloaded")) > 0 })
	if got := serial(); got != 72 {
		t.Errorf("serial %d after a bad renewal, want 72", got)
	}
}

func writeE2ECert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "osprey e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
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

// adminGet is get with the admin token, for /metrics (and the details of
// /readyz and the edge's /healthz), which are behind it.
func adminGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	r := doAs(t, http.DefaultClient, "GET", url, adminToken)
	return r.status, []byte(r.body)
}
