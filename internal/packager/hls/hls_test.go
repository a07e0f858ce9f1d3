package hls

import (
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

func TestMediaPlaylistRoundTrip(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	p := MediaPlaylist{
		TargetDuration:        2,
		MediaSequence:         41,
		DiscontinuitySequence: 3,
		Segments: []Segment{
			{URI: "41.m4s", Duration: 2 * time.Second, ProgramDateTime: t0, Map: "init-1.mp4"},
			{URI: "42.m4s", Duration: 1500 * time.Millisecond, ProgramDateTime: t0.Add(2 * time.Second)},
			{URI: "43.m4s", Duration: 2002 * time.Millisecond, ProgramDateTime: t0.Add(10 * time.Second), Discontinuity: true, Map: "init-2.mp4"},
			{URI: "44.m4s", Duration: 2 * time.Second, ProgramDateTime: t0.Add(12002 * time.Millisecond), Gap: true},
		},
		EndList: true,
	}
	text := p.Marshal()
	var m playlist.Media
	if err := m.Unmarshal(text); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if m.Version != Version || m.TargetDuration != 2 || m.MediaSequence != 41 || *m.DiscontinuitySequence != 3 || !m.Endlist || !m.IndependentSegments {
		t.Fatalf("header mismatch: %+v", m)
	}
	if len(m.Segments) != 4 {
		t.Fatalf("%d segments", len(m.Segments))
	}
	for i, s := range m.Segments {
		w := p.Segments[i]
		if s.URI != w.URI || (s.Duration-w.Duration).Abs() > time.Microsecond || !s.DateTime.Equal(w.ProgramDateTime) || s.Discontinuity != w.Discontinuity || s.Gap != w.Gap {
			t.Errorf("segment %d: got %+v", i, s)
		}
	}
	if m.Map == nil || m.Map.URI != "init-2.mp4" {
		t.Errorf("last map %+v", m.Map)
	}
	if strings.Count(string(text), "#EXT-X-MAP:") != 2 {
		t.Errorf("want 2 EXT-X-MAP:\n%s", text)
	}
	if !strings.Contains(string(text), "#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:02.000Z\n#EXTINF:1.500,\n42.m4s") {
		t.Errorf("PDT/EXTINF format:\n%s", text)
	}
}

func TestTargetDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{{2 * time.Second, 2}, {2005 * time.Millisecond, 2}, {2500 * time.Millisecond, 3}, {100 * time.Millisecond, 1}, {6 * time.Second, 6}} {
		if got := TargetDuration(tc.d); got != tc.want {
			t.Errorf("TargetDuration(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestMultivariantRoundTrip(t *testing.T) {
	m := Multivariant{
		Renditions: []Rendition{{GroupID: "audio", Name: "audio", Default: true, Autoselect: true, Channels: 2, URI: "audio/index.m3u8"}},
		Variants: []Variant{
			{URI: "720p/index.m3u8", Bandwidth: 3_300_000, AverageBandwidth: 2_900_000, Codecs: []string{"avc1.64001F", "mp4a.40.2"}, Width: 1280, Height: 720, FrameRate: 29.97, Audio: "audio"},
			{URI: "360p/index.m3u8", Bandwidth: 900_000, Codecs: []string{"avc1.64001E", "mp4a.40.2"}, Width: 640, Height: 360, FrameRate: 30, Audio: "audio"},
		},
	}
	text := m.Marshal()
	pl, err := playlist.Unmarshal(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	mv, ok := pl.(*playlist.Multivariant)
	if !ok {
		t.Fatalf("parsed as %T", pl)
	}
	if !mv.IndependentSegments || mv.Version != Version || len(mv.Variants) != 2 || len(mv.Renditions) != 1 {
		t.Fatalf("parsed %+v", mv)
	}
	v := mv.Variants[0]
	if v.Bandwidth != 3_300_000 || *v.AverageBandwidth != 2_900_000 || v.Resolution != "1280x720" || *v.FrameRate != 29.97 ||
		v.Audio != "audio" || strings.Join(v.Codecs, ",") != "avc1.64001F,mp4a.40.2" || v.URI != "720p/index.m3u8" {
		t.Errorf("variant %+v", v)
	}
	r := mv.Renditions[0]
	if r.Type != playlist.MultivariantRenditionTypeAudio || r.GroupID != "audio" || *r.Channels != "2" || *r.URI != "audio/index.m3u8" || !r.Default {
		t.Errorf("rendition %+v", r)
	}
	if !strings.Contains(string(text), "FRAME-RATE=29.970") {
		t.Errorf("frame rate not 3 decimals:\n%s", text)
	}
}

func TestVODPlaylistAndSubtitles(t *testing.T) {
	p := MediaPlaylist{
		TargetDuration: 4, MediaSequence: 1, PlaylistType: "VOD", EndList: true,
		Segments: []Segment{{URI: "1.m4s", Duration: 4 * time.Second, Map: "init-1.mp4"}, {URI: "2.m4s", Duration: 1500 * time.Millisecond}},
	}
	text := p.Marshal()
	var m playlist.Media
	if err := m.Unmarshal(text); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if m.PlaylistType == nil || *m.PlaylistType != playlist.MediaPlaylistTypeVOD || !m.Endlist || len(m.Segments) != 2 ||
		m.Segments[0].DateTime != nil || strings.Contains(string(text), "PROGRAM-DATE-TIME") {
		t.Errorf("VOD playlist:\n%s", text)
	}

	mv := Multivariant{
		Renditions: []Rendition{
			{GroupID: "audio", Name: "English", Language: "en", Default: true, Autoselect: true, URI: "en/index.m3u8"},
			{Type: Subtitles, GroupID: "subs", Name: `Say "hi"`, Language: "fr", Autoselect: true, URI: "subs/fr.m3u8"},
		},
		Variants: []Variant{{URI: "720p/index.m3u8", Bandwidth: 1000, Codecs: []string{"avc1.64001F", "mp4a.40.2"}, Audio: "audio", Subtitles: "subs"}},
	}
	text = mv.Marshal()
	var got playlist.Multivariant
	if err := got.Unmarshal(text); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(got.Renditions) != 2 || got.Renditions[0].Type != playlist.MultivariantRenditionTypeAudio || got.Renditions[0].Language != "en" {
		t.Fatalf("renditions:\n%s", text)
	}
	s := got.Renditions[1]
	if s.Type != playlist.MultivariantRenditionTypeSubtitles || s.GroupID != "subs" || s.Name != "Say 'hi'" || s.Default || *s.URI != "subs/fr.m3u8" {
		t.Errorf("subtitles %+v", s)
	}
	if got.Variants[0].Subtitles != "subs" || got.Variants[0].Audio != "audio" {
		t.Errorf("variant %+v", got.Variants[0])
	}
}
