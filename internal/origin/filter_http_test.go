package origin

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// heights lists the video heights a served manifest offers: RESOLUTION=WxH
// in HLS, height="H" in DASH.
var heightRE = regexp.MustCompile(`RESOLUTION=\d+x(\d+)|<Representation [^>]*height="(\d+)"`)

func heights(body string) []int {
	var out []int
	for _, m := range heightRE.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[1] + m[2])
		out = append(out, n)
	}
	return out
}

func filterEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	e := newEnv(t, cfg)
	e.put(t, "live/ch/index.m3u8", string(readFilterdata(t, "ladder4.m3u8")))
	e.put(t, "live/ch/manifest.mpd", string(readFilterdata(t, "ladder4.mpd")))
	e.put(t, "live/ch/s3/720p/index.m3u8", string(readFilterdata(t, "media.m3u8")))
	e.put(t, "vod/as/index.m3u8", string(readFilterdata(t, "vod.m3u8")))
	e.put(t, "vod/as/manifest.mpd", string(readFilterdata(t, "vod.mpd")))
	return e
}

// max_height=480 lists only renditions of at most 480 lines, on HLS and
// DASH, live and VoD, with the headers of the unfiltered manifest and a
// Content-Length and ETag of its own.
func TestServeFiltered(t *testing.T) {
	t.Parallel()
	e := filterEnv(t, DefaultConfig())
	for _, path := range []string{"/live/ch/index.m3u8", "/live/ch/manifest.mpd", "/vod/as/index.m3u8", "/vod/as/manifest.mpd"} {
		t.Run(path, func(t *testing.T) {
			full := e.do("GET", path)
			wantStatus(t, full, http.StatusOK)
			w := e.do("GET", path+"?max_height=480")
			wantStatus(t, w, http.StatusOK)
			body := w.Body.String()
			hs := heights(body)
			if len(hs) == 0 || len(hs) >= len(heights(full.Body.String())) {
				t.Fatalf("heights %v of %v", hs, heights(full.Body.String()))
			}
			for _, h := range hs {
				if h > 480 {
					t.Errorf("a %dp rendition is listed:\n%s", h, body)
				}
			}
			wantHeader(t, w, "Content-Length", strconv.Itoa(len(body)))
			for _, name := range []string{"Cache-Control", "Content-Type", "Vary", "Access-Control-Allow-Origin", "Last-Modified"} {
				wantHeader(t, w, name, full.Header().Get(name))
			}
			etag := w.Header().Get("ETag")
			if etag == "" || etag == full.Header().Get("ETag") {
				t.Errorf("ETag %q, unfiltered %q", etag, full.Header().Get("ETag"))
			}
			// One ETag per meaning: another spelling of the same filter
			// shares it, another filter does not.
			same := e.do("GET", path+"?min_height=0&token=x&max_height=480")
			if same.Header().Get("ETag") != etag || same.Body.String() != body {
				t.Errorf("same filter, other spelling: ETag %q", same.Header().Get("ETag"))
			}
			other := e.do("GET", path+"?max_height=720")
			if other.Header().Get("ETag") == etag || other.Body.String() == body {
				t.Error("max_height=720 has max_height=480's ETag or body")
			}
			// Conditional requests compare with the filtered ETag.
			wantStatus(t, e.do("GET", path+"?max_height=480", "If-None-Match", etag), http.StatusNotModified)
			wantStatus(t, e.do("GET", path+"?max_height=480", "If-None-Match", full.Header().Get("ETag")), http.StatusOK)
			// HEAD: the same headers, no body.
			head := e.do("HEAD", path+"?max_height=480")
			wantStatus(t, head, http.StatusOK)
			wantHeader(t, head, "ETag", etag)
			wantHeader(t, head, "Content-Length", strconv.Itoa(len(body)))
			// gzip: the same filtered manifest, compressed.
			gz := e.do("GET", path+"?max_height=480", "Accept-Encoding", "gzip")
			wantHeader(t, gz, "Content-Encoding", "gzip")
			wantHeader(t, gz, "ETag", strings.TrimSuffix(etag, `"`)+`--gzip"`)
			wantHeader(t, gz, "Content-Length", strconv.Itoa(gz.Body.Len()))
			zr, err := gzip.NewReader(gz.Body)
			if err != nil {
				t.Fatal(err)
			}
			if plain, _ := io.ReadAll(zr); string(plain) != body {
				t.Error("gzip body differs from the identity body")
			}
		})
	}
}

// Without filter parameters the stored bytes are served, with the stored
// ETag, whatever else the query holds; media playlists ignore filters.
func TestServeUnfiltered(t *testing.T) {
	t.Parallel()
	e := filterEnv(t, DefaultConfig())
	for _, tc := range []struct{ path, file string }{
		{"/live/ch/index.m3u8", "ladder4.m3u8"},
		{"/live/ch/manifest.mpd", "ladder4.mpd"},
		{"/vod/as/manifest.mpd", "vod.mpd"},
	} {
		stored := readFilterdata(t, tc.file)
		base := e.do("GET", tc.path)
		for _, q := range []string{"", "?token=abc", "?MAX_HEIGHT=1", "?aws.manifest=video_height:1-2"} {
			w := e.do("GET", tc.path+q)
			wantStatus(t, w, http.StatusOK)
			if !bytes.Equal(w.Body.Bytes(), stored) {
				t.Errorf("%s%s: body differs from the stored bytes", tc.path, q)
			}
			wantHeader(t, w, "ETag", base.Header().Get("ETag"))
		}
	}
	media := readFilterdata(t, "media.m3u8")
	for _, q := range []string{"?max_height=1", "?max_height=abc", "?aws.manifestfilter=foo:1"} {
		w := e.do("GET", "/live/ch/s3/720p/index.m3u8"+q)
		wantStatus(t, w, http.StatusOK)
		if !bytes.Equal(w.Body.Bytes(), media) {
			t.Errorf("media playlist%s: body differs", q)
		}
	}
}

// A filter that leaves no video, and a malformed parameter, are answered
// 400 with a message naming the cause, not cached.
func TestServeFilterErrors(t *testing.T) {
	t.Parallel()
	e := filterEnv(t, DefaultConfig())
	for _, path := range []string{"/live/ch/index.m3u8", "/live/ch/manifest.mpd", "/vod/as/index.m3u8", "/vod/as/manifest.mpd"} {
		for _, tc := range []struct{ query, msg string }{
			{"max_height=1", "the manifest filter leaves no video rendition"},
			{"aws.manifestfilter=video_height:1-2", "the manifest filter leaves no video rendition"},
			{"aws.manifestfilter=audio_language:xx", "the manifest filter leaves no audio rendition"},
			{"max_height=abc", `max_height: "abc" is not a whole number`},
			{"min_height=800&max_height=480", "min_height: 800 is greater than max_height 480"},
			{"max_fps=fast", "max_fps: "},
			{"codecs=xyz", `codecs: "xyz" is not a known video or audio codec`},
			{"aws.manifestfilter=foo:1", `aws.manifestfilter: unknown key "foo"`},
			{"aws.manifestfilter=video_height:720-1", "aws.manifestfilter video_height: "},
			{"max_height=480&max_height=720", "max_height: given more than once"},
		} {
			for _, method := range []string{"GET", "HEAD"} {
				w := e.do(method, path+"?"+tc.query)
				wantStatus(t, w, http.StatusBadRequest)
				wantHeader(t, w, "Cache-Control", ccError)
				wantHeader(t, w, "Content-Type", "text/plain; charset=utf-8")
				if method == "GET" && !strings.HasPrefix(w.Body.String(), tc.msg) {
					t.Errorf("%s?%s: message %q, want %q", path, tc.query, w.Body.String(), tc.msg)
				}
			}
		}
	}
	// A missing manifest is a 404 whatever the filter.
	wantStatus(t, e.do("GET", "/live/nope/index.m3u8?max_height=abc"), http.StatusNotFound)
}

// A filtered MPD still gets the public URL in its UTCTiming, and an ETag
// that names both.
func TestServeFilteredPublicURL(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.PublicURL = "https://video.example.com"
	e := filterEnv(t, cfg)
	w := e.do("GET", "/live/ch/manifest.mpd?max_height=480")
	wantStatus(t, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `value="https://video.example.com/time"`) {
		t.Errorf("UTCTiming not rewritten:\n%s", w.Body.String())
	}
	if hs := heights(w.Body.String()); len(hs) != 2 {
		t.Errorf("heights %v", hs)
	}
	full := e.do("GET", "/live/ch/manifest.mpd")
	if w.Header().Get("ETag") == full.Header().Get("ETag") {
		t.Error("filtered and unfiltered share an ETag")
	}
}

// The stored ETag is the base of the filtered one: a new manifest version
// gives a new filtered ETag.
func TestServeFilteredNewVersion(t *testing.T) {
	t.Parallel()
	e := filterEnv(t, DefaultConfig())
	before := e.do("GET", "/live/ch/index.m3u8?max_height=480").Header().Get("ETag")
	e.put(t, "live/ch/index.m3u8", strings.Replace(string(readFilterdata(t, "ladder4.m3u8")), "BANDWIDTH=928000", "BANDWIDTH=928001", 1))
	w := e.do("GET", "/live/ch/index.m3u8?max_height=480", "If-None-Match", before)
	wantStatus(t, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), "BANDWIDTH=928001") {
		t.Error("the new version is not served")
	}
}
