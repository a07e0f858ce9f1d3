package intake

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://cdn.example.com/a.mp4", "https://cdn.example.com/a.mp4"},
		{"https://bucket.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request" +
			"&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=FQoGZXIvYXdzSECRET&X-Amz-Signature=deadbeefSECRET",
			"https://bucket.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED" +
				"&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED"},
		{"https://d111.cloudfront.net/v.mp4?Expires=1&Signature=abcSECRET~&Key-Pair-Id=KSECRET&Policy=eyJSECRET",
			"https://d111.cloudfront.net/v.mp4?Expires=REDACTED&Signature=REDACTED&Key-Pair-Id=REDACTED&Policy=REDACTED"},
		{"http://user:pwSECRET@host/x?token=SECRET&sig=SECRET&key=SECRET&flag#fragSECRET", "http://REDACTED@host/x?token=REDACTED&sig=REDACTED&key=REDACTED&flag"},
		{"https://h/x?a%3Db=SECRET&=SECRET&&", "https://h/x?a%3Db=REDACTED&=REDACTED&&"},
		{"https://h/x?x-amz-date=20260101T000000Z%3B", "https://h/x?x-amz-date=20260101T000000Z%3B"},
		{"::not a url", Redacted},
	}
	for _, tt := range tests {
		got := RedactURL(tt.in)
		if got != tt.want {
			t.Errorf("RedactURL(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
		if strings.Contains(got, "SECRET") {
			t.Errorf("RedactURL(%q) shows a secret: %q", tt.in, got)
		}
	}
}

// FuzzRedactURL checks that no query value outside the shown keys, and no
// password, survives redaction, whatever the URL holds.
func FuzzRedactURL(f *testing.F) {
	f.Add("https://h/x?X-Amz-Signature=s3cr3t&X-Amz-Date=1", "s3cr3t")
	f.Add("http://u:s3cr3t@h/", "s3cr3t")
	f.Add("https://h/x?a=1&a=s3cr3t%26x", "s3cr3t")
	f.Add("https://h/x?tok;en=s3cr3t", "s3cr3t")
	f.Fuzz(func(t *testing.T, raw, secret string) {
		if len(secret) < 4 || strings.ContainsAny(secret, "%+&=;#?/:@[] ") || strings.Contains(Redacted, secret) {
			return
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			return
		}
		// What is shown on purpose: scheme, host, path, query keys and
		// the values of ShownQueryKeys.
		shown := u.Scheme + " " + u.Host + " " + u.Path + " " + u.RawPath + " " + u.Opaque + " " + u.EscapedPath() +
			// ... as the URL writes them: escaping a host's byte 0xB0 gives
			// "%B0", whose "0" joins the digits after it (fuzzing found it).
			" " + (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, Opaque: u.Opaque}).String()
		for _, pair := range strings.Split(u.RawQuery, "&") {
			k, v, _ := strings.Cut(pair, "=")
			shown += " " + k + " " + unescapeOr(k) + " " + url.QueryEscape(unescapeOr(k))
			if slices.Contains(ShownQueryKeys, strings.ToLower(unescapeOr(k))) {
				shown += " " + v + " " + unescapeOr(v) + " " + url.QueryEscape(unescapeOr(v))
			}
		}
		if strings.Contains(strings.ToLower(shown), strings.ToLower(secret)) {
			return
		}
		if got := RedactURL(raw); strings.Contains(got, secret) {
			t.Fatalf("RedactURL(%q) = %q shows %q", raw, got, secret)
		}
	})
}
