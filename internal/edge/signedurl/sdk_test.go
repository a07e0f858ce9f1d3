package signedurl_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// testKey returns a fresh RSA-2048 key and a KeySet trusting it as "KSDK".
func testKey(t *testing.T) (*rsa.PrivateKey, *signedurl.KeySet) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ks := signedurl.NewKeySet()
	if err := ks.Add("KSDK", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	return key, ks
}

func verifyReq(ks *signedurl.KeySet, rawURL, ip string, cookies []*http.Cookie, at time.Time) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	v := &signedurl.Verifier{Keys: ks, Now: func() time.Time { return at }}
	return v.Verify(u, netip.MustParseAddr(ip), cookies)
}

// The AWS SDK for Go v2 (feature/cloudfront/sign v1.8.0) signs what we
// verify.
func TestAWSSDKInterop(t *testing.T) {
	t.Parallel()
	key, ks := testKey(t)
	us := sign.NewURLSigner("KSDK", key)
	cs := sign.NewCookieSigner("KSDK", key)

	canned, err := us.Sign(testBase, testExp)
	if err != nil {
		t.Fatal(err)
	}
	wild := &sign.Policy{Statements: []sign.Statement{{
		Resource: "https://edge.example.com/vod/*",
		Condition: sign.Condition{
			DateLessThan:    sign.NewAWSEpochTime(testExp),
			DateGreaterThan: sign.NewAWSEpochTime(testNow.Add(-time.Minute)),
			IPAddress:       &sign.IPAddress{SourceIP: "192.0.2.0/24"},
		},
	}}}
	custom, err := us.SignWithPolicy("https://edge.example.com/vod/abc/seg1.m4s?t=5", wild)
	if err != nil {
		t.Fatal(err)
	}
	cannedCookies, err := cs.Sign(testBase, testExp)
	if err != nil {
		t.Fatal(err)
	}
	cookiePolicy := &sign.Policy{Statements: []sign.Statement{{
		Resource:  "https://edge.example.com/vod/abc/*",
		Condition: sign.Condition{DateLessThan: sign.NewAWSEpochTime(testExp)},
	}}}
	wildCookies, err := cs.SignWithPolicy(cookiePolicy)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, url, ip string
		cookies       []*http.Cookie
		at            time.Time
		want          error
	}{
		{"URLSigner canned", canned, "203.0.113.9", nil, testNow, nil},
		{"URLSigner canned expired", canned, "203.0.113.9", nil, testExp, signedurl.ErrExpired},
		{"URLSigner custom", custom, "192.0.2.4", nil, testNow, nil},
		{"URLSigner custom wrong IP", custom, "203.0.113.9", nil, testNow, signedurl.ErrIPNotAllowed},
		{"URLSigner custom too early", custom, "192.0.2.4", nil, testNow.Add(-2 * time.Minute), signedurl.ErrNotYetValid},
		{"CookieSigner canned", testBase, "203.0.113.9", cannedCookies, testNow, nil},
		{"CookieSigner canned other URL", "https://edge.example.com/vod/abc/x.m3u8", "203.0.113.9", cannedCookies, testNow, signedurl.ErrWrongResource},
		{"CookieSigner policy", "https://edge.example.com/vod/abc/1080p/seg7.m4s", "203.0.113.9", wildCookies, testNow, nil},
		{"CookieSigner policy outside", "https://edge.example.com/vod/abd/seg7.m4s", "203.0.113.9", wildCookies, testNow, signedurl.ErrWrongResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := verifyReq(ks, tt.url, tt.ip, tt.cookies, tt.at)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

// Our Signer is byte-for-byte the SDK's for SHA-1 (PKCS #1 v1.5 is
// deterministic).
func TestSignerMatchesAWSSDK(t *testing.T) {
	t.Parallel()
	key, _ := testKey(t)
	ours := signedurl.Signer{KeyPairID: "KSDK", Key: key}
	us := sign.NewURLSigner("KSDK", key)
	for _, raw := range []string{testBase, "https://edge.example.com/a", "http://edge.example.com/a%20b/c.ts?&k=v&"} {
		want, err := us.Sign(raw, testExp)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ours.SignURL(raw, testExp)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("canned %s:\n got %s\nwant %s", raw, got, want)
		}
	}
	p := signedurl.Policy{Resource: "https://edge.example.com/vod/*", DateLessThan: testExp, DateGreaterThan: testNow, IPAddress: "192.0.2.0/24"}
	got, err := ours.SignURLWithPolicy(testBase, p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := us.SignWithPolicy(testBase, &sign.Policy{Statements: []sign.Statement{{
		Resource: p.Resource,
		Condition: sign.Condition{
			IPAddress:       &sign.IPAddress{SourceIP: p.IPAddress},
			DateGreaterThan: sign.NewAWSEpochTime(p.DateGreaterThan),
			DateLessThan:    sign.NewAWSEpochTime(p.DateLessThan),
		},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("custom:\n got %s\nwant %s", got, want)
	}
}

// What our Signer makes, our Verifier accepts, for both hashes.
func TestSignerRoundTrip(t *testing.T) {
	t.Parallel()
	key, ks := testKey(t)
	for _, h := range []crypto.Hash{0, crypto.SHA1, crypto.SHA256} {
		s := signedurl.Signer{KeyPairID: "KSDK", Key: key, Hash: h}
		wild := signedurl.Policy{Resource: "https://edge.example.com/vod/*", DateLessThan: testExp, DateGreaterThan: testNow.Add(-time.Hour), IPAddress: "2001:db8::/32"}
		cannedURL, err := s.SignURL(testBase, testExp)
		if err != nil {
			t.Fatal(err)
		}
		customURL, err := s.SignURLWithPolicy("https://edge.example.com/vod/x/y.m4s", wild)
		if err != nil {
			t.Fatal(err)
		}
		exactURL, err := s.SignURLWithPolicy(testBase, signedurl.Policy{DateLessThan: testExp})
		if err != nil {
			t.Fatal(err)
		}
		cookies, err := s.SignCookies(wild)
		if err != nil {
			t.Fatal(err)
		}
		cannedCookies, err := s.SignCannedCookies(testBase, testExp)
		if err != nil {
			t.Fatal(err)
		}
		if want := 3 + boolInt(h == crypto.SHA256); len(cookies) != want || len(cannedCookies) != want {
			t.Fatalf("hash %v: %d and %d cookies, want %d", h, len(cookies), len(cannedCookies), want)
		}
		checks := []struct {
			name, url, ip string
			cookies       []*http.Cookie
			want          error
		}{
			{"canned URL", cannedURL, "203.0.113.9", nil, nil},
			{"custom URL", customURL, "2001:db8::7", nil, nil},
			{"custom URL wrong IP", customURL, "203.0.113.9", nil, signedurl.ErrIPNotAllowed},
			{"exact URL", exactURL, "203.0.113.9", nil, nil},
			{"cookies", "https://edge.example.com/vod/abc/seg.m4s", "2001:db8::7", cookies, nil},
			{"canned cookies", testBase, "203.0.113.9", cannedCookies, nil},
		}
		for _, c := range checks {
			if err := verifyReq(ks, c.url, c.ip, c.cookies, testNow); (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("hash %v, %s: %v, want %v", h, c.name, err, c.want)
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSignerErrors(t *testing.T) {
	t.Parallel()
	key, _ := testKey(t)
	s := signedurl.Signer{KeyPairID: "K", Key: key}
	bad := map[string]func() error{
		"relative URL":  func() error { _, err := s.SignURL("/vod/a.m3u8", testExp); return err },
		"ftp URL":       func() error { _, err := s.SignURL("ftp://x/a", testExp); return err },
		"fragment":      func() error { _, err := s.SignURL("https://x/a#f", testExp); return err },
		"signing param": func() error { _, err := s.SignURL("https://x/a?Expires=5", testExp); return err },
		"non-ASCII":     func() error { _, err := s.SignURL("https://x/é", testExp); return err },
		"no expiry":     func() error { _, err := s.SignURL("https://x/a", time.Time{}); return err },
		"no key":        func() error { _, err := signedurl.Signer{KeyPairID: "K"}.SignURL("https://x/a", testExp); return err },
		"no key id":     func() error { _, err := signedurl.Signer{Key: key}.SignURL("https://x/a", testExp); return err },
		"MD5": func() error {
			_, err := signedurl.Signer{KeyPairID: "K", Key: key, Hash: crypto.MD5}.SignURL("https://x/a", testExp)
			return err
		},
		"policy no expiry": func() error { _, err := s.SignURLWithPolicy("https://x/a", signedurl.Policy{}); return err },
		"policy bad IP": func() error {
			_, err := s.SignURLWithPolicy("https://x/a", signedurl.Policy{DateLessThan: testExp, IPAddress: "nope"})
			return err
		},
		"policy start>end": func() error {
			_, err := s.SignURLWithPolicy("https://x/a", signedurl.Policy{DateLessThan: testNow, DateGreaterThan: testExp})
			return err
		},
		"cookies no resource": func() error { _, err := s.SignCookies(signedurl.Policy{DateLessThan: testExp}); return err },
	}
	for name, f := range bad {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
