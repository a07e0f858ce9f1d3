package origin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readFilterdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "filter", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustFilter(t testing.TB, query string) *manifestFilter {
	t.Helper()
	f, err := parseFilter(query)
	if err != nil || f == nil {
		t.Fatalf("parseFilter(%q) = %v, %v", query, f, err)
	}
	return f
}

// hlsSummary lists a multivariant playlist's variant URIs and its
// renditions as "TYPE:LANGUAGE".
func hlsSummary(body []byte) (variants, media []string) {
	lines := strings.Split(string(body), "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, tagStreamInf):
			for _, next := range lines[i+1:] {
				if next != "" && !strings.HasPrefix(next, "#") {
					variants = append(variants, next)
					break
				}
			}
		case strings.HasPrefix(l, tagMedia):
			a := parseAttrs(l[len(tagMedia):])
			media = append(media, attrValue(a, "TYPE")+":"+attrValue(a, "LANGUAGE"))
		}
	}
	return variants, media
}

// wantSubset checks that out's lines are a subsequence of in's: the
// filter only removes lines.
func wantSubset(t *testing.T, in, out []byte) {
	t.Helper()
	src := strings.Split(string(in), "\n")
	j := 0
	for _, l := range strings.Split(string(out), "\n") {
		for j < len(src) && src[j] != l {
			j++
		}
		if j == len(src) {
			t.Fatalf("output line %q is not an input line in order:\n%s", l, out)
		}
		j++
	}
}

func TestFilterHLS(t *testing.T) {
	t.Parallel()
	const (
		en = "AUDIO:en"
		fr = "AUDIO:fr"
		se = "SUBTITLES:en"
	)
	all := []string{"s3/1080p/index.m3u8", "s3/720p/index.m3u8", "s3/480p/index.m3u8", "s3/360p/index.m3u8"}
	tests := []struct {
		file, query string
		variants    []string // nil: same as all (ladder4)
		media       []string
		noSubsAttr  bool
	}{
		{"ladder4.m3u8", "max_height=480", all[2:], []string{en, fr, se}, false},
		{"ladder4.m3u8", "min_height=720", all[:2], []string{en, fr, se}, false},
		{"ladder4.m3u8", "min_height=480&max_height=720", all[1:3], []string{en, fr, se}, false},
		{"ladder4.m3u8", "max_height=2160", all, []string{en, fr, se}, false},
		// HLS bitrates are the variants' BANDWIDTH: video and audio.
		{"ladder4.m3u8", "max_bitrate=2000000", all[2:], []string{en, fr, se}, false},
		{"ladder4.m3u8", "min_bitrate=3128000", all[:2], []string{en, fr, se}, false},
		{"ladder4.m3u8", "max_fps=30", all[1:], []string{en, fr, se}, false},
		{"ladder4.m3u8", "max_fps=29.97", all[3:], []string{en, fr, se}, false},
		{"ladder4.m3u8", "codecs=avc1", all, []string{en, fr, se}, false},
		{"ladder4.m3u8", "codecs=avc1.64001F", all[1:3], []string{en, fr, se}, false},
		{"ladder4.m3u8", "codecs=avc1.64001e,avc1.64001f,mp4a", all[1:], []string{en, fr, se}, false},
		{"ladder4.m3u8", "codecs=mp4a.40.2", all, []string{en, fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=video_height:240-360,1080", []string{all[0], all[3]}, []string{en, fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=video_height:1-720;video_bitrate:0-3000000", all[2:], []string{en, fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=video_framerate:59.94-60", all[:1], []string{en, fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=video_codec:h264;audio_codec:aacl", all, []string{en, fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=audio_language:FR", all, []string{fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=audio_channels:1-2", all, []string{en, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=audio_channels:6", all, []string{fr, se}, false},
		// HLS states no audio bitrate or sample rate: those filters pass.
		{"ladder4.m3u8", "aws.manifestfilter=audio_bitrate:0-1;audio_sample_rate:0-1", all, []string{en, fr, se}, false},
		{"ladder4.m3u8", "aws.manifestfilter=subtitle_language:de", all, []string{en, fr}, true},
		{"ladder4.m3u8", "aws.manifestfilter=subtitle_language:en", all, []string{en, fr, se}, false},
		{"vod.m3u8", "max_height=480", []string{"360p/index.m3u8"}, []string{en, fr, "SUBTITLES:en", "SUBTITLES:pt-BR"}, false},
		{"vod.m3u8", "aws.manifestfilter=subtitle_language:pt-br", []string{"720p/index.m3u8", "360p/index.m3u8"}, []string{en, fr, "SUBTITLES:pt-BR"}, false},
		{"live-ended.m3u8", "max_height=360", []string{"s1/720p/index.m3u8", "s1/360p/index.m3u8"}, []string{"AUDIO:"}, false},
		{"live-continued.m3u8", "min_height=480", []string{"s2/720p/index.m3u8", "s2/480p/index.m3u8"}, []string{"AUDIO:"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.file+"?"+tc.query, func(t *testing.T) {
			in := readFilterdata(t, tc.file)
			out, err := filterHLS(in, mustFilter(t, tc.query))
			if err != nil {
				t.Fatal(err)
			}
			variants, media := hlsSummary(out)
			if !slices.Equal(variants, tc.variants) {
				t.Errorf("variants %v, want %v", variants, tc.variants)
			}
			if !slices.Equal(media, tc.media) {
				t.Errorf("renditions %v, want %v", media, tc.media)
			}
			if tc.noSubsAttr {
				if bytes.Contains(out, []byte("SUBTITLES=")) {
					t.Errorf("a variant still names the emptied subtitle group:\n%s", out)
				}
				if !bytes.Contains(out, []byte(`FRAME-RATE=60.000,AUDIO="audio"`+"\n")) {
					t.Errorf("SUBTITLES removed badly:\n%s", out)
				}
				return
			}
			wantSubset(t, in, out)
			if !bytes.HasPrefix(out, []byte("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")) {
				t.Errorf("header lost:\n%s", out)
			}
		})
	}
}

func TestFilterHLSNothingLeft(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, query, msg string
	}{
		{"ladder4.m3u8", "max_height=1", "no video rendition (this manifest has 1080p, 720p, 480p, 360p)"},
		{"ladder4.m3u8", "min_height=1081", "no video rendition"},
		{"ladder4.m3u8", "codecs=hvc1", "no video rendition"},
		{"ladder4.m3u8", "aws.manifestfilter=video_codec:h265", "no video rendition"},
		{"ladder4.m3u8", "max_bitrate=100", "no video rendition"},
		{"ladder4.m3u8", "codecs=ec-3", "no audio rendition"},
		{"ladder4.m3u8", "aws.manifestfilter=audio_language:de", "no audio rendition"},
		{"vod.m3u8", "max_height=1", "no video rendition (this manifest has 720p, 360p)"},
		{"live-ended.m3u8", "max_height=1", "no video rendition"},
	}
	for _, tc := range tests {
		t.Run(tc.file+"?"+tc.query, func(t *testing.T) {
			out, err := filterHLS(readFilterdata(t, tc.file), mustFilter(t, tc.query))
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("got %q, %v; want a filterError", out, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q, want it to contain %q", err, tc.msg)
			}
		})
	}
}

// Lines the filter does not know are kept as they are, CRLF included;
// I-frame variants are filtered like video variants; renditions of a
// group no remaining variant uses go with the variants.
func TestFilterHLSKeepsUnknown(t *testing.T) {
	t.Parallel()
	in := "#EXTM3U\r\n" +
		"#EXT-X-VERSION:7\r\n" +
		"#EXT-X-START:TIME-OFFSET=-10\r\n" +
		"#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",VALUE=\"A, B\"\r\n" +
		"# a comment\r\n" +
		"\r\n" +
		"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"English\",LANGUAGE=\"en\",URI=\"aac/en.m3u8\"\r\n" +
		"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"ec3\",NAME=\"English 5.1\",LANGUAGE=\"en\",CHANNELS=\"16/JOC\",URI=\"ec3/en.m3u8\"\r\n" +
		"#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC\",INSTREAM-ID=\"CC1\"\r\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS=\"hvc1.2.4.L123.B0,ec-3\",RESOLUTION=1920x1080,AUDIO=\"ec3\",CLOSED-CAPTIONS=\"cc\",X-CUSTOM=\"a,b\"\r\n" +
		"# between the tag and its URI\r\n" +
		"hevc/1080p.m3u8\r\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"aac\",CLOSED-CAPTIONS=\"cc\"\r\n" +
		"avc/720p.m3u8\r\n" +
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=500000,CODECS=\"hvc1.2.4.L123.B0\",RESOLUTION=1920x1080,URI=\"hevc/iframe.m3u8\"\r\n" +
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=200000,CODECS=\"avc1.64001F\",RESOLUTION=1280x720,URI=\"avc/iframe.m3u8\"\r\n" +
		"#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steer\"\r\n"
	out, err := filterHLS([]byte(in), mustFilter(t, "codecs=avc1"))
	if err != nil {
		t.Fatal(err)
	}
	want := "#EXTM3U\r\n" +
		"#EXT-X-VERSION:7\r\n" +
		"#EXT-X-START:TIME-OFFSET=-10\r\n" +
		"#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",VALUE=\"A, B\"\r\n" +
		"# a comment\r\n" +
		"\r\n" +
		"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",NAME=\"English\",LANGUAGE=\"en\",URI=\"aac/en.m3u8\"\r\n" +
		"#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\",NAME=\"CC\",INSTREAM-ID=\"CC1\"\r\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=2000000,CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1280x720,AUDIO=\"aac\",CLOSED-CAPTIONS=\"cc\"\r\n" +
		"avc/720p.m3u8\r\n" +
		"#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=200000,CODECS=\"avc1.64001F\",RESOLUTION=1280x720,URI=\"avc/iframe.m3u8\"\r\n" +
		"#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steer\"\r\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}

	// The audio codec picks the group: EC-3 keeps the HEVC variant and its
	// group, the AAC group goes with the AVC variant.
	out, err = filterHLS([]byte(in), mustFilter(t, "aws.manifestfilter=audio_codec:ec-3"))
	if err != nil {
		t.Fatal(err)
	}
	variants, media := hlsSummary([]byte(strings.ReplaceAll(string(out), "\r\n", "\n")))
	if !slices.Equal(variants, []string{"hevc/1080p.m3u8"}) || !slices.Equal(media, []string{"AUDIO:en", "CLOSED-CAPTIONS:"}) {
		t.Errorf("EC-3: variants %v, renditions %v:\n%s", variants, media, out)
	}
	// CHANNELS="16/JOC" counts 16 channels.
	out, err = filterHLS([]byte(in), mustFilter(t, "aws.manifestfilter=audio_channels:1-8"))
	if err != nil {
		t.Fatal(err)
	}
	if variants, _ := hlsSummary([]byte(strings.ReplaceAll(string(out), "\r\n", "\n"))); !slices.Equal(variants, []string{"avc/720p.m3u8"}) {
		t.Errorf("channels 1-8: variants %v", variants)
	}
}

// An audio-only multivariant playlist (the packager's form without video)
// has no video to lose: video filters leave it whole, audio filters apply.
func TestFilterHLSAudioOnly(t *testing.T) {
	t.Parallel()
	in := []byte("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=128000,AVERAGE-BANDWIDTH=127000,CODECS=\"mp4a.40.2\"\naudio-hi/index.m3u8\n" +
		"#EXT-X-STREAM-INF:BANDWIDTH=64000,AVERAGE-BANDWIDTH=63000,CODECS=\"mp4a.40.5\"\naudio-lo/index.m3u8\n")
	out, err := filterHLS(in, mustFilter(t, "max_height=1"))
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("max_height on audio only: %q, %v", out, err)
	}
	out, err = filterHLS(in, mustFilter(t, "aws.manifestfilter=audio_bitrate:0-100000"))
	if v, _ := hlsSummary(out); err != nil || !slices.Equal(v, []string{"audio-lo/index.m3u8"}) {
		t.Errorf("audio_bitrate: %v, %v", v, err)
	}
	out, err = filterHLS(in, mustFilter(t, "aws.manifestfilter=audio_codec:aach"))
	if v, _ := hlsSummary(out); err != nil || !slices.Equal(v, []string{"audio-lo/index.m3u8"}) {
		t.Errorf("audio_codec: %v, %v", v, err)
	}
	if _, err = filterHLS(in, mustFilter(t, "codecs=ec-3")); err == nil {
		t.Error("codecs=ec-3 on AAC only: no error")
	}
}

func TestIsMediaPlaylist(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]bool{"media.m3u8": true, "vod.m3u8": false, "ladder4.m3u8": false} {
		if got := isMediaPlaylist(readFilterdata(t, file)); got != want {
			t.Errorf("%s: %v", file, got)
		}
	}
}

func TestParseAttrs(t *testing.T) {
	t.Parallel()
	s := `BANDWIDTH=1,CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720,SUBTITLES="subs",X="a=b"`
	a := parseAttrs(s)
	got := []string{}
	for _, at := range a {
		got = append(got, at.name+"|"+at.value+"|"+s[at.start:at.end])
	}
	want := []string{
		"BANDWIDTH|1|BANDWIDTH=1",
		`CODECS|avc1.64001F,mp4a.40.2|CODECS="avc1.64001F,mp4a.40.2"`,
		"RESOLUTION|1280x720|RESOLUTION=1280x720",
		`SUBTITLES|subs|SUBTITLES="subs"`,
		`X|a=b|X="a=b"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q", got)
	}
	for name, want := range map[string]string{
		"BANDWIDTH": `CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720,SUBTITLES="subs",X="a=b"`,
		"SUBTITLES": `BANDWIDTH=1,CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720,X="a=b"`,
		"X":         `BANDWIDTH=1,CODECS="avc1.64001F,mp4a.40.2",RESOLUTION=1280x720,SUBTITLES="subs"`,
		"NONE":      s,
	} {
		if got := removeAttr(s, a, name); got != want {
			t.Errorf("removeAttr %s = %q", name, got)
		}
	}
	if a := parseAttrs(`A="unterminated,B=2`); len(a) != 0 {
		t.Errorf("unterminated quote parsed as %v", a)
	}
}
