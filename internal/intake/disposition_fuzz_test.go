package intake

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzFilenameFrom feeds a Content-Disposition header and a URL path to
// filenameFrom: whatever they hold, the name is a base name (no folder
// separators), valid UTF-8 without control characters, at most 255 bytes,
// never "." or "..", without surrounding spaces.
func FuzzFilenameFrom(f *testing.F) {
	f.Add(`attachment; filename="clip.mp4"`, "/videos/x.mp4")
	f.Add(`attachment; filename*=UTF-8''%E2%82%AC%20rates.mp4`, "/")
	f.Add(`attachment; filename="../../etc/passwd"`, "/a/b/")
	f.Add(`inline; filename="C:\\videos\\talk.mov"`, "")
	f.Add(`attachment; filename=".."`, "/..")
	f.Add(`attachment; filename="a\x00b\x7f\u202e.mp4"`, "/%2e%2e")
	f.Add(`attachment; filename="`+strings.Repeat("é", 200)+`"`, "/"+strings.Repeat("a", 300))
	f.Add(`form-data; name="file"; filename=" \t "`, "/ ")
	f.Fuzz(func(t *testing.T, disposition, path string) {
		got := filenameFrom(disposition, &url.URL{Path: path})
		checkName(t, got)
		checkName(t, cleanName(disposition))
	})
}

func checkName(t *testing.T, name string) {
	t.Helper()
	switch {
	case !utf8.ValidString(name):
		t.Fatalf("name %q is not UTF-8", name)
	case strings.ContainsAny(name, `/\`):
		t.Fatalf("name %q has a folder separator", name)
	case strings.ContainsFunc(name, unicode.IsControl):
		t.Fatalf("name %q has a control character", name)
	case len(name) > maxFilenameBytes:
		t.Fatalf("name is %d bytes long", len(name))
	case name == "." || name == "..":
		t.Fatalf("name %q", name)
	case name != strings.TrimSpace(name):
		t.Fatalf("name %q has surrounding spaces", name)
	}
}
