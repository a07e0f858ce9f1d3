package httpguard

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number to certFile and keyFile.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "osprey test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Key first, certificate last, as a renewal tool would not promise.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// servedSerial opens a new TLS connection to addr and returns the serial
// of the certificate the server presents.
func servedSerial(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func tlsClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true,
	}}
}

// A new certificate is served after Reload, on the same listener, and a
// connection opened before goes on working; a bad pair keeps the old
// certificate and logs why.
func TestCertReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1001)
	var logs logBuffer
	certs, err := LoadCert(certFile, keyFile, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, nil)
	_, addr := startServer(t, g, okHandler, certs)
	if got := servedSerial(t, addr); got != "1001" {
		t.Fatalf("serial %s, want 1001", got)
	}
	client := tlsClient()
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + addr + "/api/x")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no Strict-Transport-Security over TLS")
	}

	writeCert(t, certFile, keyFile, 1002)
	if err := certs.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, addr); got != "1002" {
		t.Fatalf("serial after reload %s, want 1002", got)
	}
	// The HTTP/2 connection from before the reload still serves.
	resp, err = client.Get("https://" + addr + "/api/y")
	if err != nil {
		t.Fatalf("old connection after reload: %v", err)
	}
	resp.Body.Close()
	if resp.TLS.PeerCertificates[0].SerialNumber.Int64() != 1001 {
		t.Errorf("the request went over a new connection; the test wants the old one kept")
	}

	// A broken certificate file: the old one stays, an error is logged.
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := certs.Reload(); err == nil {
		t.Fatal("Reload accepted a broken certificate")
	}
	if got := servedSerial(t, addr); got != "1002" {
		t.Fatalf("serial after a bad reload %s, want 1002 still", got)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "not reloaded") {
		t.Errorf("no error logged: %s", logs.String())
	}
}

// Watch reloads when the files change, and on a reload request.
func TestCertWatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 7)
	certs, err := LoadCert(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	serial := func() int64 { return certs.Certificate().Leaf.SerialNumber.Int64() }
	ctx, cancel := contextWithCancel(t)
	reload := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		certs.Watch(ctx, 20*time.Millisecond, reload)
	}()
	defer func() { cancel(); <-done }()

	writeCert(t, certFile, keyFile, 8)
	waitFor(t, "the changed files picked up", func() bool { return serial() == 8 })

	// SIGHUP path: with polling off, only the request reloads.
	ctx2, cancel2 := contextWithCancel(t)
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		certs.Watch(ctx2, 0, reload)
	}()
	defer func() { cancel2(); <-done2 }()
	cancel()
	<-done
	writeCert(t, certFile, keyFile, 9)
	reload <- struct{}{}
	waitFor(t, "the reload request served", func() bool { return serial() == 9 })
}

// LoadCert fails on a missing or mismatched pair.
func TestLoadCertErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, ak := filepath.Join(dir, "a.pem"), filepath.Join(dir, "a.key")
	b, bk := filepath.Join(dir, "b.pem"), filepath.Join(dir, "b.key")
	writeCert(t, a, ak, 1)
	writeCert(t, b, bk, 2)
	if _, err := LoadCert(a, bk, nil); err == nil {
		t.Error("a certificate with another's key loaded")
	}
	if _, err := LoadCert(filepath.Join(dir, "none.pem"), ak, nil); err == nil {
		t.Error("a missing certificate loaded")
	}
}
