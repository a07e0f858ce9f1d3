package edge

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// The edge works on one canonical form of each request path: it decides
// protection (signed URLs), the cache key and the origin URL from it, so
// that no other spelling of a protected path can reach an origin that
// normalises paths itself (nginx's merge_slashes and dot-segment removal,
// gateways that decode %2F, Tomcat's ";" parameters, Windows' trailing
// dots) and be served there without a signature.
//
// Two kinds of difference are told apart:
//
//   - Spellings that mean the same URL under every reading (RFC 3986
//     §6.2.2: a percent-encoded letter, digit or "-._~", lower-case hex in
//     an escape) are normalised: /%76od/a is /vod/a, and is served (and
//     protected, and cached) as /vod/a.
//   - Forms whose meaning depends on who reads them are refused with 400:
//     empty segments ("//"), "." and ".." segments (also encoded), segments
//     ending in a dot, encoded "/", "\" and "%", a backslash, ";", NUL and
//     other control characters. A redirect to a cleaned form would pick
//     one reading among several (and be cached by browsers); players never
//     send these forms (URL resolution removes dot segments), so refusing
//     them costs nothing.
//
// Bytes a path cannot hold as they are (a space, a quote, a non-ASCII
// byte) are percent-encoded, so that the canonical path is a valid escaped
// path.
//
// The result is idempotent: canonicalPath of a canonical path returns it
// unchanged, and a canonical path never holds "//", a "." or ".." segment,
// or an escape of an unreserved character.

// errNonCanonical is the reason given with the 400.
var errNonCanonical = errors.New("non-canonical path")

// pathError says what is wrong with a path.
type pathError struct{ why string }

func (e *pathError) Error() string { return "non-canonical path: " + e.why }
func (e *pathError) Unwrap() error { return errNonCanonical }

// canonicalPath returns the canonical escaped form of an escaped request
// path, or an error when the path must be refused.
func canonicalPath(escaped string) (string, error) {
	if escaped == "" || escaped[0] != '/' {
		return "", &pathError{"it must start with /"}
	}
	if isPlainCanonical(escaped) {
		return escaped, nil // the common case: nothing to decode or check further
	}
	var b strings.Builder
	b.Grow(len(escaped))
	for i := 0; i < len(escaped); i++ {
		c := escaped[i]
		switch {
		case c == '%':
			if i+2 >= len(escaped) || !isHex(escaped[i+1]) || !isHex(escaped[i+2]) {
				return "", &pathError{"malformed percent-encoding"}
			}
			d := unhex(escaped[i+1])<<4 | unhex(escaped[i+2])
			i += 2
			switch {
			case isUnreserved(d):
				b.WriteByte(d)
			case d == '/' || d == '\\' || d == '%' || d == ';' || d < 0x20 || d == 0x7f:
				return "", &pathError{"encoded " + describe(d)}
			default:
				b.WriteByte('%')
				b.WriteByte(upperHex[d>>4])
				b.WriteByte(upperHex[d&15])
			}
		case c == '\\' || c == ';' || c < 0x20 || c == 0x7f:
			return "", &pathError{describe(c)}
		case !rawOK(c):
			// A byte a path cannot hold as is (a space, a quote,
			// non-ASCII): its escape is the canonical form.
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	p := b.String()
	if err := checkSegments(p); err != nil {
		return "", err
	}
	return p, nil
}

const upperHex = "0123456789ABCDEF"

// rawOK reports whether a path holds c as is in canonical form: "/", the
// unreserved characters and the sub-delimiters, ":" and "@" (RFC 3986
// pchar), ";" aside (refused).
func rawOK(c byte) bool {
	return isUnreserved(c) || c == '/' || strings.IndexByte("!$&'()*+,=:@", c) >= 0
}

// isPlainCanonical reports, without allocating, whether p has no escape
// and no byte that needs a closer look, and passes checkSegments.
func isPlainCanonical(p string) bool {
	for i := 0; i < len(p); i++ {
		if !rawOK(p[i]) {
			return false
		}
	}
	return checkSegments(p) == nil
}

// checkSegments refuses empty segments (a trailing slash aside), and
// segments that end in a dot: ".", "..", "..." and "name." (which Windows
// servers read as "name").
func checkSegments(p string) error {
	rest := p[1:]
	for rest != "" {
		seg, after, more := strings.Cut(rest, "/")
		switch {
		case seg == "" && more:
			return &pathError{"empty segment (//)"}
		case seg == "." || seg == "..":
			return &pathError{"dot segment"}
		case strings.HasSuffix(seg, "."):
			return &pathError{"segment ending in a dot"}
		}
		rest = after
	}
	return nil
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

func describe(c byte) string {
	switch c {
	case '/':
		return "slash"
	case '\\':
		return "backslash"
	case '%':
		return "percent sign"
	case ';':
		return "semicolon"
	case 0:
		return "NUL"
	}
	if c >= 0x80 {
		return "non-ASCII byte"
	}
	return "control character"
}

// canonicalRequest returns r with its URL's path in canonical form: r
// itself when it already is, else a shallow copy with a new URL.
func canonicalRequest(r *http.Request) (*http.Request, error) {
	escaped := r.URL.EscapedPath()
	p, err := canonicalPath(escaped)
	if err != nil {
		return nil, err
	}
	if p == escaped {
		return r, nil
	}
	decoded, err := url.PathUnescape(p)
	if err != nil {
		return nil, &pathError{"malformed percent-encoding"}
	}
	u := *r.URL
	u.Path, u.RawPath = decoded, ""
	if u.EscapedPath() != p {
		u.RawPath = p // escapes the default encoding would not make
	}
	r2 := r.WithContext(r.Context())
	r2.URL = &u
	return r2, nil
}

// rejectPath answers 400 to a request whose path is not canonical.
func (e *Edge) rejectPath(w http.ResponseWriter, r *http.Request, err error) {
	rec := e.begin(w, r)
	defer e.end(rec)
	rec.cache = statusRejected
	rec.detail = err.Error()
	h := rec.Header()
	h.Set("Cache-Control", "no-store")
	e.addTrace(h, e.cfg.Name+"; detail=non-canonical-path")
	http.Error(rec, "400 Bad Request: "+err.Error(), http.StatusBadRequest)
}
