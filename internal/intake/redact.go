package intake

import (
	"net/url"
	"slices"
	"strings"
)

// ShownQueryKeys are the query parameters of a source URL whose values may
// be shown (in the API, logs and webhooks): those of a presigned S3 URL
// that only say how it was signed and until when. Every other value (the
// signature, a session token, a credential, a CDN's token=, sig=, key=,
// Policy, Key-Pair-Id, and whatever a server invents) is a possible secret.
var ShownQueryKeys = []string{"x-amz-algorithm", "x-amz-date", "x-amz-expires", "x-amz-signedheaders"}

// Redacted stands in for a value RedactURL hides.
const Redacted = "REDACTED"

// RedactURL returns raw with its user information and every query value
// not in ShownQueryKeys (compared case-insensitively) replaced by
// "REDACTED", and without fragment. Keys and their order are kept, so the
// URL still says what it was. Something that does not parse as a URL
// becomes "REDACTED" whole.
func RedactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Redacted
	}
	if u.User != nil {
		u.User = url.User(Redacted)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery == "" && !u.ForceQuery {
		return u.String()
	}
	var b strings.Builder
	for i, pair := range strings.Split(u.RawQuery, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		rawKey, _, hasValue := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			key = rawKey
		}
		b.WriteString(url.QueryEscape(key))
		if !hasValue {
			continue
		}
		b.WriteByte('=')
		if slices.Contains(ShownQueryKeys, strings.ToLower(key)) {
			v, _ := strings.CutPrefix(pair, rawKey+"=")
			b.WriteString(url.QueryEscape(unescapeOr(v)))
		} else {
			b.WriteString(Redacted)
		}
	}
	u.RawQuery = b.String()
	return u.String()
}

func unescapeOr(s string) string {
	if v, err := url.QueryUnescape(s); err == nil {
		return v
	}
	return s
}
