package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// resolve makes ref absolute against base.
func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return b.ResolveReference(r).String()
}

func multivariant(t *testing.T, u string) *playlist.Multivariant {
	t.Helper()
	code, body := get(t, u)
	if code != 200 {
		t.Fatalf("GET %s: HTTP %d", u, code)
	}
	var m playlist.Multivariant
	if err := m.Unmarshal(body); err != nil {
		t.Fatalf("parsing multivariant playlist: %v\n%s", err, body)
	}
	return &m
}

func mediaPlaylist(t *testing.T, u string) (*playlist.Media, string) {
	t.Helper()
	code, body := get(t, u)
	if code != 200 {
		t.Fatalf("GET %s: HTTP %d", u, code)
	}
	var m playlist.Media
	if err := m.Unmarshal(body); err != nil {
		t.Fatalf("parsing media playlist %s: %v\n%s", u, err, body)
	}
	return &m, string(body)
}

// probed is what ffprobe says of a file.
type probed struct {
	Streams []struct {
		CodecType string `json:"codec_type"`
		CodecName string `json:"codec_name"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, input string, extra ...string) probed {
	t.Helper()
	args := append([]string{"-v", "error", "-print_format", "json", "-show_streams", "-show_format"}, extra...)
	args = append(args, input)
	out, err := exec.Command("ffprobe", args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("ffprobe %s: %v %s", input, err, stderr)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v", err)
	}
	return p
}

// decodes runs a full decode of a file and fails on any decoder error.
func decodes(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("decoding %s: %v %s", filepath.Base(path), err, out)
	}
}

// downloadRendition concatenates a rendition's init segment and its listed
// media segments into one fragmented MP4 file, as a player would feed them.
func downloadRendition(t *testing.T, playlistURL string, m *playlist.Media, dir string) string {
	t.Helper()
	if m.Map == nil {
		t.Fatalf("%s has no EXT-X-MAP", playlistURL)
	}
	var data []byte
	code, init := get(t, resolve(t, playlistURL, m.Map.URI))
	if code != 200 {
		t.Fatalf("init segment: HTTP %d", code)
	}
	data = append(data, init...)
	for _, s := range m.Segments {
		code, b := get(t, resolve(t, playlistURL, s.URI))
		if code != 200 {
			t.Fatalf("segment %s: HTTP %d", s.URI, code)
		}
		data = append(data, b...)
	}
	name := strings.ReplaceAll(strings.TrimPrefix(playlistURL, "http://"), "/", "_") + ".mp4"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
