package packager

import (
	"context"
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/asset"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

const vodPrefix = "vod/as"

// xVOD reads a static MPD (independently of the dash package).
type xVOD struct {
	Type    string `xml:"type,attr"`
	AST     string `xml:"availabilityStartTime,attr"`
	MPDur   string `xml:"mediaPresentationDuration,attr"`
	Profile string `xml:"profiles,attr"`
	Periods []struct {
		Start string `xml:"start,attr"`
		AS    []struct {
			xAS
			Lang     string `xml:"lang,attr"`
			MimeType string `xml:"mimeType,attr"`
			Priority int    `xml:"selectionPriority,attr"`
			Label    string `xml:"Label"`
			Role     struct {
				Value string `xml:"value,attr"`
			} `xml:"Role"`
			TextReps []struct {
				ID      string `xml:"id,attr"`
				BaseURL string `xml:"BaseURL"`
			} `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
	UTC []struct{} `xml:"UTCTiming"`
}

func readVODMPD(t testing.TB, st *memStore) *xVOD {
	t.Helper()
	var m xVOD
	if err := xml.Unmarshal(st.get(t, vodPrefix+"/manifest.mpd"), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func readMultivariant(t testing.TB, st *memStore) *playlist.Multivariant {
	t.Helper()
	var m playlist.Multivariant
	if err := m.Unmarshal(st.get(t, vodPrefix+"/index.m3u8")); err != nil {
		t.Fatalf("parsing multivariant: %v\n%s", err, st.get(t, vodPrefix+"/index.m3u8"))
	}
	return &m
}

// runVOD packages [0, dur) of s's media (from s.origin) and ends the VOD.
func runVOD(t testing.TB, st *memStore, s *synth, dur time.Duration, cfg asset.Config) *asset.Packager {
	t.Helper()
	v, err := asset.New(context.Background(), st, vodPrefix, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	us := s.units(0, s.origin+dur)
	for i := range us {
		if err := v.WriteUnit(us[i].r, &us[i].u); err != nil {
			t.Fatalf("WriteUnit: %v", err)
		}
	}
	for _, k := range []string{"index.m3u8", "manifest.mpd", "vod.json", s.rends[0].Name + "/index.m3u8"} {
		if st.has(vodPrefix + "/" + k) {
			t.Fatalf("%s exists before End", k)
		}
	}
	if !st.has(vodPrefix + "/" + s.rends[0].Name + "/1.m4s") {
		t.Fatal("segments are not stored as they close")
	}
	if err := v.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	return v
}

func langAudio(name, lang, label string, def bool) Rendition {
	return Rendition{Name: name, Track: audioTrack(), Language: lang, Label: label, Default: def}
}

func TestVOD(t *testing.T) {
	frame := tick90(3000)
	aacFrame := tick90(1920)
	tests := []struct {
		name    string
		rends   []Rendition
		bframes bool
		origin  time.Duration
		dur     time.Duration
		segDur  time.Duration
		// want
		segments  int
		duration  time.Duration
		variants  []string // multivariant URIs
		audio     []string // EXT-X-MEDIA audio: NAME/LANGUAGE/DEFAULT
		codecs    string   // CODECS of the first variant
		mpdAS     []string // contentType/lang per AdaptationSet
		audioRole []string
	}{
		{
			name: "ladder", rends: ladder(), origin: 10 * time.Second, dur: 21 * time.Second,
			segments: 6, duration: 21 * time.Second,
			variants: []string{"720p/index.m3u8", "480p/index.m3u8", "360p/index.m3u8"},
			audio:    []string{"Audio 1//YES"}, codecs: "avc1.64001F,mp4a.40.2",
			mpdAS: []string{"video/", "audio/und"}, audioRole: []string{""},
		},
		{
			name: "b-frames, 2s segments", rends: ladder()[:2:2], bframes: true, origin: 3 * time.Second, dur: 9 * time.Second,
			segDur: 2 * time.Second, segments: 5, duration: 9*time.Second + frame, // DTS lags PTS by a frame
			variants: []string{"720p/index.m3u8", "480p/index.m3u8"}, codecs: "avc1.64001F",
			mpdAS: []string{"video/"},
		},
		{
			name: "audio only", rends: []Rendition{{Name: "audio", Track: audioTrack()}}, dur: 10 * time.Second,
			segments: 3, duration: 469 * aacFrame, // 469 frames start before 10 s
			variants: []string{"audio/index.m3u8"}, codecs: "mp4a.40.2",
			mpdAS: []string{"audio/und"}, audioRole: []string{""},
		},
		{
			name: "video only", rends: []Rendition{ladder()[0], ladder()[2]}, dur: 8*time.Second + 10*frame,
			segments: 3, duration: 8*time.Second + 10*frame,
			variants: []string{"720p/index.m3u8", "360p/index.m3u8"}, codecs: "avc1.64001F",
			mpdAS: []string{"video/"},
		},
		{
			name: "two audio languages",
			rends: []Rendition{ladder()[0], langAudio("a-en", "en", "", false), langAudio("a-fr", "fr", "Français", true),
				langAudio("a-xx", "", "", false)},
			origin: 500 * time.Millisecond, dur: 12 * time.Second, segments: 3, duration: 12 * time.Second,
			variants: []string{"720p/index.m3u8"}, codecs: "avc1.64001F,mp4a.40.2",
			audio:     []string{"English/en/NO", "Français/fr/YES", "Audio 3//NO"},
			mpdAS:     []string{"video/", "audio/en", "audio/fr", "audio/und"},
			audioRole: []string{"alternate", "main", "alternate"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			s := &synth{rends: tc.rends, gop: 60, bframes: tc.bframes, origin: tc.origin}
			v := runVOD(t, st, s, tc.dur, asset.Config{SegmentDuration: tc.segDur})
			res := v.Result()
			if res.Segments != tc.segments || (res.Duration-tc.duration).Abs() > time.Microsecond {
				t.Fatalf("result: %d segments of %v, want %d of %v", res.Segments, res.Duration, tc.segments, tc.duration)
			}
			checkVODResult(t, tc.rends, res)
			checkVODPlaylists(t, st, tc.rends, res)
			checkVODSegments(t, st, tc.rends, res)

			m := readMultivariant(t, st)
			var uris, audio []string
			for _, x := range m.Variants {
				uris = append(uris, x.URI)
			}
			for _, r := range m.Renditions {
				audio = append(audio, r.Name+"/"+r.Language+"/"+map[bool]string{true: "YES", false: "NO"}[r.Default])
				if r.Type != playlist.MultivariantRenditionTypeAudio || r.GroupID != "audio" {
					t.Errorf("rendition %+v", r)
				}
			}
			if strings.Join(uris, " ") != strings.Join(tc.variants, " ") || strings.Join(audio, " ") != strings.Join(tc.audio, " ") {
				t.Errorf("multivariant: variants %v audio %v, want %v %v", uris, audio, tc.variants, tc.audio)
			}
			if got := strings.Join(m.Variants[0].Codecs, ","); got != tc.codecs {
				t.Errorf("codecs %s, want %s", got, tc.codecs)
			}
			for _, x := range m.Variants {
				if x.Bandwidth <= 0 || x.Subtitles != "" {
					t.Errorf("variant %+v", x)
				}
			}
			checkVODMPD(t, st, tc.rends, res, tc.mpdAS, tc.audioRole)
		})
	}
}

func checkVODResult(t *testing.T, rends []Rendition, res asset.Result) {
	t.Helper()
	if len(res.Renditions) != len(rends) {
		t.Fatalf("%d renditions", len(res.Renditions))
	}
	for i, r := range res.Renditions {
		want := rends[i]
		if r.Name != want.Name || r.Kind != want.Track.Kind.String() || r.Language != want.Language {
			t.Errorf("rendition %d: %+v", i, r)
		}
		if r.Bitrate <= 0 || r.PeakBitrate < r.Bitrate {
			t.Errorf("%s: bitrate %d peak %d", r.Name, r.Bitrate, r.PeakBitrate)
		}
		switch want.Track.Kind {
		case media.Video:
			if r.Codec != "avc1.64001F" && r.Codec != "avc1.64001E" || r.Width != want.Track.Width || r.Height != want.Track.Height {
				t.Errorf("%s: %+v", r.Name, r)
			}
		default:
			if r.Codec != "mp4a.40.2" || r.Width != 0 {
				t.Errorf("%s: %+v", r.Name, r)
			}
		}
	}
}

func checkVODPlaylists(t *testing.T, st *memStore, rends []Rendition, res asset.Result) {
	t.Helper()
	for _, r := range rends {
		key := vodPrefix + "/" + r.Name + "/index.m3u8"
		text := string(st.get(t, key))
		for _, want := range []string{"#EXT-X-PLAYLIST-TYPE:VOD\n", "#EXT-X-ENDLIST\n", "#EXT-X-INDEPENDENT-SEGMENTS\n", "#EXT-X-MAP:URI=\"init-1.mp4\"\n"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q:\n%s", key, want, text)
			}
		}
		if strings.Contains(text, "PROGRAM-DATE-TIME") || strings.Count(text, "#EXT-X-MAP") != 1 || strings.Contains(text, "GAP") {
			t.Errorf("%s:\n%s", key, text)
		}
		p := readMedia(t, st, key)
		if p.PlaylistType == nil || *p.PlaylistType != playlist.MediaPlaylistTypeVOD || !p.Endlist || p.MediaSequence != 1 {
			t.Errorf("%s: header %+v", key, p)
		}
		if len(p.Segments) != res.Segments {
			t.Fatalf("%s: %d segments, want %d", key, len(p.Segments), res.Segments)
		}
		var sum time.Duration
		for i, s := range p.Segments {
			if s.URI != strconv.Itoa(i+1)+".m4s" {
				t.Errorf("%s: segment %d is %s", key, i, s.URI)
			}
			if rounded := int(math.Round(s.Duration.Seconds())); rounded > p.TargetDuration {
				t.Errorf("%s: EXTINF %v above target %d", key, s.Duration, p.TargetDuration)
			}
			sum += s.Duration
		}
		if d := (sum - res.Duration).Abs(); d > 34*time.Millisecond {
			t.Errorf("%s: EXTINF sum %v, duration %v", key, sum, res.Duration)
		}
	}
}

// checkVODSegments decodes every segment: media time starts at 0 and each
// segment starts where the previous one ended.
func checkVODSegments(t *testing.T, st *memStore, rends []Rendition, res asset.Result) {
	t.Helper()
	for i, r := range rends {
		if !st.has(vodPrefix + "/" + r.Name + "/init-1.mp4") {
			t.Errorf("%s: no init segment", r.Name)
		}
		var next uint64
		for n := 1; n <= res.Segments; n++ {
			s := readSeg(t, st, vodPrefix+"/"+r.Name+"/"+strconv.Itoa(n)+".m4s")
			if s.seq != uint32(n) {
				t.Errorf("%s/%d: sequence %d", r.Name, n, s.seq)
			}
			switch {
			case n == 1 && r.Track.Kind == media.Video && s.tfdt != 0:
				t.Errorf("%s: first tfdt %d, want 0", r.Name, s.tfdt)
			case n == 1 && i > 0 && s.tfdt >= 1024: // audio starts within a frame of 0
				t.Errorf("%s: first tfdt %d", r.Name, s.tfdt)
			case n == 1 && len(rends) == 1 && s.tfdt != 0:
				t.Errorf("%s: first tfdt %d, want 0", r.Name, s.tfdt)
			case n > 1 && s.tfdt != next:
				t.Errorf("%s/%d: tfdt %d, previous segment ended at %d", r.Name, n, s.tfdt, next)
			}
			next = s.tfdt + s.dur
		}
		if st.has(vodPrefix + "/" + r.Name + "/" + strconv.Itoa(res.Segments+1) + ".m4s") {
			t.Errorf("%s: more segments than listed", r.Name)
		}
	}
}

func checkVODMPD(t *testing.T, st *memStore, rends []Rendition, res asset.Result, wantAS, wantRoles []string) {
	t.Helper()
	m := readVODMPD(t, st)
	if m.Type != "static" || m.AST != "" || len(m.UTC) != 0 || len(m.Periods) != 1 || !strings.Contains(m.Profile, "isoff-live:2011") {
		t.Fatalf("MPD: %+v", m)
	}
	if d, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(m.MPDur, "PT"))); err != nil || d != res.Duration.Truncate(time.Millisecond) {
		t.Errorf("mediaPresentationDuration %s (%v), want %v", m.MPDur, err, res.Duration)
	}
	p := m.Periods[0]
	if p.Start != "PT0S" {
		t.Errorf("period start %s", p.Start)
	}
	var as, roles []string
	for _, a := range p.AS {
		as = append(as, a.ContentType+"/"+a.Lang)
		if a.ContentType == "audio" {
			roles = append(roles, a.Role.Value)
		}
		if a.ST.Start != 1 || a.ST.PTO != 0 || a.ST.Init != "$RepresentationID$/init-1.mp4" {
			t.Errorf("%s template %+v", a.ContentType, a.ST)
		}
		tl := a.timeline()
		if len(tl) != res.Segments {
			t.Fatalf("%s: timeline of %d segments, want %d", a.ContentType, len(tl), res.Segments)
		}
		for i := 1; i < len(tl); i++ {
			if tl[i].t != tl[i-1].t+tl[i-1].d {
				t.Errorf("%s: timeline hole at %d: %+v", a.ContentType, i, tl)
			}
		}
		end := timeline.Duration(tl[len(tl)-1].t+tl[len(tl)-1].d, uint32(a.ST.Timescale))
		if tl[0].t != 0 && a.ContentType == "video" || (end-res.Duration).Abs() > 22*time.Millisecond {
			t.Errorf("%s: timeline from %d to %v, duration %v", a.ContentType, tl[0].t, end, res.Duration)
		}
	}
	if strings.Join(as, " ") != strings.Join(wantAS, " ") || strings.Join(roles, " ") != strings.Join(wantRoles, " ") {
		t.Errorf("adaptation sets %v roles %v, want %v %v", as, roles, wantAS, wantRoles)
	}
}

func manifests(t testing.TB, st *memStore) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range st.keys(vodPrefix + "/") {
		if strings.HasSuffix(k, ".m3u8") || strings.HasSuffix(k, ".mpd") || strings.HasSuffix(k, ".json") {
			out[k] = string(st.get(t, k))
		}
	}
	return out
}

func TestPublishVODSubtitles(t *testing.T) {
	st := newMemStore()
	rends := []Rendition{ladder()[0], ladder()[2], langAudio("audio", "en", "", true)}
	res := runVOD(t, st, &synth{rends: rends, gop: 60}, 10*time.Second, asset.Config{}).Result()
	ended := manifests(t, st)
	subs := []asset.Subtitle{
		{Name: "en", Language: "en", Path: "subs/en.vtt", Default: true},
		{Name: "fr", Language: "fr", Label: "Français", Path: "captions/fr.vtt"},
	}
	if err := asset.Publish(context.Background(), st, vodPrefix, subs); err != nil {
		t.Fatal(err)
	}
	withSubs := manifests(t, st)

	// HLS: a SUBTITLES group that every variant names.
	m := readMultivariant(t, st)
	var got []string
	for _, r := range m.Renditions {
		if r.Type == playlist.MultivariantRenditionTypeSubtitles {
			got = append(got, r.GroupID+"/"+r.Name+"/"+r.Language+"/"+*r.URI+"/"+strconv.FormatBool(r.Default))
		}
	}
	want := []string{"subs/English/en/subs/en.m3u8/true", "subs/Français/fr/subs/fr.m3u8/false"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("subtitle renditions %v, want %v", got, want)
	}
	for _, x := range m.Variants {
		if x.Subtitles != "subs" || x.Audio != "audio" {
			t.Errorf("variant %s: subtitles %q audio %q", x.URI, x.Subtitles, x.Audio)
		}
	}
	for _, c := range []struct{ key, uri string }{{"subs/en.m3u8", "en.vtt"}, {"subs/fr.m3u8", "../captions/fr.vtt"}} {
		text := string(st.get(t, vodPrefix+"/"+c.key))
		p := readMedia(t, st, vodPrefix+"/"+c.key)
		if !strings.Contains(text, "#EXT-X-PLAYLIST-TYPE:VOD\n") || !p.Endlist || len(p.Segments) != 1 ||
			p.Segments[0].URI != c.uri || (p.Segments[0].Duration-res.Duration).Abs() > time.Millisecond ||
			p.TargetDuration < int(math.Round(p.Segments[0].Duration.Seconds())) {
			t.Errorf("%s:\n%s", c.key, text)
		}
	}

	// DASH: a text AdaptationSet per subtitle.
	mpd := readVODMPD(t, st)
	var text []string
	for _, a := range mpd.Periods[0].AS {
		if a.ContentType == "text" {
			text = append(text, a.MimeType+"/"+a.Lang+"/"+a.Label+"/"+a.Role.Value+"/"+a.TextReps[0].BaseURL)
		}
	}
	want = []string{"text/vtt/en/English/subtitle/subs/en.vtt", "text/vtt/fr/Français/subtitle/captions/fr.vtt"}
	if strings.Join(text, " ") != strings.Join(want, " ") {
		t.Errorf("text adaptation sets %v, want %v", text, want)
	}

	// Idempotent, and an empty list gives back what End wrote.
	if err := asset.Publish(context.Background(), st, vodPrefix, subs); err != nil {
		t.Fatal(err)
	}
	if again := manifests(t, st); !mapsEqual(again, withSubs) {
		t.Error("publishing the same subtitles again changed the manifests")
	}
	if err := asset.Publish(context.Background(), st, vodPrefix, nil); err != nil {
		t.Fatal(err)
	}
	without := manifests(t, st)
	for k, v := range ended {
		if without[k] != v {
			t.Errorf("%s differs from what End wrote:\n%s\n---\n%s", k, without[k], v)
		}
	}
	if strings.Contains(without[vodPrefix+"/index.m3u8"], "SUBTITLES") || strings.Contains(without[vodPrefix+"/manifest.mpd"], "text/vtt") {
		t.Error("subtitles still listed after publishing none")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPublishVODErrors(t *testing.T) {
	st := newMemStore()
	rends := []Rendition{ladder()[0], {Name: "subs", Track: audioTrack()}}
	runVOD(t, st, &synth{rends: rends, gop: 60}, 5*time.Second, asset.Config{})
	before := manifests(t, st)
	ok := asset.Subtitle{Name: "en", Path: "subs/en.vtt"}
	tests := []struct {
		name   string
		prefix string
		subs   []asset.Subtitle
	}{
		{"no VOD", "vod/other", []asset.Subtitle{ok}},
		{"bad name", vodPrefix, []asset.Subtitle{{Name: "e n", Path: "x.vtt"}}},
		{"duplicate", vodPrefix, []asset.Subtitle{ok, ok}},
		{"replaces a playlist", vodPrefix, []asset.Subtitle{{Name: "index", Path: "x.vtt"}}},
		{"path leaves the prefix", vodPrefix, []asset.Subtitle{{Name: "en", Path: "../x.vtt"}}},
		{"absolute path", vodPrefix, []asset.Subtitle{{Name: "en", Path: "/x.vtt"}}},
		{"empty path", vodPrefix, []asset.Subtitle{{Name: "en"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := asset.Publish(context.Background(), st, tc.prefix, tc.subs); err == nil {
				t.Fatal("no error")
			}
			if !mapsEqual(manifests(t, st), before) {
				t.Fatal("manifests changed")
			}
		})
	}
}

func TestVODErrors(t *testing.T) {
	ctx := context.Background()
	unit := func(key bool) *media.Unit {
		return &media.Unit{Key: key, NALUs: [][]byte{sps720, ppsX, {0x65, 1, 2}}}
	}
	t.Run("lifecycle", func(t *testing.T) {
		st := newMemStore()
		v, err := asset.New(ctx, st, vodPrefix, asset.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.WriteUnit(0, unit(true)); err == nil {
			t.Error("WriteUnit before Begin")
		}
		if err := v.Begin(nil); err == nil {
			t.Error("Begin without renditions")
		}
		if err := v.Begin(ladder()[:1]); err != nil {
			t.Fatal(err)
		}
		if err := v.Begin(ladder()[:1]); err == nil {
			t.Error("second Begin")
		}
		if err := v.WriteUnit(3, unit(true)); err == nil {
			t.Error("unknown rendition")
		}
		err = v.End(ctx)
		if err == nil || !strings.Contains(err.Error(), "no media") {
			t.Errorf("End without media: %v", err)
		}
		if err2 := v.End(ctx); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("second End: %v", err2)
		}
		if err := v.WriteUnit(0, unit(true)); err != asset.ErrEnded {
			t.Errorf("WriteUnit after End: %v", err)
		}
		if len(st.keys("")) != 0 {
			t.Errorf("objects written: %v", st.keys(""))
		}
		if r := v.Result(); r.Segments != 0 || r.Renditions != nil {
			t.Errorf("result of a failed VOD: %+v", r)
		}
	})
	t.Run("rendition without media", func(t *testing.T) {
		st := newMemStore()
		rends := ladder()[:2]
		v, _ := asset.New(ctx, st, vodPrefix, asset.Config{}, nil)
		if err := v.Begin(rends); err != nil {
			t.Fatal(err)
		}
		s := &synth{rends: rends[:1], gop: 60} // nothing for 480p
		for _, u := range s.units(0, 9*time.Second) {
			if err := v.WriteUnit(u.r, &u.u); err != nil {
				t.Fatal(err)
			}
		}
		if err := v.End(ctx); err == nil || !strings.Contains(err.Error(), "480p") {
			t.Errorf("End: %v", err)
		}
		if st.has(vodPrefix+"/index.m3u8") || st.has(vodPrefix+"/vod.json") {
			t.Error("manifests written")
		}
	})
	t.Run("store failure", func(t *testing.T) {
		st := newMemStore()
		st.failPut = func(key string) bool { return key == vodPrefix+"/audio/2.m4s" }
		rends := []Rendition{ladder()[0], ladder()[3]}
		v, _ := asset.New(ctx, st, vodPrefix, asset.Config{}, nil)
		if err := v.Begin(rends); err != nil {
			t.Fatal(err)
		}
		var failed error
		for _, u := range (&synth{rends: rends, gop: 60}).units(0, 13*time.Second) {
			if err := v.WriteUnit(u.r, &u.u); err != nil {
				failed = err
				break
			}
		}
		if failed == nil || !strings.Contains(failed.Error(), "audio/2.m4s") {
			t.Fatalf("WriteUnit: %v", failed)
		}
		if err := v.WriteUnit(0, unit(true)); err == nil {
			t.Error("WriteUnit after a failed write")
		}
		if err := v.End(ctx); err == nil {
			t.Error("End after a failed write")
		}
		if st.has(vodPrefix + "/index.m3u8") {
			t.Error("manifests written")
		}
	})
}

// TestVODKeepsNoMedia: a long asset leaves only per-segment records in
// memory (segments are stored as they close).
func TestVODKeepsNoMedia(t *testing.T) {
	st := newMemStore()
	rends := ladder()
	s := &synth{rends: rends, gop: 60}
	v, err := asset.New(context.Background(), st, vodPrefix, asset.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Begin(rends); err != nil {
		t.Fatal(err)
	}
	maxSlots, maxArena := 0, 0
	for from := time.Duration(0); from < 2*time.Minute; from += 10 * time.Second {
		for _, u := range s.units(from, from+10*time.Second) {
			if err := v.WriteUnit(u.r, &u.u); err != nil {
				t.Fatal(err)
			}
			slots, _ := v.Held()
			maxSlots = max(maxSlots, slots)
		}
		_, pending := v.Held()
		maxArena = max(maxArena, pending)
	}
	if maxSlots > 2 || maxArena > 1<<20 {
		t.Errorf("held %d open slots, %d bytes of pending media", maxSlots, maxArena)
	}
	if err := v.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := v.Result(); r.Segments != 30 || r.Duration != 2*time.Minute {
		t.Errorf("result %+v", r)
	}
}
