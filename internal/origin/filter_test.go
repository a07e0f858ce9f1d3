package origin

import (
	"errors"
	"strings"
	"testing"
)

func TestParseFilterGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  string // canonical form; "" = no filter
	}{
		{"", ""},
		{"token=abc&Signature=x", ""},
		{"MAX_HEIGHT=480", ""}, // names are case-sensitive, as in the edge's cache key
		{"max_height=480", "h=0-480;"},
		{"min_height=0&max_height=480", "h=0-480;"},
		{"max_height=480&token=x", "h=0-480;"},
		{"min_height=720", "h=720-4294967295;"},
		{"min_height=480&max_height=480", "h=480-480;"},
		{"max_bitrate=3000000", "vb=0-3000000;"},
		{"min_bitrate=1&max_bitrate=2", "vb=1-2;"},
		{"max_fps=30", "fps=0-30;"},
		{"max_fps=29.97", "fps=0-29.97;"},
		{"max_fps=%2029.97%20", "fps=0-29.97;"},
		{"codecs=avc1", "vc=avc1;"},
		{"codecs=HVC1,avc1,mp4a", "ac=mp4a;vc=avc1,hvc1;"},
		{"codecs=mp4a.40.2", "ac=mp4a.40.2;"},
		{"codecs=avc1%2Cec-3", "ac=ec-3;vc=avc1;"},
		{"aws.manifestfilter=video_height:1-720", "h=1-720;"},
		{"aws.manifestfilter=video_height:1-720;video_bitrate:0-3000000", "h=1-720;vb=0-3000000;"},
		{"aws.manifestfilter=video_height%3A1-720%3Bvideo_bitrate%3A0-3000000", "h=1-720;vb=0-3000000;"},
		{"aws.manifestfilter=VIDEO_HEIGHT:240-360,720-1080,1440,2160", "h=240-360,720-1080,1440-1440,2160-2160;"},
		{"aws.manifestfilter=video_height:2160,240-360", "h=240-360,2160-2160;"},
		{"aws.manifestfilter=video_framerate:23.976-30", "fps=23.976-30;"},
		{"aws.manifestfilter=video_codec:H264", "vc=avc1,avc3;"},
		{"aws.manifestfilter=video_codec:h265,h264", "vc=avc1,avc3,hev1,hvc1;"},
		{"aws.manifestfilter=audio_codec:AACL,AC-3", "ac=ac-3,mp4a.40.2;"},
		{"aws.manifestfilter=audio_codec:aach", "ac=mp4a.40.29,mp4a.40.5;"},
		{"aws.manifestfilter=audio_language:fr,en-US,de", "al=de,en-us,fr;"},
		{"aws.manifestfilter=subtitle_language:en-US,%20hi", "sl=en-us,hi;"},
		{"aws.manifestfilter=audio_sample_rate:0-44100;audio_channels:1-8;audio_bitrate:0-2147483647",
			"ab=0-2147483647;ch=1-8;sr=0-44100;"},
		{"aws.manifestfilter=video_height:1-720;", "h=1-720;"},
		// Native and MediaPackage constraints add up.
		{"max_height=1080&aws.manifestfilter=video_height:1-720", "h=0-1080;h=1-720;"},
		{"codecs=avc1&aws.manifestfilter=video_codec:h265", "vc=avc1;vc=hev1,hvc1;"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			f, err := parseFilter(tc.query)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if tc.want == "" {
				if f != nil {
					t.Fatalf("filter %q, want none", f.canonical())
				}
				return
			}
			if f == nil {
				t.Fatal("no filter")
			}
			if got := f.canonical(); got != tc.want {
				t.Errorf("canonical = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseFilterBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		param string // the parameter the message must name
	}{
		{"max_height=abc", "max_height"},
		{"max_height=", "max_height"},
		{"max_height=-1", "max_height"},
		{"max_height=4.5", "max_height"},
		{"max_height=1e3", "max_height"},
		{"max_height=99999999999", "max_height"},
		{"min_height=800&max_height=480", "min_height"},
		{"min_bitrate=2000000&max_bitrate=1000000", "min_bitrate"},
		{"max_bitrate=3M", "max_bitrate"},
		{"max_height=480&max_height=720", "max_height"},
		{"max_fps=0", "max_fps"},
		{"max_fps=abc", "max_fps"},
		{"max_fps=NaN", "max_fps"},
		{"max_fps=inf", "max_fps"},
		{"max_fps=-30", "max_fps"},
		{"max_fps=3.0.1", "max_fps"},
		{"codecs=", "codecs"},
		{"codecs=avc1,,mp4a", "codecs"},
		{"codecs=xyz", "codecs"},
		{"codecs=avc", "codecs"},
		{"codecs=wvtt", "codecs"},
		{"codecs=%zz", "codecs"},
		{"aws.manifestfilter=", "aws.manifestfilter"},
		{"aws.manifestfilter=;;", "aws.manifestfilter"},
		{"aws.manifestfilter=video_height", "aws.manifestfilter"},
		{"aws.manifestfilter=video_height:", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=foo:1", "aws.manifestfilter"},
		{"aws.manifestfilter=video_height:720-1", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=video_height:abc", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=video_height:1-", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=video_height:-5", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=video_height:1-720,", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=video_height:1-720;video_height:1-480", "aws.manifestfilter video_height"},
		{"aws.manifestfilter=video_framerate:30-abc", "aws.manifestfilter video_framerate"},
		{"aws.manifestfilter=video_codec:av1", "aws.manifestfilter video_codec"},
		{"aws.manifestfilter=audio_codec:mp3", "aws.manifestfilter audio_codec"},
		{"aws.manifestfilter=audio_language:en,,fr", "aws.manifestfilter audio_language"},
		{"aws.manifestfilter=trickplay_height:1-720", "aws.manifestfilter trickplay_height"},
		{"aws.manifestfilter=video_dynamic_range:hdr10", "aws.manifestfilter video_dynamic_range"},
		{"aws.manifestfilter=" + strings.Repeat("a", 1025), "aws.manifestfilter"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			f, err := parseFilter(tc.query)
			var fe *filterError
			if !errors.As(err, &fe) {
				t.Fatalf("got filter %v, error %v; want a filterError", f, err)
			}
			if fe.param != tc.param {
				t.Errorf("error %q names %q, want %q", err, fe.param, tc.param)
			}
			if !strings.HasPrefix(err.Error(), tc.param+": ") {
				t.Errorf("message %q does not start with the parameter", err)
			}
		})
	}
}

func TestCodecMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		entry, prefix string
		want          bool
	}{
		{"avc1.64001F", "avc1", true},
		{"avc1.64001F", "AVC1", true},
		{"avc1.64001F", "avc1.64001f", true},
		{"avc1.64001F", "avc3", false},
		{"avc1.64001F", "avc", false},
		{"avc1.64001F", "avc1.64", false},
		{"mp4a.40.2", "mp4a.40.2", true},
		{"mp4a.40.29", "mp4a.40.2", false},
		{"mp4a.40.29", "mp4a", true},
		{"ec-3", "ec-3", true},
		{"hvc1.1.6.L120.90", "hvc1", true},
	}
	for _, tc := range tests {
		if got := codecMatches(tc.entry, tc.prefix); got != tc.want {
			t.Errorf("codecMatches(%q, %q) = %v", tc.entry, tc.prefix, got)
		}
	}
}

// Every parameter the origin reads is in FilterParams, the list the edge's
// cache key needs.
func TestFilterParamsListed(t *testing.T) {
	t.Parallel()
	for _, name := range FilterParams() {
		if !isFilterParam(name) {
			t.Errorf("%q listed but not read", name)
		}
		if f, err := parseFilter(name + "=x"); err == nil && f == nil {
			t.Errorf("%q is not parsed as a filter", name)
		}
	}
	if len(FilterParams()) != 7 {
		t.Errorf("FilterParams() = %v", FilterParams())
	}
}
