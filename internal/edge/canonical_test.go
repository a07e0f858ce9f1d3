package edge

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
)

// normalisingOrigin answers like an origin behind nginx (or most gateways):
// it percent-decodes the whole path, slashes included, turns backslashes
// into slashes, and cleans it (merge_slashes, dot segments) before routing.
// /vod/... is the secret content the edge must only serve signed.
func normalisingOrigin(t *testing.T) *testOrigin {
	return newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		if d, err := url.PathUnescape(p); err == nil {
			p = d
		}
		p = strings.ReplaceAll(p, `\`, "/")
		if i := strings.IndexByte(p, 0); i >= 0 {
			p = p[:i] // C strings end at NUL
		}
		p = strings.TrimRight(path.Clean("/"+p), ".") // and Windows drops trailing dots
		w.Header().Set("Cache-Control", "max-age=600")
		switch {
		case strings.HasPrefix(strings.ToLower(p), "/vod/"):
			w.Write([]byte("SECRET " + p))
		case strings.HasPrefix(p, "/live/"):
			w.Write([]byte("public " + p))
		default:
			http.NotFound(w, r)
		}
	})
}

// rawGet sends target exactly as given (no client-side cleaning) and
// returns the status and body.
func rawGet(t *testing.T, base, target string) (int, string, http.Header) {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: "+u.Host+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// The signed-URL bypass of issue 9: with /vod/* protected, no spelling of a
// /vod path reaches an origin that normalises paths without a signature.
func TestNonCanonicalPathsCannotBypassSignedURLs(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := signedurl.NewKeySet()
	if err := keys.Add("K1", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	origin := normalisingOrigin(t)
	te := newTestEdge(t, Config{Verifier: &signedurl.Verifier{Keys: keys}, RequireSigned: []string{"/vod/*"}}, origin.URL)

	tests := []struct {
		target string
		status int // 400: not canonical; 403: canonical, protected, unsigned
	}{
		{"/vod/a/1.m4s", 403},
		{"//vod/a/1.m4s", 400},
		{"/vod//a/1.m4s", 400},
		{"///vod/a/1.m4s", 400},
		{"/./vod/a/1.m4s", 400},
		{"/vod/./a/1.m4s", 400},
		{"/live/../vod/a/1.m4s", 400},
		{"/live/x/../../vod/a/1.m4s", 400},
		{"/live/..", 400},
		{"/live/.", 400},
		{"/%2e/vod/a/1.m4s", 400},
		{"/%2E%2E/vod/a/1.m4s", 400},
		{"/live/%2e%2e/vod/a/1.m4s", 400},
		{"/live/.%2e/vod/a/1.m4s", 400},
		{"/vod%2f../vod/a/1.m4s", 400},
		{"/live%2f..%2fvod/a/1.m4s", 400},
		{"/live%2F..%2Fvod%2Fa%2F1.m4s", 400},
		{"/live/..%2fvod/a/1.m4s", 400},
		{"/%76od/a/1.m4s", 403},     // an encoded letter is the same path: protected
		{"/%76%6F%64/a/1.m4s", 403}, // upper-case hex
		{"/%76%6f%64/a/1.m4s", 403}, // lower-case hex
		{"/VOD/a/1.m4s", 403},       // protection ignores case (case-insensitive origins)
		{"/live\\..\\vod/a/1.m4s", 400},
		{"/live%5c..%5cvod/a/1.m4s", 400},
		{"/live/x%00/../../vod/a/1.m4s", 400},
		{"/vod%00/a/1.m4s", 400},
		{"/live/%252e%252e/vod/a/1.m4s", 400}, // double encoding
		{"/live/..;/vod/a/1.m4s", 400},        // path parameters (Tomcat)
		{"/vod;x=1/a/1.m4s", 400},
		{"/vod./a/1.m4s", 400}, // trailing dots (Windows, IIS)
		{"/live/a/1.m4s.", 400},
		{"/live/.../vod/a/1.m4s", 400},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			status, body, h := rawGet(t, te.srv.URL, tt.target)
			if strings.Contains(body, "SECRET") {
				t.Fatalf("GET %s unsigned served the protected object (%d): %q", tt.target, status, body)
			}
			if status != tt.status {
				t.Fatalf("GET %s: status %d, want %d: %q", tt.target, status, tt.status, body)
			}
			if status == 400 && h.Get("Cache-Control") != "no-store" {
				t.Errorf("400 Cache-Control %q", h.Get("Cache-Control"))
			}
		})
	}
	if n := origin.hits("/vod/a/1.m4s"); n != 0 {
		t.Errorf("the origin was asked for /vod/a/1.m4s %d times", n)
	}
}

// A canonical public path is served, and its equivalent spellings share one
// cache entry and one origin URL.
func TestEquivalentSpellingsShareTheCanonicalPath(t *testing.T) {
	origin := normalisingOrigin(t)
	te := newTestEdge(t, Config{RequireSigned: nil}, origin.URL)
	for i, target := range []string{"/live/a/1.m4s", "/%6Cive/a/1.m4s", "/live/%61/1.m4s", "/live/a/%31.m4s"} {
		status, body, h := rawGet(t, te.srv.URL, target)
		if status != 200 || body != "public /live/a/1.m4s" {
			t.Fatalf("GET %s: %d %q", target, status, body)
		}
		if cs := h.Get("Cache-Status"); i > 0 && !strings.Contains(cs, "; hit") {
			t.Errorf("GET %s: Cache-Status %q, want a hit on the canonical entry", target, cs)
		}
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
	if n := origin.hits("/live/a/1.m4s"); n != 1 {
		t.Errorf("origin requests for the canonical path = %d, want 1", n)
	}
}

func TestCanonicalPath(t *testing.T) {
	tests := []struct {
		in, want string // want "" : refused
	}{
		{"/", "/"},
		{"/live/ch_1/index.m3u8", "/live/ch_1/index.m3u8"},
		{"/vod/a/", "/vod/a/"}, // a trailing slash is a path of its own
		{"/%76od/a", "/vod/a"},
		{"/vod/%7e%2D%5F", "/vod/~-_"},
		{"/vod/a%20b", "/vod/a%20b"},
		{"/vod/a%2cb", "/vod/a%2Cb"},
		{"/vod/%c3%a9", "/vod/%C3%A9"},
		{"/vod/a,b", "/vod/a,b"},
		{"/vod/.hidden", "/vod/.hidden"},
		{"/vod/a..b", "/vod/a..b"},
		{"", ""},
		{"vod/a", ""},
		{"*", ""},
		{"//vod/a", ""},
		{"/vod//a", ""},
		{"/vod/a//", ""},
		{"/.", ""},
		{"/..", ""},
		{"/vod/.", ""},
		{"/vod/..", ""},
		{"/vod/%2e", ""},
		{"/vod/%2E%2e", ""},
		{"/vod/.%2E/x", ""},
		{"/vod/a.", ""},
		{"/vod/a%2E", ""},
		{"/vod/...", ""},
		{"/vod%2fa", ""},
		{"/vod%2Fa", ""},
		{"/vod%5ca", ""},
		{"/vod\\a", ""},
		{"/vod%25", ""},
		{"/vod%252e", ""},
		{"/vod%00", ""},
		{"/vod%0a", ""},
		{"/vod%7f", ""},
		{"/vod;a", ""},
		{"/vod%3ba", ""},
		{"/vod\x00", ""},
		{"/vod\t", ""},
		{"/vod%", ""},
		{"/vod%4", ""},
		{"/vod%zz", ""},
	}
	for _, tt := range tests {
		got, err := canonicalPath(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("canonicalPath(%q) = %q, want refused", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("canonicalPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// The canonical request keeps the decoded Path and the escaped form in
// step, so that EscapedPath (used for the key and the origin URL) is the
// canonical path.
func TestCanonicalRequestURL(t *testing.T) {
	for _, target := range []string{"/live/a/1.m4s", "/%6Cive/a/1.m4s", "/live/a%2cb", "/live/a%20b", "/live/%C3%A9"} {
		r, err := http.NewRequest(http.MethodGet, "http://edge.test"+target+"?x=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := canonicalPath(r.URL.EscapedPath())
		if err != nil {
			t.Fatal(err)
		}
		cr, err := canonicalRequest(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := cr.URL.EscapedPath(); got != want {
			t.Errorf("%s: EscapedPath %q, want %q", target, got, want)
		}
		if cr.URL.RawQuery != "x=1" || r.URL.EscapedPath() != mustEscaped(t, target) {
			t.Errorf("%s: query %q, original request changed to %q", target, cr.URL.RawQuery, r.URL.EscapedPath())
		}
	}
}

func mustEscaped(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return u.EscapedPath()
}

func TestCanonicalPathEncodesRawBytes(t *testing.T) {
	for in, want := range map[string]string{
		"/a b":     "/a%20b",
		"/é":       "/%C3%A9",
		`/a"b`:     "/a%22b",
		"/[x]":     "/%5Bx%5D",
		"/a!$&'()": "/a!$&'()",
		"/a*+,=:@": "/a*+,=:@",
	} {
		got, err := canonicalPath(in)
		if err != nil || got != want {
			t.Errorf("canonicalPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// A pattern is matched against the decoded and the escaped canonical path:
// an escape of a reserved character cannot step around it.
func TestProtectedDecodedAndEscaped(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys := signedurl.NewKeySet()
	if err := keys.Add("K1", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	origin := normalisingOrigin(t)
	te := newTestEdge(t, Config{Verifier: &signedurl.Verifier{Keys: keys}, RequireSigned: []string{"/live/a+b/*", "/live/c%20d/*"}}, origin.URL)
	for _, target := range []string{"/live/a+b/1.m4s", "/live/a%2Bb/1.m4s", "/live/a%2bb/1.m4s", "/live/c%20d/1.m4s"} {
		if status, body, _ := rawGet(t, te.srv.URL, target); status != 403 {
			t.Errorf("GET %s unsigned: %d %q, want 403", target, status, body)
		}
	}
}
