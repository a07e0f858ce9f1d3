package signedurl_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

var (
	testNow = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	testExp = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
)

const testBase = "https://edge.example.com/vod/abc/master.m3u8?x=1&y=two%20words"

// cannedJSON is the canned policy of the CloudFront Developer Guide, built
// here by hand.
func cannedJSON(resource string, expires int64) []byte {
	return []byte(`{"Statement":[{"Resource":"` + resource + `","Condition":{"DateLessThan":{"AWS:EpochTime":` + strconv.FormatInt(expires, 10) + `}}}]}`)
}

// verifyCase is one request and the outcome expected for it.
type verifyCase struct {
	name    string
	url     string
	ip      string // "" means 203.0.113.9
	cookies []*http.Cookie
	at      time.Time // zero means testNow
	want    error     // nil or a sentinel
	msg     string    // substring of the error message
}

func runCases(t *testing.T, ks *signedurl.KeySet, cases []verifyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			at := tc.at
			if at.IsZero() {
				at = testNow
			}
			v := &signedurl.Verifier{Keys: ks, Now: func() time.Time { return at }}
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			ip := netip.MustParseAddr("203.0.113.9")
			if tc.ip != "" {
				ip = netip.MustParseAddr(tc.ip)
			}
			err = v.Verify(u, ip, tc.cookies)
			checkErr(t, err, tc.want, tc.msg)
		})
	}
}

var sentinels = []error{
	signedurl.ErrUnsigned, signedurl.ErrMalformed, signedurl.ErrUnknownKey, signedurl.ErrBadSignature,
	signedurl.ErrExpired, signedurl.ErrNotYetValid, signedurl.ErrWrongResource, signedurl.ErrIPNotAllowed,
}

func checkErr(t *testing.T, err, want error, msg string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("Verify: %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("Verify: %v, want %v", err, want)
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Fatalf("Verify: %v wraps %v as well as %v", err, s, want)
		}
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("Verify: %q lacks %q", err, msg)
	}
}

// flipSigByte changes one byte of the decoded Signature of a signed URL.
func flipSigByte(t *testing.T, signed string) string {
	t.Helper()
	i := strings.Index(signed, "Signature=") + len("Signature=")
	j := i + strings.IndexByte(signed[i:], '&')
	r := strings.NewReplacer("-", "+", "_", "=", "~", "/")
	raw, err := base64.StdEncoding.DecodeString(r.Replace(signed[i:j]))
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x01
	enc := strings.NewReplacer("+", "-", "=", "_", "/", "~").Replace(base64.StdEncoding.EncodeToString(raw))
	return signed[:i] + enc + signed[j:]
}

func TestOpenSSLVectors(t *testing.T) {
	o := needOpenSSL(t)
	k := o.genKey(t, "k1", 2048)
	ks := signedurl.NewKeySet()
	if err := ks.AddPEM("K1", k.pubPEM(t)); err != nil {
		t.Fatal(err)
	}
	exp := testExp.Unix()
	expS := strconv.FormatInt(exp, 10)

	canned := func(resource, digest string) string {
		return "&Expires=" + expS + "&Signature=" + k.sign(t, digest, cannedJSON(resource, exp)) + "&Key-Pair-Id=K1"
	}
	cannedSHA1 := testBase + canned(testBase, "sha1")
	cannedSHA256 := testBase + canned(testBase, "sha256") + "&Hash-Algorithm=SHA256"
	cannedSHA256NoParam := testBase + canned(testBase, "sha256")

	// custom returns the signing parameters for a policy document.
	custom := func(doc, digest string) string {
		q := "Policy=" + o.b64(t, []byte(doc)) + "&Signature=" + k.sign(t, digest, []byte(doc)) + "&Key-Pair-Id=K1"
		if digest == "sha256" {
			q += "&Hash-Algorithm=SHA256"
		}
		return q
	}
	policy := func(resource, extra string) string {
		return `{"Statement":[{"Resource":"` + resource + `","Condition":{` + extra + `"DateLessThan":{"AWS:EpochTime":` + expS + `}}}]}`
	}
	pretty := "{\n  \"Statement\": [\n    {\n      \"Resource\": \"" + testBase + "\",\n      \"Condition\": {\n        \"DateLessThan\": { \"AWS:EpochTime\": " + expS + " }\n      }\n    }\n  ]\n}\n"
	start := testNow.Add(30 * time.Minute).Unix()
	notBefore := custom(policy(testBase, `"DateGreaterThan":{"AWS:EpochTime":`+strconv.FormatInt(start, 10)+`},`), "sha1")
	v4 := custom(policy("https://edge.example.com/live/*", `"IpAddress":{"AWS:SourceIp":"192.0.2.0/24"},`), "sha1")
	v6 := custom(policy("https://edge.example.com/live/*", `"IpAddress":{"AWS:SourceIp":"2001:db8:1::/48"},`), "sha1")
	bare := custom(policy("https://edge.example.com/live/*", `"IpAddress":{"AWS:SourceIp":"192.0.2.10"},`), "sha1")
	star := custom(policy("https://edge.example.com/vod/abc/*", ""), "sha1")
	question := custom(policy("https://edge.example.com/vod/seg?.m4s", ""), "sha256")
	upperHost := custom(policy("https://EDGE.Example.COM/vod/*", ""), "sha1")
	noResource := custom(`{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":`+expS+`}}}]}`, "sha1")
	signedGarbage := func(doc string) string { return custom(doc, "sha1") }
	stmt := `{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":` + expS + `}}}`

	cookie := func(kv ...string) []*http.Cookie {
		var cs []*http.Cookie
		for i := 0; i < len(kv); i += 2 {
			cs = append(cs, &http.Cookie{Name: kv[i], Value: kv[i+1]})
		}
		return cs
	}
	cannedCookies := cookie("CloudFront-Expires", expS, "CloudFront-Signature", k.sign(t, "sha1", cannedJSON(testBase, exp)), "CloudFront-Key-Pair-Id", "K1")
	wild := policy("https://edge.example.com/vod/*", "")
	customCookies := cookie("CloudFront-Policy", o.b64(t, []byte(wild)), "CloudFront-Signature", k.sign(t, "sha1", []byte(wild)), "CloudFront-Key-Pair-Id", "K1")
	sig256 := k.sign(t, "sha256", []byte(wild))
	sha256Cookies := cookie("CloudFront-Policy", o.b64(t, []byte(wild)), "CloudFront-Signature", sig256, "CloudFront-Key-Pair-Id", "K1", "CloudFront-Hash-Algorithm", "SHA256")
	sha256CookiesNoAlg := cookie("CloudFront-Policy", o.b64(t, []byte(wild)), "CloudFront-Signature", sig256, "CloudFront-Key-Pair-Id", "K1")

	seg := "https://edge.example.com/vod/abc/x/y.m4s?"
	cases := []verifyCase{
		// Canned policies.
		{name: "canned sha1", url: cannedSHA1},
		{name: "canned sha256", url: cannedSHA256},
		{name: "canned explicit SHA1", url: cannedSHA1 + "&Hash-Algorithm=SHA1"},
		{name: "canned params first", url: "https://edge.example.com/vod/abc/master.m3u8?" + strings.TrimPrefix(canned(testBase, "sha1"), "&") + "&x=1&y=two%20words"},
		{name: "canned host case", url: strings.Replace(cannedSHA1, "edge.example.com", "EDGE.Example.com", 1)},
		{name: "canned sha256 without Hash-Algorithm", url: cannedSHA256NoParam, want: signedurl.ErrBadSignature, msg: "RSA-SHA1"},
		{name: "canned sha1 claimed sha256", url: cannedSHA1 + "&Hash-Algorithm=SHA256", want: signedurl.ErrBadSignature},
		{name: "canned expired", url: cannedSHA1, at: testExp, want: signedurl.ErrExpired, msg: "signed URL expired at 2026-11-21T10:00:00Z"},
		{name: "canned long expired", url: cannedSHA1, at: testExp.Add(24 * time.Hour), want: signedurl.ErrExpired},
		{name: "canned a second before expiry", url: cannedSHA1, at: testExp.Add(-time.Second)},
		{name: "altered path", url: strings.Replace(cannedSHA1, "/abc/", "/abd/", 1), want: signedurl.ErrBadSignature, msg: "does not match"},
		{name: "altered query value", url: strings.Replace(cannedSHA1, "x=1", "x=2", 1), want: signedurl.ErrBadSignature},
		{name: "added query parameter", url: cannedSHA1 + "&admin=1", want: signedurl.ErrBadSignature},
		{name: "removed query parameter", url: strings.Replace(cannedSHA1, "x=1&", "", 1), want: signedurl.ErrBadSignature},
		{name: "altered scheme", url: strings.Replace(cannedSHA1, "https:", "http:", 1), want: signedurl.ErrBadSignature},
		{name: "altered signature byte", url: flipSigByte(t, cannedSHA1), want: signedurl.ErrBadSignature},
		{name: "altered Expires", url: strings.Replace(cannedSHA1, "Expires="+expS, "Expires="+strconv.FormatInt(exp+3600, 10), 1), want: signedurl.ErrBadSignature},
		{name: "unknown key pair id", url: strings.Replace(cannedSHA1, "Key-Pair-Id=K1", "Key-Pair-Id=K9", 1), want: signedurl.ErrUnknownKey, msg: `"K9"`},

		// Custom policies.
		{name: "custom exact", url: testBase + "&" + custom(policy(testBase, ""), "sha1")},
		{name: "custom sha256", url: testBase + "&" + custom(policy(testBase, ""), "sha256")},
		{name: "custom whitespace JSON", url: testBase + "&" + custom(pretty, "sha1")},
		{name: "custom other URL", url: "https://edge.example.com/vod/abc/other.m3u8?x=1&y=two%20words&" + custom(policy(testBase, ""), "sha1"), want: signedurl.ErrWrongResource, msg: "is for " + testBase},
		{name: "custom expired", url: testBase + "&" + custom(policy(testBase, ""), "sha1"), at: testExp.Add(time.Minute), want: signedurl.ErrExpired, msg: "expired at 2026-11-21T10:00:00Z"},
		{name: "not yet valid", url: testBase + "&" + notBefore, want: signedurl.ErrNotYetValid, msg: "not valid before 2026-11-21T09:30:00Z"},
		{name: "valid after start", url: testBase + "&" + notBefore, at: testNow.Add(31 * time.Minute)},
		{name: "v4 range inside", url: "https://edge.example.com/live/a.m3u8?" + v4, ip: "192.0.2.77"},
		{name: "v4 range mapped", url: "https://edge.example.com/live/a.m3u8?" + v4, ip: "::ffff:192.0.2.77"},
		{name: "v4 range outside", url: "https://edge.example.com/live/a.m3u8?" + v4, ip: "198.51.100.1", want: signedurl.ErrIPNotAllowed, msg: "192.0.2.0/24, not 198.51.100.1"},
		{name: "v4 range v6 client", url: "https://edge.example.com/live/a.m3u8?" + v4, ip: "2001:db8:1::5", want: signedurl.ErrIPNotAllowed},
		{name: "v6 range inside", url: "https://edge.example.com/live/a.m3u8?" + v6, ip: "2001:db8:1:ffff::5"},
		{name: "v6 range outside", url: "https://edge.example.com/live/a.m3u8?" + v6, ip: "2001:db8:2::1", want: signedurl.ErrIPNotAllowed},
		{name: "v6 range v4 client", url: "https://edge.example.com/live/a.m3u8?" + v6, ip: "192.0.2.77", want: signedurl.ErrIPNotAllowed},
		{name: "bare ip exact", url: "https://edge.example.com/live/a.m3u8?" + bare, ip: "192.0.2.10"},
		{name: "bare ip neighbour", url: "https://edge.example.com/live/a.m3u8?" + bare, ip: "192.0.2.11", want: signedurl.ErrIPNotAllowed},
		{name: "star deep", url: seg + star},
		{name: "star empty", url: "https://edge.example.com/vod/abc/?" + star},
		{name: "star with query", url: "https://edge.example.com/vod/abc/a.m4s?t=1&" + star},
		{name: "star sibling prefix", url: "https://edge.example.com/vod/abcd/x.m4s?" + star, want: signedurl.ErrWrongResource},
		{name: "star parent", url: "https://edge.example.com/vod/abc?" + star, want: signedurl.ErrWrongResource},
		{name: "star other host", url: "https://other.example.com/vod/abc/x.m4s?" + star, want: signedurl.ErrWrongResource},
		{name: "star other scheme", url: "http://edge.example.com/vod/abc/x.m4s?" + star, want: signedurl.ErrWrongResource},
		{name: "question one char", url: "https://edge.example.com/vod/seg1.m4s?" + question},
		{name: "question two chars", url: "https://edge.example.com/vod/seg12.m4s?" + question, want: signedurl.ErrWrongResource},
		{name: "question no char", url: "https://edge.example.com/vod/seg.m4s?" + question, want: signedurl.ErrWrongResource},
		{name: "policy host case", url: "https://edge.example.com/vod/x.m4s?" + upperHost},
		{name: "request host case", url: "https://Edge.EXAMPLE.com/vod/x.m4s?" + upperHost},
		{name: "policy path case", url: "https://edge.example.com/VOD/x.m4s?" + upperHost, want: signedurl.ErrWrongResource},
		{name: "omitted resource", url: "https://anything.example.net/any/path?" + noResource},
		{name: "policy swapped", url: testBase + "&" + swapPolicy(star, o.b64(t, []byte(policy("*", "")))), want: signedurl.ErrBadSignature},

		// Signed but malformed policies.
		{name: "policy not JSON", url: testBase + "&" + signedGarbage("not json"), want: signedurl.ErrMalformed, msg: "not a JSON object"},
		{name: "policy without DateLessThan", url: testBase + "&" + signedGarbage(`{"Statement":[{"Resource":"*","Condition":{"DateGreaterThan":{"AWS:EpochTime":1}}}]}`), want: signedurl.ErrMalformed, msg: "DateLessThan"},
		{name: "policy with two statements", url: testBase + "&" + signedGarbage(`{"Statement":[`+stmt+`,`+stmt+`]}`), want: signedurl.ErrMalformed, msg: "2 statements"},
		{name: "policy epoch quoted", url: testBase + "&" + signedGarbage(`{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":"`+expS+`"}}}]}`), want: signedurl.ErrMalformed, msg: "Unix seconds"},
		{name: "policy unknown condition", url: testBase + "&" + signedGarbage(`{"Statement":[{"Resource":"*","Condition":{"DateLessThan":{"AWS:EpochTime":`+expS+`},"StringLike":{"AWS:Referer":"x"}}}]}`), want: signedurl.ErrMalformed, msg: `"StringLike"`},
		{name: "policy lower-case key", url: testBase + "&" + signedGarbage(`{"statement":[]}`), want: signedurl.ErrMalformed},
		{name: "policy bad CIDR", url: testBase + "&" + signedGarbage(policy("*", `"IpAddress":{"AWS:SourceIp":"192.0.2.0/99"},`)), want: signedurl.ErrMalformed, msg: "AWS:SourceIp"},

		// Cookies.
		{name: "canned cookies", url: testBase, cookies: cannedCookies},
		{name: "canned cookies other URL", url: "https://edge.example.com/vod/abc/other.m3u8", cookies: cannedCookies, want: signedurl.ErrBadSignature, msg: "signed cookies"},
		{name: "custom cookies", url: seg, cookies: customCookies},
		{name: "custom cookies outside", url: "https://edge.example.com/live/a.m3u8", cookies: customCookies, want: signedurl.ErrWrongResource, msg: "signed cookies is for"},
		{name: "sha256 cookies", url: seg, cookies: sha256Cookies},
		{name: "sha256 cookies without algorithm", url: seg, cookies: sha256CookiesNoAlg, want: signedurl.ErrBadSignature},
		{name: "cookies expired", url: seg, cookies: customCookies, at: testExp, want: signedurl.ErrExpired, msg: "signed cookies expired at 2026-11-21T10:00:00Z"},
		{name: "cookies among others", url: seg, cookies: append(cookie("session", "abc", "theme", "dark"), customCookies...)},
		{name: "URL wins over cookies", url: flipSigByte(t, cannedSHA1), cookies: customCookies, want: signedurl.ErrBadSignature, msg: "signed URL"},
		{name: "valid URL, bad cookies", url: cannedSHA1, cookies: cookie("CloudFront-Signature", "!!!")},
		{name: "bad cookie signature", url: seg, cookies: cookie("CloudFront-Policy", o.b64(t, []byte(wild)), "CloudFront-Signature", "!!!", "CloudFront-Key-Pair-Id", "K1"), want: signedurl.ErrMalformed, msg: "CloudFront-Signature"},
		{name: "bad cookie algorithm", url: seg, cookies: cookie("CloudFront-Expires", expS, "CloudFront-Signature", "AAAA", "CloudFront-Key-Pair-Id", "K1", "CloudFront-Hash-Algorithm", "MD5"), want: signedurl.ErrMalformed, msg: "CloudFront-Hash-Algorithm"},
		{name: "cookie without key id", url: seg, cookies: cookie("CloudFront-Expires", expS, "CloudFront-Signature", "AAAA"), want: signedurl.ErrMalformed, msg: "CloudFront-Key-Pair-Id"},

		// Unsigned.
		{name: "unsigned", url: testBase, want: signedurl.ErrUnsigned},
		{name: "unsigned with cookies", url: testBase, cookies: cookie("session", "abc"), want: signedurl.ErrUnsigned},
		{name: "unsigned hash only", url: testBase + "&Hash-Algorithm=SHA256", want: signedurl.ErrUnsigned},
		{name: "lower-case names are not signing", url: testBase + "&expires=" + expS + "&signature=AAAA&key-pair-id=K1", want: signedurl.ErrUnsigned},

		// Garbage in each parameter.
		{name: "Expires letters", url: testBase + "&Expires=abc&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Expires"},
		{name: "Expires empty", url: testBase + "&Expires=&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Expires"},
		{name: "Expires negative", url: testBase + "&Expires=-5&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed},
		{name: "Expires plus", url: testBase + "&Expires=%2B5&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed},
		{name: "Expires huge", url: testBase + "&Expires=99999999999999999999999&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed},
		{name: "Signature not base64", url: testBase + "&Expires=" + expS + "&Signature=!!!&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Signature is not base64"},
		{name: "Signature empty", url: testBase + "&Expires=" + expS + "&Signature=&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Signature"},
		{name: "Signature bad escape", url: testBase + "&Expires=" + expS + "&Signature=%zz&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "percent-encoding"},
		{name: "Signature missing", url: testBase + "&Expires=" + expS + "&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Signature is missing"},
		{name: "Signature twice", url: cannedSHA1 + "&Signature=AAAA", want: signedurl.ErrMalformed, msg: "twice"},
		{name: "Key-Pair-Id empty", url: testBase + "&Expires=" + expS + "&Signature=AAAA&Key-Pair-Id=", want: signedurl.ErrMalformed, msg: "Key-Pair-Id"},
		{name: "Key-Pair-Id missing", url: testBase + "&Expires=" + expS + "&Signature=AAAA", want: signedurl.ErrMalformed, msg: "Key-Pair-Id"},
		{name: "no policy or expiry", url: testBase + "&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Expires (canned policy) or Policy"},
		{name: "Policy not base64", url: testBase + "&Policy=!!!&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrMalformed, msg: "Policy is not base64"},
		{name: "Hash-Algorithm unknown", url: cannedSHA1 + "&Hash-Algorithm=MD5", want: signedurl.ErrMalformed, msg: "Hash-Algorithm"},
		{name: "Hash-Algorithm lower case", url: cannedSHA1 + "&Hash-Algorithm=sha256", want: signedurl.ErrMalformed, msg: "Hash-Algorithm"},
		{name: "Key-Pair-Id garbage", url: testBase + "&Expires=" + expS + "&Signature=AAAA&Key-Pair-Id=%00%FF", want: signedurl.ErrUnknownKey},
		{name: "Signature short", url: testBase + "&Expires=" + expS + "&Signature=AAAA&Key-Pair-Id=K1", want: signedurl.ErrBadSignature},
	}
	runCases(t, ks, cases)
}

// swapPolicy replaces the Policy of signing parameters q, keeping its
// signature.
func swapPolicy(q, policy string) string {
	i := strings.Index(q, "Policy=") + len("Policy=")
	j := i + strings.IndexByte(q[i:], '&')
	return q[:i] + policy + q[j:]
}
