package config

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzLoad decodes arbitrary YAML onto the defaults the way Load does and
// validates the result: neither may panic, and a decoded file keeps the
// built-in ladders.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"", "# comment\n", "http: 127.0.0.1:9090\nrtmp: \"\"\n",
		"live:\n  segment_duration: 4s\n  window: -1\n",
		"vod:\n  max_source_size: -5\n  ladder: nope\n",
		"ladders:\n  mine:\n    video:\n      - {name: a, height: 0, bitrate: -1}\n",
		"ladders: null\n", "edge:\n  enabled: true\n  cache_memory: 1KiB\n  ttl: ['*.m3u8=1s', 'x=', '=']\n",
		"edge:\n  origin_headers: ['X: y', ':']\n  max_object_size: 18EiB\n",
		"webhooks:\n  allow_private_urls: true\n", "---\na: 1\n---\n", "unknown: 1\n", "http: [1, 2]\n",
		"ladders:\n  default: &a {video: *a}\n", "vod: {segment_duration: 1}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Default()
		if err := decode(data, &cfg); err != nil {
			return
		}
		for _, name := range []string{LadderDefault, LadderLow, LadderPassthrough} {
			if _, ok := cfg.Ladders[name]; !ok {
				t.Fatalf("ladder %q missing after decoding %q", name, data)
			}
		}
		_ = cfg.Validate()
		edge := cfg.Edge
		_ = edge.Validate("", true)
	})
}

// FuzzValidate sets arbitrary values on the fields most likely to trip
// arithmetic or parsing in Validate.
func FuzzValidate(f *testing.F) {
	f.Add("127.0.0.1:0", ":1935", "", "https://x", "info", "text", "*.m3u8=1s", "X: y", int64(4e9), 0, int64(-1))
	f.Add("", "[::1]:99999", ":x", "ftp://", "LOUD", "xml", "=", ":", int64(-1), -5, int64(1<<62))
	f.Fuzz(func(t *testing.T, httpAddr, rtmp, srt, public, level, format, ttl, header string, dur int64, n int, size int64) {
		cfg := Default()
		cfg.HTTPAddr, cfg.RTMPAddr, cfg.SRTAddr, cfg.PublicURL = httpAddr, rtmp, srt, public
		cfg.LogLevel, cfg.LogFormat, cfg.CORSOrigin = level, format, public
		cfg.Origin.RequireHeader = header
		cfg.Edge.TTL = []string{ttl}
		cfg.Edge.OriginHeaders = []string{header}
		cfg.Edge.Origins = []string{public}
		cfg.Edge.CacheMemory, cfg.Edge.CacheDisk, cfg.Edge.MaxObjectSize = ByteSize(size), ByteSize(-size), ByteSize(size)
		cfg.VOD.Concurrency, cfg.VOD.MaxAttempts, cfg.VOD.MaxSourceSize = n, -n, size
		cfg.VOD.SegmentDuration = time.Duration(dur)
		cfg.Live.SegmentDuration = time.Duration(-dur)
		l := cfg.Ladders[LadderDefault]
		l.Video = append(l.Video, VideoRung{Name: ttl, Height: n, Bitrate: n, MaxBitrate: -n, MaxFPS: n})
		cfg.Ladders[header] = l
		_ = cfg.Validate()
		_ = cfg.Edge.Validate("edge.", true)
	})
}

// FuzzParseTTLRule: a rule that parses has a non-negative TTL, a pattern
// starting with / or *, and is the pattern, "=" and the duration text.
func FuzzParseTTLRule(f *testing.F) {
	for _, s := range []string{"*.m3u8=1s", "/vod/*=24h", "=1s", "x=1s", "/a=b=1s", "/a=-1s", "/a=", "*=0", "/a=9999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rule string) {
		pattern, ttl, err := ParseTTLRule(rule)
		if err != nil {
			return
		}
		if ttl < 0 || (!strings.HasPrefix(pattern, "/") && !strings.HasPrefix(pattern, "*")) || !strings.HasPrefix(rule, pattern+"=") {
			t.Fatalf("ParseTTLRule(%q) = %q, %v", rule, pattern, ttl)
		}
	})
}

// FuzzParseHeaderLine: a line that parses gives a canonical name without
// blanks and a value without line breaks, and parses to itself again.
func FuzzParseHeaderLine(f *testing.F) {
	for _, s := range []string{"X-Osprey-CDN-Identifier: s3cret", "a:b", ":x", "x", "A B: c", "x: a\r\nb", " x-y :  z ", "x: y: z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		name, value, err := ParseHeaderLine(line)
		if err != nil {
			return
		}
		if name == "" || strings.ContainsAny(name, " \t\r\n:") || strings.ContainsAny(value, "\r\n") || name != http.CanonicalHeaderKey(name) {
			t.Fatalf("ParseHeaderLine(%q) = %q, %q", line, name, value)
		}
		n2, v2, err := ParseHeaderLine(name + ": " + value)
		if err != nil || n2 != name || v2 != value {
			t.Fatalf("ParseHeaderLine(%q) = %q, %q, re-parsed as %q, %q, %v", line, name, value, n2, v2, err)
		}
	})
}

// FuzzByteSize: a size that parses is between 0 and 2^62 bytes, and its
// String form parses again to within the rounding of one decimal place.
func FuzzByteSize(f *testing.F) {
	for _, s := range []string{"512MiB", "10GB", "1048576", "0", "-1", "1.5 KiB", "18EiB", "4EiB", "1e3", " 7 kb ", "NaN", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var b ByteSize
		if err := b.UnmarshalText([]byte(text)); err != nil {
			return
		}
		if b < 0 || b > 1<<62 {
			t.Fatalf("%q parsed to %d", text, int64(b))
		}
		var back ByteSize
		if err := back.UnmarshalText([]byte(b.String())); err != nil {
			t.Fatalf("%q parsed to %d, whose String %q does not parse: %v", text, int64(b), b.String(), err)
		}
		if diff := float64(back - b); diff > float64(b)/20+1 || diff < -float64(b)/20-1 {
			t.Fatalf("%q parsed to %d, String %q, back to %d", text, int64(b), b.String(), int64(back))
		}
	})
}

// TestByteSizeString: whole units print exactly, the rest with two
// decimals, so a printed size parses back within 0.5 %.
func TestByteSizeString(t *testing.T) {
	tests := map[ByteSize]string{
		0:         "0 B",
		1023:      "1023 B",
		1024:      "1 KiB",
		1536:      "1.50 KiB",
		11040000:  "10.53 MiB", // FuzzByteSize's finding: was "10 MiB"
		512 << 20: "512 MiB",
		10 << 30:  "10 GiB",
		1 << 62:   "4 EiB",
	}
	for b, want := range tests {
		if got := b.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(b), got, want)
		}
	}
}
