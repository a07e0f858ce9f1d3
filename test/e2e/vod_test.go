package e2e

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vodSource is one kind of file users upload.
type vodSource struct {
	name     string
	file     string
	args     []string
	portrait bool
	audio    bool // audio only
}

func vodSources() []vodSource {
	const secs = 6
	return []vodSource{
		{name: "h264-aac-mp4", file: "h264.mp4", args: join(videoIn("640x360", secs), toneIn(secs),
			[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})},
		{name: "hevc-mkv", file: "hevc.mkv", args: join(videoIn("640x360", secs), toneIn(secs),
			[]string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})},
		{name: "vp9-opus-webm", file: "vp9.webm", args: join(videoIn("640x360", secs), toneIn(secs),
			[]string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "500k", "-c:a", "libopus", "-shortest"})},
		{name: "audio-only-m4a", file: "audio.m4a", audio: true, args: join(toneIn(secs), []string{"-c:a", "aac"})},
		{name: "portrait-rotated-mp4", file: "portrait.mp4", portrait: true, args: join(videoIn("640x360", secs), toneIn(secs),
			[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})},
	}
}

// TestVODSourcesOfEveryKind uploads one file of each kind, waits for the
// assets, and checks that every output decodes, lasts as long as the source,
// has the right shape, and plays in Chromium.
func TestVODSourcesOfEveryKind(t *testing.T) {
	s := startOsprey(t)
	dir := t.TempDir()
	ids := map[string]string{}
	for _, src := range vodSources() {
		path := makeSource(t, dir, src.file, src.args...)
		if src.portrait {
			// ffmpeg 5.1 writes the rotation only when stream-copying.
			path = makeSource(t, dir, "rotated-"+src.file, "-i", path, "-c", "copy", "-metadata:s:v:0", "rotate=90")
		}
		code, a, raw := s.uploadMultipart(path, src.name)
		if code != http.StatusCreated {
			t.Fatalf("%s: upload: HTTP %d %s", src.name, code, raw)
		}
		if a.Status != "queued" && a.Status != "processing" {
			t.Errorf("%s: new asset status %q", src.name, a.Status)
		}
		ids[src.name] = a.ID
	}
	for _, src := range vodSources() {
		t.Run(src.name, func(t *testing.T) {
			a := s.waitAsset(ids[src.name], 120*time.Second)
			if a.Status != "ready" {
				t.Fatalf("asset %s: %s (%s)", a.ID, a.Status, a.Error)
			}
			if math.Abs(a.Duration-6) > 0.3 {
				t.Errorf("asset duration %.3f s, source lasts 6 s", a.Duration)
			}
			checkVODOutputs(t, s, a, src)
		})
	}
	t.Run("browser", func(t *testing.T) {
		harness, err := filepath.Abs("browser/play.mjs")
		if err != nil {
			t.Fatal(err)
		}
		a := s.getAsset(ids["h264-aac-mp4"])
		for _, engine := range []string{"hls", "dash"} {
			out, err := exec.Command("node", harness, a.Playback.Player, "--engine", engine, "--seconds", "3", "--timeout", "45").Output()
			if err != nil {
				t.Fatalf("%s playback of %s failed: %v\n%s", engine, a.Playback.Player, err, out)
			}
			t.Logf("%s: %s", engine, out)
		}
	})
}

// checkVODOutputs checks one ready asset's HLS, DASH and thumbnails.
func checkVODOutputs(t *testing.T, s *server, a asset, src vodSource) {
	t.Helper()
	if a.Playback.HLS == "" || a.Playback.DASH == "" || a.Playback.Player == "" {
		t.Fatalf("playback URLs missing: %+v", a.Playback)
	}
	mv := multivariant(t, a.Playback.HLS)
	if len(mv.Variants) == 0 {
		t.Fatal("multivariant playlist lists no variant")
	}
	var videos, audios int
	for _, r := range a.Renditions {
		switch r.Kind {
		case "video":
			videos++
			if src.portrait && r.Width >= r.Height {
				t.Errorf("portrait source gave rendition %s %dx%d", r.Name, r.Width, r.Height)
			}
			if !src.portrait && r.Width <= r.Height {
				t.Errorf("landscape source gave rendition %s %dx%d", r.Name, r.Width, r.Height)
			}
			if max(r.Width, r.Height) > 640 {
				t.Errorf("rendition %s %dx%d is larger than the 640x360 source", r.Name, r.Width, r.Height)
			}
		case "audio":
			audios++
		}
	}
	if src.audio && (videos != 0 || audios != 1) {
		t.Errorf("audio-only source: %d video and %d audio renditions", videos, audios)
	}
	if !src.audio && (videos == 0 || audios != 1) {
		t.Errorf("video source: %d video and %d audio renditions", videos, audios)
	}

	// Every media playlist is VOD, ends, decodes and lasts as long as the source.
	tmp := t.TempDir()
	playlists := map[string]bool{}
	for _, v := range mv.Variants {
		playlists[resolve(t, a.Playback.HLS, v.URI)] = true
	}
	for _, r := range mv.Renditions {
		if r.URI != nil && *r.URI != "" {
			playlists[resolve(t, a.Playback.HLS, *r.URI)] = true
		}
	}
	for u := range playlists {
		m, text := mediaPlaylist(t, u)
		if !strings.Contains(text, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(text, "#EXT-X-ENDLIST") {
			t.Errorf("%s is not a VOD playlist:\n%s", u, text)
		}
		var sum float64
		for _, seg := range m.Segments {
			sum += seg.Duration.Seconds()
		}
		if math.Abs(sum-6) > 0.3 {
			t.Errorf("%s: segments add up to %.3f s, source lasts 6 s", u, sum)
		}
		file := downloadRendition(t, u, m, tmp)
		decodes(t, file)
	}
	if d := mediaDuration(t, a.Playback.HLS); math.Abs(d-6) > 0.3 {
		t.Errorf("ffprobe reads %.3f s from the HLS stream", d)
	}
	code, mpd := get(t, a.Playback.DASH)
	if code != 200 || !strings.Contains(string(mpd), `type="static"`) {
		t.Errorf("MPD: HTTP %d, static=%v", code, strings.Contains(string(mpd), `type="static"`))
	}
	if d := mediaDuration(t, a.Playback.DASH); math.Abs(d-6) > 0.3 {
		t.Errorf("ffprobe reads %.3f s from the DASH stream", d)
	}

	if src.audio {
		if a.Thumbnails.Poster != "" || a.Thumbnails.VTT != "" {
			t.Errorf("audio-only asset has thumbnails: %+v", a.Thumbnails)
		}
		return
	}
	code, poster := get(t, a.Thumbnails.Poster)
	if code != 200 || len(poster) < 100 || poster[0] != 0xFF || poster[1] != 0xD8 {
		t.Errorf("poster %s: HTTP %d, %d bytes, not a JPEG", a.Thumbnails.Poster, code, len(poster))
	}
	code, vtt := get(t, a.Thumbnails.VTT)
	if code != 200 || !strings.HasPrefix(string(vtt), "WEBVTT") || !strings.Contains(string(vtt), "#xywh=") {
		t.Errorf("thumbnails track %s: HTTP %d:\n%s", a.Thumbnails.VTT, code, vtt)
	}
	for _, line := range strings.Split(string(vtt), "\n") {
		if i := strings.Index(line, "#xywh="); i > 0 {
			if code, _ := get(t, resolve(t, a.Thumbnails.VTT, line[:i])); code != 200 {
				t.Errorf("sprite %s: HTTP %d", line[:i], code)
			}
			break
		}
	}
}

// TestVODDeleteRemovesEverything deletes a ready asset and checks that no
// stored object of it is left.
func TestVODDeleteRemovesEverything(t *testing.T) {
	s := startOsprey(t)
	src := vodSources()[0]
	path := makeSource(t, t.TempDir(), src.file, src.args...)
	code, a, raw := s.uploadMultipart(path, "")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	if a.Title != "h264" {
		t.Errorf("title %q, want the file name without extension", a.Title)
	}
	if a = s.waitAsset(a.ID, 60*time.Second); a.Status != "ready" {
		t.Fatalf("asset %s: %s", a.Status, a.Error)
	}
	for _, d := range []string{"vod", "sources"} {
		if _, err := os.Stat(filepath.Join(s.dataDir, "media", d, a.ID)); err != nil {
			t.Fatalf("before delete: %v", err)
		}
	}
	if code := s.api("DELETE", "/api/v1/assets/"+a.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: HTTP %d", code)
	}
	for _, d := range []string{"vod", "sources"} {
		left := filesUnder(t, filepath.Join(s.dataDir, "media", d, a.ID))
		if len(left) > 0 {
			t.Errorf("after delete, %s/%s still holds %v", d, a.ID, left)
		}
	}
	if code := s.api("GET", "/api/v1/assets/"+a.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("GET after delete: HTTP %d", code)
	}
	if code, _ := get(t, a.Playback.HLS); code != http.StatusNotFound {
		t.Errorf("HLS after delete: HTTP %d", code)
	}
}

// filesUnder lists the regular files under dir (none if it does not exist).
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// TestVODRequiresToken refuses asset and upload requests without a valid token.
func TestVODRequiresToken(t *testing.T) {
	s := startOsprey(t)
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/api/v1/assets", ""},
		{"GET", "/api/v1/assets", "wrong"},
		{"POST", "/api/v1/assets", ""},
		{"POST", "/api/v1/uploads/", ""},
		{"POST", "/api/v1/uploads/", "wrong"},
		{"DELETE", "/api/v1/assets/as_x", ""},
		{"POST", "/api/v1/webhooks", ""},
	} {
		req, _ := http.NewRequest(c.method, s.httpBase+c.path, strings.NewReader("{}"))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", "10")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s with token %q: HTTP %d, want 401 or 403", c.method, c.path, c.token, resp.StatusCode)
		}
	}
}

// TestVODSourceURLRefusesPrivateAddresses: pulling from loopback is an SSRF
// vector and refused by default.
func TestVODSourceURLRefusesPrivateAddresses(t *testing.T) {
	s := startOsprey(t)
	for _, u := range []string{s.httpBase + "/healthz", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.mp4"} {
		var out map[string]any
		code := s.api("POST", "/api/v1/assets", map[string]string{"source_url": u}, &out)
		if code < 400 || code >= 500 {
			t.Errorf("source_url %s: HTTP %d, want a 4xx refusal", u, code)
		}
		msg, _ := json.Marshal(out)
		if !strings.Contains(strings.ToLower(string(msg)), "private") && !strings.Contains(strings.ToLower(string(msg)), "loopback") &&
			!strings.Contains(strings.ToLower(string(msg)), "not allowed") {
			t.Errorf("source_url %s: unclear refusal %s", u, msg)
		}
	}
	var list assetList
	s.api("GET", "/api/v1/assets", nil, &list)
	if len(list.Items) != 0 {
		t.Errorf("refused pulls created %d assets", len(list.Items))
	}
}
