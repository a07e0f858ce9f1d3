package origin

import (
	"bytes"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzRoute feeds arbitrary request targets to the router: it never
// panics, and a path it accepts maps into a mount's key prefix, with no
// empty, ".", ".." or hidden element, and a served media type.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{
		"/live/ch_1/index.m3u8", "/vod/a/720p/1.m4s", "/live/ch/state.json", "/live//x.m3u8", "/live/../vod/a.mpd",
		"/live/%2e%2e/x.m3u8", "/live/a%2fb.m4s", "/live/a%5cb.m4s", "/live/a%00.m4s", "/live/.hidden/x.m4s",
		"/live/a/b.M4S", "/vod/a/", "/live/a", "/other/a/b.m4s", "/live/a/b.mp4?x=1",
	} {
		f.Add(s)
	}
	o := New(nil, DefaultConfig(), nil)
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		key, mt, status := o.route(&http.Request{Method: http.MethodGet, URL: u})
		if status != http.StatusOK {
			if key != "" {
				t.Fatalf("%q: status %d with key %q", target, status, key)
			}
			return
		}
		if !strings.HasPrefix(key, "live/") && !strings.HasPrefix(key, "vod/") {
			t.Fatalf("%q: key %q outside the mounts", target, key)
		}
		for _, elem := range strings.Split(key, "/") {
			if elem == "" || elem == "." || elem == ".." || strings.HasPrefix(elem, ".") || strings.ContainsAny(elem, "\\\x00") {
				t.Fatalf("%q: key %q has element %q", target, key, elem)
			}
		}
		if got, ok := lookupType(path.Ext(key)); !ok || got != mt {
			t.Fatalf("%q: key %q served as %v", target, key, mt)
		}
	})
}

// FuzzMPD feeds arbitrary bodies and bases to the MPD inspection and
// UTCTiming rewriting: they never panic, an unchanged body is returned as
// is, and a rewrite only inserts the base.
func FuzzMPD(f *testing.F) {
	f.Add([]byte(liveMPD), "https://cdn.example")
	f.Add([]byte(staticMPD), "https://cdn.example")
	f.Add([]byte(`<MPD><UTCTiming value='/a /b //c http://d'/><UTCTiming value="/e"`), "https://x")
	f.Add([]byte(`<UTCTiming value=">`), "b")
	f.Add([]byte(`<MPD type=dynamic><UTCTimingX value="/a"/><UTCTiming value=""/>`), "")
	f.Fuzz(func(t *testing.T, body []byte, base string) {
		mpdIsStatic(body)
		in := bytes.Clone(body)
		out, changed := rewriteUTCTiming(body, base)
		if !bytes.Equal(body, in) {
			t.Fatal("the input was modified")
		}
		if !changed {
			if !bytes.Equal(out, body) {
				t.Fatal("unchanged, but a different body")
			}
			return
		}
		if base == "" {
			t.Fatal("rewritten with an empty base")
		}
		if !bytes.Contains(out, []byte(base)) {
			t.Fatalf("rewrite of %q with %q gave %q", body, base, out)
		}
	})
}
