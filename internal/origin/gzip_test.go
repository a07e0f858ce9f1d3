package origin

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func gunzip(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func varyHas(h http.Header, name string) bool {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return true
			}
		}
	}
	return false
}

func TestGzipManifests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	files := map[string]string{
		"/live/ch/720p/index.m3u8": strings.Repeat(livePlaylist, 20),
		"/live/ch/manifest.mpd":    staticMPD,
	}
	for p, data := range files {
		info := e.put(t, strings.TrimPrefix(p, "/"), data)
		identity := `"` + info.ETag + `"`

		plain := e.do("GET", p)
		wantStatus(t, plain, http.StatusOK)
		wantHeader(t, plain, "Content-Encoding", "")
		wantHeader(t, plain, "ETag", identity)
		if !varyHas(plain.Header(), "Accept-Encoding") {
			t.Errorf("%s: identity response lacks Vary: Accept-Encoding", p)
		}
		if plain.Body.String() != data {
			t.Errorf("%s: identity body differs from the stored bytes", p)
		}

		gz := e.do("GET", p, "Accept-Encoding", "gzip, deflate, br")
		wantStatus(t, gz, http.StatusOK)
		wantHeader(t, gz, "Content-Encoding", "gzip")
		wantHeader(t, gz, "ETag", `"`+info.ETag+`--gzip"`)
		if !varyHas(gz.Header(), "Accept-Encoding") {
			t.Errorf("%s: gzip response lacks Vary: Accept-Encoding", p)
		}
		if got := gunzip(t, gz.Body.Bytes()); got != data {
			t.Errorf("%s: gzip body decodes to %q, want the stored bytes", p, got)
		}

		// Conditional requests per representation.
		gzTag := gz.Header().Get("ETag")
		w := e.do("GET", p, "Accept-Encoding", "gzip", "If-None-Match", gzTag)
		wantStatus(t, w, http.StatusNotModified)
		wantHeader(t, w, "ETag", gzTag)
		if !varyHas(w.Header(), "Accept-Encoding") {
			t.Errorf("%s: 304 lacks Vary: Accept-Encoding", p)
		}
		// The gzip validator does not validate the identity representation.
		wantStatus(t, e.do("GET", p, "If-None-Match", gzTag), http.StatusOK)
		wantStatus(t, e.do("GET", p, "If-None-Match", identity), http.StatusNotModified)
		wantStatus(t, e.do("GET", p, "Accept-Encoding", "gzip", "If-None-Match", identity), http.StatusOK)

		// A range request gets identity bytes, exactly.
		r := e.do("GET", p, "Accept-Encoding", "gzip", "Range", "bytes=0-6")
		wantStatus(t, r, http.StatusPartialContent)
		wantHeader(t, r, "Content-Encoding", "")
		wantHeader(t, r, "ETag", identity)
		if r.Body.String() != data[:7] {
			t.Errorf("%s: range body %q, want %q", p, r.Body.String(), data[:7])
		}
	}
}

// TestGzipOverHTTP checks a real client decodes what the origin sends, and
// that compression actually shrinks a playlist.
func TestGzipOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, DefaultConfig())
	data := strings.Repeat(livePlaylist, 50)
	e.put(t, "live/ch/index.m3u8", data)
	srv := httptest.NewServer(e.o)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/live/ch/index.m3u8", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") != "gzip" || len(raw) >= len(data)/4 {
		t.Fatalf("Content-Encoding %q, %d bytes on the wire for %d", resp.Header.Get("Content-Encoding"), len(raw), len(data))
	}
	if got := gunzip(t, raw); got != data {
		t.Fatal("decoded body differs from the stored playlist")
	}
	if !slices.Contains(resp.Header.Values("Vary"), "Accept-Encoding") {
		t.Fatalf("Vary = %q", resp.Header.Values("Vary"))
	}
}
