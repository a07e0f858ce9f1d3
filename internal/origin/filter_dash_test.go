package origin

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// mpdSummary lists an MPD's periods as "AS id: rep,rep" per AdaptationSet,
// with the video sets' maxWidth x maxHeight.
func mpdSummary(t *testing.T, body []byte) []string {
	t.Helper()
	m, err := mpd.MPDFromBytes(body)
	if err != nil {
		t.Fatalf("filtered MPD does not parse: %v\n%s", err, body)
	}
	var out []string
	for _, p := range m.Periods {
		for _, as := range p.AdaptationSets {
			var ids []string
			for _, r := range as.Representations {
				ids = append(ids, r.Id)
			}
			s := fmt.Sprintf("%s/%d: %s", p.Id, *as.Id, strings.Join(ids, ","))
			if as.MaxHeight > 0 {
				s += fmt.Sprintf(" (%dx%d)", as.MaxWidth, as.MaxHeight)
			}
			out = append(out, s)
		}
	}
	return out
}

// The packager's MPDs come out of the library byte for byte as they went
// in: a filter that removes nothing changes nothing.
func TestMPDRoundTrip(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"ladder4.mpd", "vod.mpd", "live-ended.mpd", "live-continued.mpd"} {
		t.Run(file, func(t *testing.T) {
			in := readFilterdata(t, file)
			out, err := filterMPD(in, mustFilter(t, "min_height=0"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Errorf("round trip differs:\n%s\nwant:\n%s", out, in)
			}
		})
	}
}

func TestFilterMPD(t *testing.T) {
	t.Parallel()
	const (
		en   = "p500/2: audio-en"
		fr   = "p500/3: audio-fr"
		subs = "p500/4: subs-en"
	)
	tests := []struct {
		file, query string
		want        []string
	}{
		{"ladder4.mpd", "max_height=480", []string{"p500/1: 480p,360p (854x480)", en, fr, subs}},
		{"ladder4.mpd", "min_height=720", []string{"p500/1: 1080p,720p (1920x1080)", en, fr, subs}},
		{"ladder4.mpd", "min_height=480&max_height=720", []string{"p500/1: 720p,480p (1280x720)", en, fr, subs}},
		// DASH video bitrates are the video Representations' own.
		{"ladder4.mpd", "max_bitrate=3000000", []string{"p500/1: 720p,480p,360p (1280x720)", en, fr, subs}},
		{"ladder4.mpd", "min_bitrate=3000001", []string{"p500/1: 1080p (1920x1080)", en, fr, subs}},
		{"ladder4.mpd", "max_fps=30", []string{"p500/1: 720p,480p,360p (1280x720)", en, fr, subs}},
		{"ladder4.mpd", "max_fps=29.97", []string{"p500/1: 360p (640x360)", en, fr, subs}},
		{"ladder4.mpd", "codecs=avc1.64001F", []string{"p500/1: 720p,480p (1280x720)", en, fr, subs}},
		{"ladder4.mpd", "codecs=avc1,mp4a.40.2", []string{"p500/1: 1080p,720p,480p,360p (1920x1080)", en, fr, subs}},
		{"ladder4.mpd", "aws.manifestfilter=video_height:240-360,1080", []string{"p500/1: 1080p,360p (1920x1080)", en, fr, subs}},
		{"ladder4.mpd", "aws.manifestfilter=video_height:1-720;video_bitrate:0-3000000", []string{"p500/1: 720p,480p,360p (1280x720)", en, fr, subs}},
		{"ladder4.mpd", "aws.manifestfilter=audio_language:fr", []string{"p500/1: 1080p,720p,480p,360p (1920x1080)", fr, subs}},
		{"ladder4.mpd", "aws.manifestfilter=audio_channels:1-2", []string{"p500/1: 1080p,720p,480p,360p (1920x1080)", en, subs}},
		{"ladder4.mpd", "aws.manifestfilter=audio_sample_rate:48000;audio_bitrate:64000-192000", []string{"p500/1: 1080p,720p,480p,360p (1920x1080)", en, fr, subs}},
		{"ladder4.mpd", "aws.manifestfilter=subtitle_language:de", []string{"p500/1: 1080p,720p,480p,360p (1920x1080)", en, fr}},
		{"vod.mpd", "max_height=480", []string{"p1/1: 360p (640x360)", "p1/2: audio-en", "p1/3: audio-fr", "p1/4: subs-en", "p1/5: subs-pt-br"}},
		{"vod.mpd", "aws.manifestfilter=subtitle_language:PT-br;audio_language:en", []string{"p1/1: 720p,360p (1280x720)", "p1/2: audio-en", "p1/5: subs-pt-br"}},
		// Every period is filtered.
		{"live-ended.mpd", "min_height=480", []string{"p0/1: 480p (854x480)", "p0/2: audio", "p7/1: 480p (854x480)", "p7/2: audio"}},
		{"live-continued.mpd", "max_height=480", []string{"p10/1: 480p,360p (854x480)", "p10/2: audio", "p14/1: 480p,360p (854x480)", "p14/2: audio"}},
	}
	for _, tc := range tests {
		t.Run(tc.file+"?"+tc.query, func(t *testing.T) {
			in := readFilterdata(t, tc.file)
			out, err := filterMPD(in, mustFilter(t, tc.query))
			if err != nil {
				t.Fatal(err)
			}
			if got := mpdSummary(t, out); !slices.Equal(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
			// What the filter keeps is unchanged: the UTCTiming, the header.
			if bytes.Contains(in, []byte("<UTCTiming")) && !bytes.Contains(out, []byte(`<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="/time"></UTCTiming>`)) {
				t.Error("UTCTiming lost")
			}
			if !bytes.HasPrefix(out, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n<MPD ")) {
				t.Error("XML header lost")
			}
		})
	}
}

func TestFilterMPDNothingLeft(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file, query, msg string
	}{
		{"ladder4.mpd", "max_height=1", "no video rendition (this manifest has 1080p, 720p, 480p, 360p)"},
		{"ladder4.mpd", "codecs=hvc1", "no video rendition"},
		{"ladder4.mpd", "max_bitrate=100", "no video rendition"},
		{"ladder4.mpd", "codecs=ec-3", "no audio rendition"},
		{"ladder4.mpd", "aws.manifestfilter=audio_language:de", "no audio rendition"},
		{"ladder4.mpd", "aws.manifestfilter=audio_sample_rate:0-44100", "no audio rendition"},
		{"vod.mpd", "max_height=1", "no video rendition (this manifest has 720p, 360p)"},
		{"live-ended.mpd", "max_height=1", "no video rendition"},
	}
	for _, tc := range tests {
		t.Run(tc.file+"?"+tc.query, func(t *testing.T) {
			out, err := filterMPD(readFilterdata(t, tc.file), mustFilter(t, tc.query))
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

// Attributes set on the AdaptationSet (codecs, frameRate, mimeType) count
// for its Representations; a broken MPD is an error, not a 400.
func TestFilterMPDInherited(t *testing.T) {
	t.Parallel()
	in := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT10S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="1">
    <AdaptationSet id="1" mimeType="video/mp4" codecs="hvc1.1.6.L120.90" frameRate="50" minHeight="540" maxHeight="2160">
      <Representation id="2160p" bandwidth="15000000" width="3840" height="2160"></Representation>
      <Representation id="540p" bandwidth="2000000" width="960" height="540"></Representation>
    </AdaptationSet>
    <AdaptationSet id="2" mimeType="video/mp4" codecs="avc1.640028" frameRate="25">
      <Representation id="1080p" bandwidth="6000000" width="1920" height="1080"></Representation>
    </AdaptationSet>
    <AdaptationSet id="3" mimeType="audio/mp4" codecs="ec-3" lang="en">
      <Representation id="atmos" bandwidth="768000"></Representation>
    </AdaptationSet>
  </Period>
</MPD>
`)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"codecs=hvc1", []string{"1/1: 2160p,540p (0x2160)", "1/3: atmos"}},
		{"aws.manifestfilter=video_codec:h264", []string{"1/2: 1080p", "1/3: atmos"}},
		{"max_fps=30", []string{"1/2: 1080p", "1/3: atmos"}},
		{"max_height=1080", []string{"1/1: 540p (0x540)", "1/2: 1080p", "1/3: atmos"}},
		{"aws.manifestfilter=audio_codec:ec-3", []string{"1/1: 2160p,540p (0x2160)", "1/2: 1080p", "1/3: atmos"}},
	} {
		out, err := filterMPD(in, mustFilter(t, tc.query))
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		if got := mpdSummary(t, out); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.query, got, tc.want)
		}
	}
	_, err := filterMPD([]byte("<MPD><Period>"), mustFilter(t, "max_height=1"))
	var fe *filterError
	if err == nil || errors.As(err, &fe) {
		t.Errorf("broken MPD: %v, want a non-filter error", err)
	}
}
