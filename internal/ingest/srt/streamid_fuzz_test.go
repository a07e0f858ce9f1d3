package srt

import (
	"strings"
	"testing"
)

// Whatever stream id a caller sends, parseStreamID never panics, and
// returns either a non-empty key of at most maxKeyLen bytes taken from the
// stream id, or a refusal with an SRT rejection code and a message short
// enough to log.
func FuzzParseStreamID(f *testing.F) {
	for _, sid := range []string{
		"publish:" + testKey,
		"#!::r=" + testKey + ",m=publish",
		"#!::u=alice,m=publish,r=" + testKey,
		"#!::r=" + testKey,
		"#!::m=publish,r=",
		"#!::r=a,r=b,m=publish,m=request",
		"#!::=,,==,m",
		"read:" + testKey,
		"play:",
		"publish:" + strings.Repeat("k", 300),
		"",
		"#!:",
		"\x00\xff",
	} {
		f.Add(sid)
	}
	f.Fuzz(func(t *testing.T, sid string) {
		key, err := parseStreamID(sid)
		if err != nil {
			if key != "" {
				t.Fatalf("key %q returned with error %v", key, err)
			}
			if code := rejectReason(err); code < 1000 {
				t.Fatalf("rejection code %d is not an SRT rejection", code)
			}
			if n := len(err.Error()); n > 200 {
				t.Fatalf("refusal message of %d bytes", n)
			}
			return
		}
		if key == "" || len(key) > maxKeyLen {
			t.Fatalf("key of %d bytes accepted", len(key))
		}
		if !strings.Contains(sid, key) {
			t.Fatalf("key %q is not part of stream id %q", key, sid)
		}
	})
}
