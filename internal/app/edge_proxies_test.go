package app

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// `osprey edge` reads a signed URL's viewer address through the front
// door's security.trusted_proxies: X-Forwarded-For counts from a listed
// proxy only (here the test, on loopback), and from nobody by default.
func TestRunEdgeSignedURLsUseTrustedProxies(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub := filepath.Join(dir, "k.pub.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "segment")
	}))
	t.Cleanup(origin.Close) // after the parallel subtests

	for _, tt := range []struct {
		name    string
		trusted []string
		want    int
	}{
		{"default: nobody trusted", nil, http.StatusForbidden},
		{"loopback listed", []string{"127.0.0.0/8"}, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config.DefaultEdge()
			cfg.HTTPAddr = "127.0.0.1:0"
			cfg.DataDir = t.TempDir()
			cfg.Origins = []string{origin.URL}
			cfg.CacheDisk = 0
			cfg.AccessLog = ""
			cfg.TrustedKeys = []string{"K1=" + pub}
			cfg.RequireSigned = []string{"/vod/*"}
			cfg.Security.TrustedProxies = tt.trusted

			var logs syncBuffer
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- RunEdge(ctx, cfg, testToken, slog.New(slog.NewTextHandler(&logs, nil)), nil) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("RunEdge: %v", err)
				}
			}()
			serving := regexp.MustCompile(`osprey edge is serving" http=(\S+)`)
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
			base := "http://" + m[1]
			signed, err := signedurl.Signer{KeyPairID: "K1", Key: key}.SignURLWithPolicy(base+"/vod/a/1.m4s",
				signedurl.Policy{Resource: base + "/vod/*", DateLessThan: time.Now().Add(time.Hour), IPAddress: "203.0.113.0/24"})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, signed, nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			client := &http.Client{Timeout: 10 * time.Second}
			defer client.CloseIdleConnections()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("signed URL for 203.0.113.0/24 with X-Forwarded-For 203.0.113.7: %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
