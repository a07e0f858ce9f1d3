package edge

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

func TestSignedURLsOnProtectedPaths(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := signedurl.NewKeySet()
	if err := keys.Add("K1", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	origin := newTestOrigin(t, staticHandler([]byte("secret video"), "max-age=600"))
	te := newTestEdge(t, Config{Verifier: &signedurl.Verifier{Keys: keys}, RequireSigned: []string{"/vod/*"}}, origin.URL)
	base := te.srv.URL
	sha1 := signedurl.Signer{KeyPairID: "K1", Key: key}
	sha256 := signedurl.Signer{KeyPairID: "K1", Key: key, Hash: crypto.SHA256}
	forged := signedurl.Signer{KeyPairID: "K1", Key: other}
	unknown := signedurl.Signer{KeyPairID: "K9", Key: key}
	hour := time.Now().Add(time.Hour)

	sign := func(s signedurl.Signer, u string, exp time.Time) string {
		t.Helper()
		out, err := s.SignURL(u, exp)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	custom := func(s signedurl.Signer, u string, p signedurl.Policy) string {
		t.Helper()
		out, err := s.SignURLWithPolicy(u, p)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tests := []struct {
		name   string
		url    string
		status int
	}{
		{"public path, unsigned", base + "/live/a/1.m4s", 200},
		{"unsigned", base + "/vod/a/1.m4s", 403},
		{"canned SHA1", sign(sha1, base+"/vod/a/1.m4s", hour), 200},
		{"canned SHA256", sign(sha256, base+"/vod/a/1.m4s", hour), 200},
		{"custom wildcard", custom(sha1, base+"/vod/a/2.m4s", signedurl.Policy{Resource: base + "/vod/a/*", DateLessThan: hour}), 200},
		{"custom wildcard, other asset", custom(sha1, base+"/vod/b/2.m4s", signedurl.Policy{Resource: base + "/vod/a/*", DateLessThan: hour}), 403},
		{"custom, IP allowed", custom(sha1, base+"/vod/a/3.m4s", signedurl.Policy{Resource: base + "/vod/*", DateLessThan: hour, IPAddress: "127.0.0.0/8"}), 200},
		{"custom, IP refused", custom(sha1, base+"/vod/a/3.m4s", signedurl.Policy{Resource: base + "/vod/*", DateLessThan: hour, IPAddress: "192.0.2.0/24"}), 403},
		{"custom, not yet valid", custom(sha1, base+"/vod/a/3.m4s", signedurl.Policy{Resource: base + "/vod/*", DateLessThan: hour, DateGreaterThan: time.Now().Add(30 * time.Minute)}), 403},
		{"expired", sign(sha1, base+"/vod/a/1.m4s", time.Now().Add(-time.Minute)), 403},
		{"signed for another path", strings.Replace(sign(sha1, base+"/vod/a/1.m4s", hour), "/vod/a/1.m4s", "/vod/a/9.m4s", 1), 403},
		{"wrong key", sign(forged, base+"/vod/a/1.m4s", hour), 403},
		{"unknown key id", sign(unknown, base+"/vod/a/1.m4s", hour), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, tt.url)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status == 200 && string(body) != "secret video" {
				t.Errorf("body %q", body)
			}
			if tt.status == 403 && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("403 Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
	// Signatures never split the cache: /vod/a/1.m4s was fetched once,
	// whichever signature let the viewer in.
	if n := origin.hits("/vod/a/1.m4s"); n != 1 {
		t.Errorf("origin requests for /vod/a/1.m4s = %d, want 1", n)
	}

	t.Run("no bypass around the signature", func(t *testing.T) {
		// Requests the cache passes through (credentials, other methods)
		// are checked too.
		if resp, _ := get(t, base+"/vod/a/1.m4s", "Authorization", "Bearer anything"); resp.StatusCode != 403 {
			t.Errorf("unsigned request with Authorization: %d, want 403", resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/vod/a/1.m4s", strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("unsigned POST: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("signed cookies", func(t *testing.T) {
		cookies, err := sha1.SignCookies(signedurl.Policy{Resource: base + "/vod/a/*", DateLessThan: hour})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/vod/a/4.m4s", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("with signed cookies: %d", resp.StatusCode)
		}
	})
}
