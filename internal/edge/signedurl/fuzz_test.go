package signedurl

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

var allSentinels = []error{ErrUnsigned, ErrMalformed, ErrUnknownKey, ErrBadSignature, ErrExpired, ErrNotYetValid, ErrWrongResource, ErrIPNotAllowed}

// FuzzVerify feeds arbitrary queries and Cookie headers to Verify: it must
// never panic, every error must wrap exactly one sentinel, and StripQuery
// must leave no signing parameter.
func FuzzVerify(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ks := NewKeySet()
	if err := ks.Add("K", &key.PublicKey); err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour)
	const base = "https://edge.example.com/vod/abc/seg1.m4s"
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		s := Signer{KeyPairID: "K", Key: key, Hash: h}
		canned, _ := s.SignURL(base+"?t=1", exp)
		custom, _ := s.SignURLWithPolicy(base, Policy{Resource: "https://edge.example.com/vod/*", DateLessThan: exp, IPAddress: "192.0.2.0/24"})
		cookies, _ := s.SignCookies(Policy{Resource: "https://edge.example.com/*", DateLessThan: exp})
		var hdr []string
		for _, c := range cookies {
			hdr = append(hdr, c.Name+"="+c.Value)
		}
		f.Add(canned[strings.IndexByte(canned, '?')+1:], "")
		f.Add(custom[strings.IndexByte(custom, '?')+1:], "")
		f.Add("", strings.Join(hdr, "; "))
	}
	f.Add("Expires=1&Signature=%zz&Key-Pair-Id=K", "CloudFront-Policy=!!")
	f.Add("Policy=e30_&Signature=AAAA&Key-Pair-Id=K&Hash-Algorithm=SHA256", "")
	v := &Verifier{Keys: ks, Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, rawQuery, cookieHeader string) {
		u := &url.URL{Scheme: "https", Host: "edge.example.com", Path: "/vod/abc/seg1.m4s", RawQuery: rawQuery}
		cookies, _ := http.ParseCookie(cookieHeader)
		for _, ip := range []netip.Addr{netip.MustParseAddr("192.0.2.7"), {}} {
			err := v.Verify(u, ip, cookies)
			if err == nil {
				continue
			}
			n := 0
			for _, s := range allSentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("Verify(%q, %q): %v wraps %d sentinels", rawQuery, cookieHeader, err, n)
			}
		}
		stripped := StripQuery(rawQuery)
		for seg := range strings.SplitSeq(stripped, "&") {
			if name, _, _ := strings.Cut(seg, "="); IsSigningParam(name) {
				t.Fatalf("StripQuery(%q) = %q keeps %s", rawQuery, stripped, name)
			}
		}
		if again := StripQuery(stripped); again != stripped {
			t.Fatalf("StripQuery not idempotent: %q -> %q -> %q", rawQuery, stripped, again)
		}
	})
}

// FuzzPolicy checks that parsing any policy never panics and that
// Match agrees with a simple reference matcher.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte(`{"Statement":[{"Resource":"https://e/*","Condition":{"DateLessThan":{"AWS:EpochTime":10},"IpAddress":{"AWS:SourceIp":"::ffff:1.2.3.4/120"}}}]}`), "a*b?c", "axxbyc")
	f.Add([]byte(`{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":-1}}}]}`), "*", "")
	f.Fuzz(func(t *testing.T, doc []byte, pattern, s string) {
		if p, err := parsePolicy(doc); err == nil && p.hasIP && !p.sourceIP.IsValid() {
			t.Fatalf("parsePolicy(%q) accepted an invalid source prefix", doc)
		}
		if len(pattern) > 40 || len(s) > 40 {
			return
		}
		if got, want := Match(pattern, s), refMatch(pattern, s); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference says %v", pattern, s, got, want)
		}
	})
}

// refMatch is a plain dynamic-programming matcher: m[i][j] reports
// whether p[i:] matches s[j:].
func refMatch(p, s string) bool {
	m := make([][]bool, len(p)+1)
	for i := range m {
		m[i] = make([]bool, len(s)+1)
	}
	m[len(p)][len(s)] = true
	for i := len(p) - 1; i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			switch {
			case p[i] == '*':
				m[i][j] = m[i+1][j] || (j < len(s) && m[i][j+1])
			case j < len(s) && (p[i] == '?' || p[i] == s[j]):
				m[i][j] = m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}
