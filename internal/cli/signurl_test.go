package cli

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// signKey writes a fresh RSA key as PKCS #8 PEM and returns its path and a
// KeySet trusting it as "KTEST".
func signKey(t *testing.T) (string, *signedurl.KeySet) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ks := signedurl.NewKeySet()
	if err := ks.Add("KTEST", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	return path, ks
}

func verifySigned(ks *signedurl.KeySet, rawURL, ip string, cookies []*http.Cookie, at time.Time) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	v := signedurl.Verifier{Keys: ks, Now: func() time.Time { return at }}
	return v.Verify(u, netip.MustParseAddr(ip), cookies)
}

func TestSignURL(t *testing.T) {
	t.Parallel()
	keyFile, ks := signKey(t)
	base := []string{"sign-url", "--key-pair-id", "KTEST", "--private-key", keyFile}
	const page = "https://edge.example.com/vod/abc/master.m3u8?lang=en"
	now := time.Now()

	t.Run("canned", func(t *testing.T) {
		t.Parallel()
		r := run(Options{}, with(base, page)...)
		if r.code != ExitOK {
			t.Fatalf("%+v", r)
		}
		signed := strings.TrimSpace(r.stdout)
		if !strings.HasPrefix(signed, page+"&Expires=") || strings.Contains(signed, "Policy=") || strings.Contains(signed, "Hash-Algorithm") {
			t.Fatalf("not a canned SHA-1 URL: %s", signed)
		}
		if err := verifySigned(ks, signed, "203.0.113.9", nil, now); err != nil {
			t.Fatal(err)
		}
		// The default lifetime is one hour.
		if err := verifySigned(ks, signed, "203.0.113.9", nil, now.Add(59*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := verifySigned(ks, signed, "203.0.113.9", nil, now.Add(61*time.Minute)); !errors.Is(err, signedurl.ErrExpired) {
			t.Fatalf("after an hour: %v", err)
		}
	})
	t.Run("expires-at sha256", func(t *testing.T) {
		t.Parallel()
		at := now.Add(48 * time.Hour).UTC().Truncate(time.Second)
		r := run(Options{}, with(base, "--sha256", "--expires-at", at.Format(time.RFC3339), page)...)
		signed := strings.TrimSpace(r.stdout)
		if r.code != ExitOK || !strings.Contains(signed, "Expires="+strconv.FormatInt(at.Unix(), 10)+"&") || !strings.HasSuffix(signed, "&Hash-Algorithm=SHA256") {
			t.Fatalf("%+v", r)
		}
		if err := verifySigned(ks, signed, "203.0.113.9", nil, now); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("custom policy", func(t *testing.T) {
		t.Parallel()
		r := run(Options{}, with(base, "--expires", "2h", "--policy-resource", "https://edge.example.com/vod/abc/*", "--ip", "192.0.2.0/24", "--not-before=-5m", page)...)
		signed := strings.TrimSpace(r.stdout)
		if r.code != ExitOK || !strings.Contains(signed, "&Policy=") {
			t.Fatalf("%+v", r)
		}
		if err := verifySigned(ks, signed, "192.0.2.8", nil, now.Add(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		// The same signature serves every URL the pattern covers.
		other := strings.Replace(signed, "master.m3u8?lang=en", "1080p/seg9.m4s?lang=en", 1)
		if err := verifySigned(ks, other, "192.0.2.8", nil, now); err != nil {
			t.Fatal(err)
		}
		if err := verifySigned(ks, signed, "198.51.100.1", nil, now); !errors.Is(err, signedurl.ErrIPNotAllowed) {
			t.Fatalf("outside --ip: %v", err)
		}
		if err := verifySigned(ks, signed, "192.0.2.8", nil, now.Add(-10*time.Minute)); !errors.Is(err, signedurl.ErrNotYetValid) {
			t.Fatalf("before --not-before: %v", err)
		}
	})
	t.Run("cookies", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"--cookies", page},
			{"--cookies", "--sha256", "--policy-resource", "https://edge.example.com/vod/*"},
		} {
			r := run(Options{}, with(base, args...)...)
			if r.code != ExitOK {
				t.Fatalf("%v: %+v", args, r)
			}
			var cookies []*http.Cookie
			for line := range strings.Lines(r.stdout) {
				v, ok := strings.CutPrefix(strings.TrimSpace(line), "Set-Cookie: ")
				if !ok {
					t.Fatalf("%v: line %q is not a Set-Cookie header", args, line)
				}
				c, err := http.ParseSetCookie(v)
				if err != nil {
					t.Fatal(err)
				}
				cookies = append(cookies, c)
			}
			if len(cookies) < 3 {
				t.Fatalf("%v: %d cookies", args, len(cookies))
			}
			if err := verifySigned(ks, page, "203.0.113.9", cookies, now); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
		}
	})
	t.Run("errors", func(t *testing.T) {
		t.Parallel()
		tests := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"sign-url", "--private-key", keyFile, page}, ExitUsage, "--key-pair-id"},
			{[]string{"sign-url", "--key-pair-id", "KTEST", page}, ExitUsage, "--private-key"},
			{base, ExitUsage, "give the URL"},
			{with(base, "--expires", "1h", "--expires-at", "2030-01-01T00:00:00Z", page), ExitUsage, "can't be used together"},
			{with(base, "--expires-at", "tomorrow", page), ExitUsage, "RFC 3339"},
			{with(base, "--expires-at", "2001-01-01T00:00:00Z", page), ExitUsage, "not in the future"},
			{with(base, "--expires", "soon", page), ExitUsage, "--expires"},
			{with(base, "--ip", "192.0.2.0/99", page), ExitUsage, "--ip"},
			{with(base, "--not-before", "later", page), ExitUsage, "--not-before"},
			{with(base, "--not-before", "3h", page), ExitUsage, "not before the expiry"},
			{with(base, "--policy-resource", "https://edge.example.com/live/*", page), ExitUsage, "does not cover"},
			{with(base, "/vod/relative.m3u8"), ExitUsage, "absolute"},
			{with(base, page+"&Signature=x"), ExitUsage, "Signature"},
			{[]string{"sign-url", "--key-pair-id", "KTEST", "--private-key", filepath.Join(t.TempDir(), "missing.pem"), page}, ExitError, "missing.pem"},
		}
		for _, tt := range tests {
			r := run(Options{}, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) || r.stdout != "" {
				t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tt.args[1:], r.code, r.stderr, r.stdout, tt.code, tt.want)
			}
		}
	})
}

// with returns a copy of base followed by more.
func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}
