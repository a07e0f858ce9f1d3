package origin

import (
	"errors"
	"strings"
	"testing"
)

// FuzzManifestFilter feeds arbitrary queries to the filter parser, and
// arbitrary multivariant playlists to the HLS filter: the parser never
// panics, its errors are filterErrors naming a filter parameter, a parsed
// filter has one canonical form; the HLS filter only removes lines (or a
// SUBTITLES attribute), and on the stored ladder every video rendition it
// keeps (HLS and DASH) passes the filter.
func FuzzManifestFilter(f *testing.F) {
	ladder := readFilterdata(f, "ladder4.m3u8")
	ladderMPD := readFilterdata(f, "ladder4.mpd")
	for _, seed := range []struct{ query, playlist string }{
		{"max_height=480", string(ladder)},
		{"min_height=720&max_height=1080&token=x", string(readFilterdata(f, "vod.m3u8"))},
		{"max_bitrate=3000000&min_bitrate=0&max_fps=29.97", string(ladder)},
		{"codecs=avc1,mp4a.40.2", "#EXTM3U\n#EXT-X-STREAM-INF:CODECS=\"avc1.64001F,mp4a.40.2\",RESOLUTION=1x1\nx.m3u8\n"},
		{"aws.manifestfilter=video_height:1-720;video_bitrate:0-3000000", string(ladder)},
		{"aws.manifestfilter=video_height%3A240-360%2C720-1080%2C1440;audio_language:fr,en-US", string(ladder)},
		{"aws.manifestfilter=subtitle_language:de;audio_channels:1-2", string(ladder)},
		{"aws.manifestfilter=video_framerate:23.976-30;audio_codec:AACL,EC-3", "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\r\n"},
		{"max_height=1", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=2x2,SUBTITLES=\"s\"\n"},
		{"max_height=%zz&aws.manifestfilter=;;foo:", ""},
	} {
		f.Add(seed.query, []byte(seed.playlist))
	}
	f.Fuzz(func(t *testing.T, query string, playlist []byte) {
		mf, err := parseFilter(query)
		if err != nil {
			var fe *filterError
			if !errors.As(err, &fe) || mf != nil {
				t.Fatalf("%q: error %v (%T) with filter %v", query, err, err, mf)
			}
			name, _, _ := strings.Cut(fe.param, " ")
			if fe.param != "" && !isFilterParam(name) {
				t.Fatalf("%q: error names %q", query, fe.param)
			}
			return
		}
		if mf == nil {
			return
		}
		again, err := parseFilter(query)
		if err != nil || again.canonical() != mf.canonical() {
			t.Fatalf("%q: parsed twice: %q, %q (%v)", query, mf.canonical(), again.canonical(), err)
		}

		// Any playlist: the filter only removes.
		out, err := filterHLS(playlist, mf)
		if err == nil {
			src := strings.SplitAfter(string(playlist), "\n")
			j := 0
			for _, l := range strings.SplitAfter(string(out), "\n") {
				if l == "" {
					continue // after a final newline
				}
				for j < len(src) && !sameOrUnsubtitled(src[j], l) {
					j++
				}
				if j == len(src) {
					t.Fatalf("%q: output line %q is not from the input", query, l)
				}
				j++
			}
		} else if !errors.As(err, new(*filterError)) {
			t.Fatalf("%q: HLS error %v", query, err)
		}

		// The stored ladder: what is kept passes the filter.
		out, err = filterHLS(ladder, mf)
		if err == nil {
			lines := strings.Split(string(out), "\n")
			for _, l := range lines {
				if strings.HasPrefix(l, tagStreamInf) {
					e := &hlsEntry{tag: tagStreamInf, attrs: parseAttrs(strings.TrimPrefix(l, tagStreamInf))}
					r := hlsRendition(e)
					if !mf.keep(&r) {
						t.Fatalf("%q: kept variant %q fails the filter", query, l)
					}
				}
			}
		}
		mpdOut, err := filterMPD(ladderMPD, mf)
		if err != nil {
			if !errors.As(err, new(*filterError)) {
				t.Fatalf("%q: MPD error %v", query, err)
			}
			return
		}
		if _, err := filterMPD(mpdOut, mf); err != nil {
			t.Fatalf("%q: filtering the filtered MPD again: %v", query, err)
		}
	})
}

// sameOrUnsubtitled reports whether out is the input line in, or in with
// its SUBTITLES attribute removed.
func sameOrUnsubtitled(in, out string) bool {
	if in == out {
		return true
	}
	if !strings.HasPrefix(in, tagStreamInf) {
		return false
	}
	text := strings.TrimRight(in, "\r\n")
	list := text[len(tagStreamInf):]
	return tagStreamInf+removeAttr(list, parseAttrs(list), typeSubtitles)+in[len(text):] == out
}
