package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVODBadInputsFailClearly uploads files that are not usable video:
// each asset ends failed with a reason a person understands, and the
// queue goes on to the good file uploaded after them.
func TestVODBadInputsFailClearly(t *testing.T) {
	s := startOsprey(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := makeSource(t, dir, "good.mp4", vodSources()[0].args...)
	goodData, _ := os.ReadFile(good)
	withTC := makeSource(t, dir, "tc.mov", join(videoIn("320x240", 1), []string{"-timecode", "00:00:00:00", "-c:v", "libx264", "-preset", "ultrafast"})...)
	cases := []struct {
		name, path, reason string
	}{
		{"text named .mp4", write("notes.mp4", []byte("Dear diary, today I uploaded a text file.\n")), "not a video or audio file"},
		{"truncated MP4", write("cut.mp4", goodData[:len(goodData)/2]), "incomplete or damaged"},
		{"empty file", write("empty.mp4", nil), "the file is empty"},
		{"huge frame size", makeSource(t, dir, "wide.mp4", "-f", "lavfi", "-i", "color=c=blue:size=9000x16", "-frames:v", "1", "-c:v", "libx264", "-preset", "ultrafast"), "9000x16 is too large"},
		{"data track only", makeSource(t, dir, "data.mov", "-i", withTC, "-map", "0:d", "-c", "copy"), "no video or audio track"},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		code, a, raw := s.uploadMultipart(c.path, c.name)
		if code != http.StatusCreated {
			t.Fatalf("%s: upload: HTTP %d %s", c.name, code, raw)
		}
		ids[i] = a.ID
	}
	code, goodAsset, raw := s.uploadMultipart(good, "good after bad")
	if code != http.StatusCreated {
		t.Fatalf("good upload: HTTP %d %s", code, raw)
	}
	for i, c := range cases {
		a := s.waitAsset(ids[i], 60*time.Second)
		if a.Status != "failed" || !strings.Contains(a.Error, c.reason) {
			t.Errorf("%s: status %q error %q, want failed with %q", c.name, a.Status, a.Error, c.reason)
		}
		if a.Attempts != 1 {
			t.Errorf("%s: %d attempts; a file that cannot be processed is not retried", c.name, a.Attempts)
		}
		if left := filesUnder(t, filepath.Join(s.dataDir, "media", "vod", a.ID)); len(left) > 0 {
			t.Errorf("%s: outputs left behind: %v", c.name, left)
		}
		t.Logf("%s: %s", c.name, a.Error)
	}
	if a := s.waitAsset(goodAsset.ID, 60*time.Second); a.Status != "ready" {
		t.Errorf("the good file after the bad ones: %s (%s)", a.Status, a.Error)
	}
}

// TestVODAudioTracksAndSubtitles: a file with two audio languages gives two
// audio renditions, and an uploaded WebVTT file becomes a subtitle track in
// HLS and DASH, played by hls.js.
func TestVODAudioTracksAndSubtitles(t *testing.T) {
	s := startOsprey(t)
	dir := t.TempDir()
	path := makeSource(t, dir, "two-languages.mkv", join(videoIn("640x360", 6), toneIn(6),
		[]string{"-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000:duration=6",
			"-map", "0:v", "-map", "1:a", "-map", "2:a",
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
			"-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français"})...)
	code, a, raw := s.uploadMultipart(path, "")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	if a = s.waitAsset(a.ID, 60*time.Second); a.Status != "ready" {
		t.Fatalf("asset: %s (%s)", a.Status, a.Error)
	}
	vtt := "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nBonjour\n\n00:00:03.000 --> 00:00:06.000\nAu revoir\n"
	req, _ := http.NewRequest("POST", s.httpBase+"/api/v1/assets/"+a.ID+"/subtitles?language=fr&label=Fran%C3%A7ais", strings.NewReader(vtt))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "text/vtt")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("adding subtitles: HTTP %d", resp.StatusCode)
	}
	a = s.getAsset(a.ID)
	var langs []string
	for _, r := range a.Renditions {
		if r.Kind == "audio" {
			langs = append(langs, r.Language)
		}
	}
	if strings.Join(langs, ",") != "en,fr" && strings.Join(langs, ",") != "eng,fra" {
		t.Errorf("audio renditions' languages %v, want English and French", langs)
	}
	_, text := getBody(t, a.Playback.HLS)
	for _, want := range []string{`TYPE=AUDIO`, `TYPE=SUBTITLES`, `SUBTITLES="`} {
		if !strings.Contains(text, want) {
			t.Errorf("multivariant playlist lacks %s:\n%s", want, text)
		}
	}
	if strings.Count(text, "TYPE=AUDIO") != 2 {
		t.Errorf("multivariant playlist lists %d audio renditions, want 2:\n%s", strings.Count(text, "TYPE=AUDIO"), text)
	}
	_, mpd := getBody(t, a.Playback.DASH)
	if !strings.Contains(mpd, `text/vtt`) || strings.Count(mpd, `contentType="audio"`) != 2 {
		t.Errorf("MPD lacks the subtitle or an audio adaptation set:\n%s", mpd)
	}
	harness, _ := filepath.Abs("browser/play.mjs")
	out, err := exec.Command("node", harness, a.Playback.Player, "--engine", "hls", "--seconds", "3", "--timeout", "45").Output()
	if err != nil {
		t.Fatalf("hls.js playback: %v\n%s", err, out)
	}
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	code, b := get(t, url)
	return code, string(b)
}

// TestVODCLIUpload uploads with `osprey asset upload --wait` (tus) and reads
// the asset back with `osprey asset get` and `list`.
func TestVODCLIUpload(t *testing.T) {
	s := startOsprey(t)
	path := makeSource(t, t.TempDir(), "cli.mp4", vodSources()[0].args...)
	cli := func(args ...string) (string, error) {
		cmd := exec.Command(ospreyBin, args...)
		cmd.Env = append(os.Environ(), "OSPREY_ADMIN_TOKEN="+adminToken, "OSPREY_SERVER="+s.httpBase, "XDG_CACHE_HOME="+t.TempDir())
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), &cliError{err, string(ee.Stderr)}
		}
		return string(out), err
	}
	out, err := cli("asset", "upload", path, "--title", "From the CLI", "--wait", "--chunk-size", "1")
	if err != nil {
		t.Fatalf("asset upload: %v\n%s", err, out)
	}
	id := strings.TrimSpace(strings.Split(strings.TrimSpace(out), "\n")[0])
	if !strings.HasPrefix(id, "as_") {
		t.Fatalf("asset upload printed %q, want the asset id", out)
	}
	a := s.getAsset(id)
	if a.Status != "ready" || a.Title != "From the CLI" || a.Source.Origin != "tus" || a.UploadID == "" {
		t.Errorf("asset after --wait: %+v", a)
	}
	out, err = cli("asset", "get", id)
	if err != nil || !strings.Contains(out, "ready") {
		t.Errorf("asset get: %v\n%s", err, out)
	}
	out, err = cli("asset", "list")
	if err != nil || !strings.Contains(out, id) {
		t.Errorf("asset list: %v\n%s", err, out)
	}
}

type cliError struct {
	err    error
	stderr string
}

func (e *cliError) Error() string { return e.err.Error() + ": " + e.stderr }

// TestVODTusJSClient uploads with tus-js-client (the client Uppy uses), in
// chunks: any tus client works.
func TestVODTusJSClient(t *testing.T) {
	s := startOsprey(t)
	path := makeSource(t, t.TempDir(), "js.mp4", vodSources()[0].args...)
	script, _ := filepath.Abs("browser/tus-upload.mjs")
	out, err := exec.Command("node", script, s.httpBase+"/api/v1/uploads/", path, adminToken).Output()
	if err != nil {
		t.Fatalf("tus-js-client: %v\n%s", err, out)
	}
	var res struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK {
		t.Fatalf("tus-js-client: %s", out)
	}
	var list assetList
	waitFor(t, 10*time.Second, "the asset of the upload", func() bool {
		s.api("GET", "/api/v1/assets?upload_id="+filepath.Base(res.URL), nil, &list)
		return len(list.Items) == 1
	})
	if a := s.waitAsset(list.Items[0].ID, 60*time.Second); a.Status != "ready" || a.Title != "via tus-js-client" {
		t.Fatalf("asset: %s %q (%s)", a.Status, a.Title, a.Error)
	}
}
