package edge

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzCMCD feeds arbitrary CMCD lists (query argument and headers) to the
// parser: it never panics, keeps within its limits, yields each valid key
// once, and every value is valid JSON (it is written into the access log
// as is).
func FuzzCMCD(f *testing.F) {
	for _, s := range []string{
		`bl=21300,br=3200,bs,cid="faec5fc2-ac30-11ea-bb37-0242ac130002",d=4004,dl=18500,mtp=48100,nor="..%2F300kbps%2Fsegment35.m4v",ot=v,rtp=12000,sf=d,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",st=v,su,tb=6000`,
		`com.example-myNumericKey=500,com.examplemyStringKey="myStringValue"`,
		`sid="a,b\"c",br=-0.5,x=01,y=1.,z=.5`,
		`"=,,=,=,"`,
		`bl=1,bl=2`,
		`a="\\"`,
		``,
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, query, header string) {
		r := &http.Request{URL: &url.URL{RawQuery: "CMCD=" + url.QueryEscape(query)}, Header: http.Header{}}
		r.Header["Cmcd-Request"] = []string{header}
		fields := parseCMCD(r)
		if len(fields) > 2*maxCMCDFields {
			t.Fatalf("%d fields", len(fields))
		}
		seen := map[string]bool{}
		for _, fd := range fields {
			if !validCMCDKey(fd.key) || seen[fd.key] {
				t.Fatalf("key %q invalid or repeated", fd.key)
			}
			seen[fd.key] = true
			if !json.Valid(fd.value) {
				t.Fatalf("key %q: value %q is not JSON", fd.key, fd.value)
			}
		}
		if q := cmcdQueryRemoved("a=1&CMCD=" + url.QueryEscape(query) + "&b=2"); q != "a=1&b=2" {
			t.Fatalf("cmcdQueryRemoved left %q", q)
		}
	})
}

// FuzzDecide feeds arbitrary caching headers to the freshness decision:
// it never panics, lifetimes are never negative, and what the origin
// forbids (no-store, private, Set-Cookie, Vary: *) is never stored.
func FuzzDecide(f *testing.F) {
	f.Add(200, "public, max-age=31536000, immutable", "", "", "", "")
	f.Add(200, "s-maxage=5, max-age=60, stale-while-revalidate=30", "max-age=9", "", "", "Accept-Encoding")
	f.Add(404, "no-cache", "", "", "", "")
	f.Add(200, `private="x, y", max-age=5`, "", "", "", "")
	f.Add(200, "max-age=-1, max-age=99999999999999999999", "", "Thu, 01 Dec 1994 16:00:00 GMT", "Wed, 30 Nov 1994 16:00:00 GMT", "*")
	f.Add(301, "must-revalidate, stale-if-error=100", "", "0", "", "")
	e := &Edge{cfg: Config{NegativeTTL: time.Second, StaleIfError: time.Hour, StaleWhileRevalidate: time.Second}, ttl: DefaultTTLRules()}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, cc, cdnCC, expires, date, vary string) {
		h := http.Header{}
		for _, kv := range [][2]string{{"Cache-Control", cc}, {"CDN-Cache-Control", cdnCC}, {"Expires", expires}, {"Date", date}, {"Vary", vary}} {
			if kv[1] != "" {
				h.Set(kv[0], kv[1])
			}
		}
		fr := e.decide("/live/a/index.m3u8", status, h, now)
		if fr.fresh < 0 || fr.swr < 0 || fr.sie < 0 {
			t.Fatalf("negative lifetime %+v", fr)
		}
		if !fr.store {
			return
		}
		used := cc
		if cdnCC != "" {
			used = cdnCC
		}
		d := parseDirectives([]string{used})
		if d.has("no-store") || d.has("private") {
			t.Fatalf("stored despite %q", used)
		}
		for _, name := range varyNames(h) {
			if name == "*" {
				t.Fatalf("stored despite Vary %q", vary)
			}
		}
		if ok, _ := cacheableStatus(status); !ok {
			t.Fatalf("status %d stored", status)
		}
	})
}

// FuzzCacheKey feeds arbitrary request paths and queries to the
// canonicaliser and the cache key: a canonical path is a fixed point, has
// no empty, "." or ".." segment and no encoded slash, backslash, percent
// sign or NUL, and is the path part of the request's cache key.
func FuzzCacheKey(f *testing.F) {
	for _, p := range []string{
		"/live/ch_1/index.m3u8", "//vod/a", "/./vod", "/live/../vod/a", "/%2e/vod", "/vod%2f..", "/%76od/",
		"/vod/%C3%A9", "/vod/a%2cb", "/a\\b", "/a;b", "/a.", "/%00", "/%", "/vod/a/", "vod",
	} {
		f.Add(p, "b=2&a=1&Signature=x&CMCD=bl%3D1")
	}
	e := &Edge{keyQuery: map[string]bool{"a": true, "b": true, "v": true}}
	f.Fuzz(func(t *testing.T, p, query string) {
		c, err := canonicalPath(p)
		if err != nil {
			return
		}
		if again, err := canonicalPath(c); err != nil || again != c {
			t.Fatalf("canonicalPath(%q) = %q, but canonicalPath(%q) = %q, %v", p, c, c, again, err)
		}
		lower := strings.ToLower(c)
		if !strings.HasPrefix(c, "/") || strings.Contains(c, "//") || strings.Contains(c+"/", "/./") ||
			strings.Contains(c+"/", "/../") || strings.Contains(c+"/", "./") {
			t.Fatalf("canonicalPath(%q) = %q", p, c)
		}
		for _, bad := range []string{"%2f", "%5c", "%25", "%00", "%2e", "\\", ";"} {
			if strings.Contains(lower, bad) {
				t.Fatalf("canonicalPath(%q) = %q holds %q", p, c, bad)
			}
		}
		decoded, err := url.PathUnescape(c)
		if err != nil {
			t.Fatalf("canonicalPath(%q) = %q does not decode: %v", p, c, err)
		}
		u := &url.URL{Path: decoded, RawPath: c, RawQuery: query}
		r := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		cr, err := canonicalRequest(r)
		if err != nil || cr.URL.EscapedPath() != c {
			t.Fatalf("canonicalRequest(%q): %v, %q", c, err, cr.URL.EscapedPath())
		}
		key, fwd := e.cacheKey(cr)
		if keyPath(key) != c {
			t.Fatalf("key %q of %q has path %q", key, c, keyPath(key))
		}
		if fwd != "" && key != c+"?"+fwd {
			t.Fatalf("key %q, forwarded query %q", key, fwd)
		}
		vals, err := url.ParseQuery(fwd)
		if err != nil {
			t.Fatalf("forwarded query %q: %v", fwd, err)
		}
		for name := range vals {
			if !e.keyQuery[name] {
				t.Fatalf("forwarded query %q keeps the unlisted parameter %q", fwd, name)
			}
		}
	})
}
