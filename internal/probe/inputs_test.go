package probe

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestProbeRefusesPlaylistsInDisguise checks that a source that is secretly
// an HLS playlist or a concat list naming a local media file is refused
// with a clear reason, and that the file it names is never opened: it is a
// FIFO, whose writer learns when a reader opens it.
func TestProbeRefusesPlaylistsInDisguise(t *testing.T) {
	ts := ffmpeg(t, "seg.ts", args(testVideo, []string{"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts"})...)
	data, err := os.ReadFile(ts)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   func(target string) string
		reason string // prefix
	}{
		{"hls", func(target string) string {
			return fmt.Sprintf("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile://%s\n#EXT-X-ENDLIST\n", target)
		}, "the file is a playlist (hls), not a video or audio file"},
		{"concat", func(target string) string {
			return fmt.Sprintf("ffconcat version 1.0\nfile '%s'\n", target)
		}, "the file is a playlist (concat), not a video or audio file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fifo := filepath.Join(dir, "secret.ts")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			var opened, releasing atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // blocks until a reader opens it
				if err != nil {
					return
				}
				defer f.Close()
				if releasing.Load() {
					return // opened by the test's release, not by ffprobe
				}
				opened.Store(true)
				_, _ = f.Write(data)
			}()
			src := filepath.Join(dir, "clip.mp4")
			if err := os.WriteFile(src, []byte(tt.body(fifo)), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Probe(context.Background(), "ffprobe", src)
			// Release the writer whatever happened (ffprobe has exited).
			releasing.Store(true)
			if r, oerr := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); oerr == nil {
				_, _ = io.Copy(io.Discard, r) // until the writer closes
				<-done
				_ = r.Close()
			}
			if opened.Load() {
				t.Errorf("ffprobe opened the file the playlist names")
			}
			if err == nil {
				t.Fatalf("Probe = %+v, want an error", s)
			}
			if !IsPermanent(err) || !strings.HasPrefix(err.Error(), tt.reason) {
				t.Fatalf("error %q (permanent %v), want a permanent one starting %q", err, IsPermanent(err), tt.reason)
			}
		})
	}
}

func TestRefusedInput(t *testing.T) {
	t.Parallel()
	tests := []struct{ stderr, want string }{
		{"[hls @ 0x55d0c8] Format not on whitelist 'mov'\nfile:x: Invalid argument", "the file is a playlist (hls)"},
		{"[image2 @ 0x1] Format not on whitelist 'mov'", "the file's format (image2) is not one Osprey accepts"},
		{"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x2] Protocol 'http' not on whitelist 'file'!", "the file refers to other files or addresses (http)"},
		{"moov atom not found", ""},
	}
	for _, tt := range tests {
		if got := RefusedInput(tt.stderr); !strings.HasPrefix(got, tt.want) || (tt.want == "" && got != "") {
			t.Errorf("RefusedInput(%q) = %q, want it to start %q", tt.stderr, got, tt.want)
		}
	}
}

// TestInputArgs checks that every source is opened as a local file, with
// the whitelists before its -i, whatever its name looks like.
func TestInputArgs(t *testing.T) {
	tests := []struct{ path, input string }{
		{"/data/sources/a.mp4", "file:/data/sources/a.mp4"},
		{"/media/a:b.mp4", "file:/media/a:b.mp4"},
		{"http://example.com/x.mp4", "file:http://example.com/x.mp4"},
		{"file:/x.mp4", "file:file:/x.mp4"}, // a path, never a URL
	}
	for _, tt := range tests {
		got := InputArgs(tt.path)
		want := []string{"-protocol_whitelist", Protocols, "-format_whitelist", Formats, "-i", tt.input}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("InputArgs(%q) = %q, want %q", tt.path, got, want)
		}
	}
}
