package intake

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) // 400 bytes
	tests := map[string]string{
		"clip.mp4":              "clip.mp4",
		"../../etc/passwd":      "passwd",
		`C:\Users\me\talk.mov`:  "talk.mov",
		" spaced name.mkv ":     "spaced name.mkv",
		"tab\tand\nnewline.mp4": "tabandnewline.mp4",
		"..":                    "",
		"dir/":                  "",
		"bad\xffutf8.mp4":       "badutf8.mp4",
		long:                    strings.Repeat("é", 127),
	}
	for in, want := range tests {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	t.Parallel()
	tests := map[int64]string{0: "0 B", 1000: "1000 B", 1024: "1 KiB", 1536: "1.5 KiB", 20 << 30: "20 GiB", 5 << 40: "5 TiB"}
	for n, want := range tests {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
