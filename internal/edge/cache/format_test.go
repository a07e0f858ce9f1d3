package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"testing"
	"time"
)

func sampleMeta() Meta {
	return Meta{
		Key:                  "/vod/abc/seg-1.m4s",
		Status:               200,
		Header:               http.Header{"Content-Type": {"video/iso.segment"}, "Etag": {`"abc"`}, "X-Multi": {"a", "b"}},
		Size:                 5,
		Stored:               time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC),
		InitialAge:           3 * time.Second,
		Fresh:                time.Hour,
		StaleWhileRevalidate: time.Minute,
		StaleIfError:         10 * time.Minute,
	}
}

// encodeFile returns a whole entry file for m and body.
func encodeFile(t testing.TB, m Meta, body []byte) []byte {
	t.Helper()
	hdr, err := encodeHeader(&m)
	if err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

func TestHeaderRoundTrip(t *testing.T) {
	m := sampleMeta()
	file := encodeFile(t, m, []byte("hello"))
	got, off, err := decodeHeader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	assertMeta(t, got, m)
	if body := string(file[off:]); body != "hello" {
		t.Fatalf("body at offset %d = %q, want %q", off, body, "hello")
	}
}

func TestDecodeRejects(t *testing.T) {
	valid := encodeFile(t, sampleMeta(), nil)
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	// withHeader builds a file around a raw JSON header with a correct CRC.
	withHeader := func(json string) []byte {
		b := make([]byte, prefixLen, prefixLen+len(json))
		copy(b, fileMagic)
		b[4] = fileVersion
		binary.BigEndian.PutUint32(b[8:], uint32(len(json)))
		b = append(b, json...)
		binary.BigEndian.PutUint32(b[12:], crcOf(b[prefixLen:]))
		return b
	}
	tests := []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"short prefix", valid[:10]},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"future version", mutate(func(b []byte) []byte { b[4] = 2; return b })},
		{"reserved set", mutate(func(b []byte) []byte { b[6] = 1; return b })},
		{"zero header length", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 0); return b })},
		{"huge header length", mutate(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 1<<31); return b })},
		{"truncated header", valid[:len(valid)-3]},
		{"checksum mismatch", mutate(func(b []byte) []byte { b[prefixLen+2] ^= 1; return b })},
		{"not json", withHeader("hello world")},
		{"unknown field", withHeader(`{"key":"k","status":200,"size":0,"stored":"2025-01-01T00:00:00Z","extra":1}`)},
		{"trailing data", withHeader(`{"key":"k","status":200,"size":0,"stored":"2025-01-01T00:00:00Z"} {}`)},
		{"empty key", withHeader(`{"key":"","status":200,"size":0,"stored":"2025-01-01T00:00:00Z"}`)},
		{"negative size", withHeader(`{"key":"k","status":200,"size":-1,"stored":"2025-01-01T00:00:00Z"}`)},
		{"bad status", withHeader(`{"key":"k","status":1000,"size":0,"stored":"2025-01-01T00:00:00Z"}`)},
		{"no stored time", withHeader(`{"key":"k","status":200,"size":0}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeHeader(bytes.NewReader(tt.file))
			if !errors.Is(err, errFormat) {
				t.Fatalf("decodeHeader error = %v, want errFormat", err)
			}
		})
	}
	// The helper itself builds a decodable file.
	if _, _, err := decodeHeader(bytes.NewReader(withHeader(`{"key":"k","status":0,"size":0,"stored":"2025-01-01T00:00:00Z"}`))); err != nil {
		t.Fatalf("valid hand-built header rejected: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encodeFile(f, sampleMeta(), []byte("hello")))
	f.Add(encodeFile(f, Meta{Key: "k", Stored: time.Unix(1, 0)}, nil))
	f.Add([]byte(fileMagic + "\x01\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00{}"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, off, err := decodeHeader(bytes.NewReader(data))
		if err != nil {
			return
		}
		if off < prefixLen || off > int64(len(data)) {
			t.Fatalf("body offset %d outside [%d, %d]", off, prefixLen, len(data))
		}
		if m.Key == "" || m.Size < 0 {
			t.Fatalf("accepted invalid meta %+v", m)
		}
		// What decodes re-encodes to something that decodes the same.
		again, _, err := decodeHeader(bytes.NewReader(encodeFile(t, m, nil)))
		if err != nil {
			t.Fatalf("re-encoded header rejected: %v", err)
		}
		assertMeta(t, again, m)
	})
}
