package signedurl

import (
	"net/url"
	"strings"
)

// requestResource is the resource a request asks for: the URL the viewer
// sent without the signing parameters. The scheme is lower case; the host
// is as given, or lower case when lowerHost is set.
func requestResource(u *url.URL, lowerHost bool) string {
	host := u.Host
	if lowerHost {
		host = strings.ToLower(host)
	}
	s := strings.ToLower(u.Scheme) + "://" + host + requestPath(u)
	if q := StripQuery(u.RawQuery); q != "" {
		s += "?" + q
	}
	return s
}

// requestPath is the path as the viewer sent it: url.Parse keeps the
// original in RawPath whenever it differs from the default encoding.
func requestPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}

// cannedResources lists the resources a canned policy may have been signed
// for, most likely first: the URL as sent; with the host in lower case
// (hosts compare case-insensitively); and, when the query held only signing
// parameters, with the bare "?" a signer appending to "…/x?" kept.
func cannedResources(u *url.URL) []string {
	out := []string{requestResource(u, false)}
	if lower := requestResource(u, true); lower != out[0] {
		out = append(out, lower)
	}
	if u.RawQuery != "" && StripQuery(u.RawQuery) == "" {
		n := len(out)
		for _, r := range out[:n] {
			out = append(out, r+"?")
		}
	}
	return out
}

// resourceMatches reports whether a custom policy's Resource pattern covers
// the request. Scheme and host compare case-insensitively, the rest exactly;
// '*' matches any run of characters (including none), '?' exactly one.
func resourceMatches(pattern string, u *url.URL) bool {
	return Match(lowerSchemeHost(pattern), requestResource(u, true))
}

// lowerSchemeHost lower-cases the "scheme://host" prefix of a pattern.
func lowerSchemeHost(p string) string {
	i := strings.Index(p, "://")
	if i < 0 {
		return p
	}
	end := i + 3
	if j := strings.IndexAny(p[end:], "/?"); j >= 0 {
		end += j
	} else {
		end = len(p)
	}
	return strings.ToLower(p[:end]) + p[end:]
}

// Match reports whether s matches a CloudFront-style pattern, byte by
// byte: '*' matches any run of bytes (including '/' and none) and '?'
// exactly one. The edge uses it for its path patterns too. It backtracks only to the last '*', so
// it runs in O(len(pattern)*len(s)) at worst.
func Match(pattern, s string) bool {
	p, i := 0, 0
	starP, starI := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			starP, starI = p, i
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case starP >= 0:
			starI++
			p, i = starP+1, starI
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
