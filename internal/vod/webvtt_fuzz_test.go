package vod

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzCheckWebVTT feeds checkWebVTT arbitrary subtitle files. What it
// accepts is UTF-8 that starts, after at most one byte order mark, with
// "WEBVTT" and then its end or white space; and any accepted file stays
// accepted with more cues appended (the check looks at the header only).
func FuzzCheckWebVTT(f *testing.F) {
	f.Add([]byte(testVTT))
	f.Add([]byte("\uFEFFWEBVTT - title\r\n"))
	f.Add([]byte("WEBVTT"))
	f.Add([]byte("WEBVTTX\n"))
	f.Add([]byte("WEBVTT\n\xff"))
	f.Add([]byte("1\n00:00:00,000 --> 00:00:01,000\nan SRT file\n"))
	f.Add([]byte("\uFEFF\uFEFFWEBVTT\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkWebVTT(b)
		if err == nil {
			body := bytes.TrimPrefix(b, []byte("\uFEFF"))
			if !utf8.Valid(b) || !bytes.HasPrefix(body, []byte("WEBVTT")) {
				t.Fatalf("accepted %q", b)
			}
			if rest := body[len("WEBVTT"):]; len(rest) > 0 && !bytes.ContainsAny(rest[:1], " \t\r\n") {
				t.Fatalf("accepted %q: the signature runs on", b)
			}
			more := append(bytes.Clone(b), "\n\n00:00:01.000 --> 00:00:02.000\nmore\n"...)
			if err := checkWebVTT(more); err != nil {
				t.Fatalf("accepted %q but not with a cue appended: %v", b, err)
			}
			return
		}
		if _, ok := err.(*InputError); !ok {
			t.Fatalf("error %T, want *InputError", err)
		}
	})
}
