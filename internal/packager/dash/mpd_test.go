package dash

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// Independent reading model (encoding/xml; the writer uses dash-mpd).
type xMPD struct {
	XMLName  xml.Name  `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Type     string    `xml:"type,attr"`
	Profiles string    `xml:"profiles,attr"`
	AST      string    `xml:"availabilityStartTime,attr"`
	Publish  string    `xml:"publishTime,attr"`
	MUP      string    `xml:"minimumUpdatePeriod,attr"`
	TSBD     string    `xml:"timeShiftBufferDepth,attr"`
	SPD      string    `xml:"suggestedPresentationDelay,attr"`
	MBT      string    `xml:"minBufferTime,attr"`
	MSD      string    `xml:"maxSegmentDuration,attr"`
	MPDur    string    `xml:"mediaPresentationDuration,attr"`
	Periods  []xPeriod `xml:"Period"`
	UTC      []struct {
		Scheme string `xml:"schemeIdUri,attr"`
		Value  string `xml:"value,attr"`
	} `xml:"UTCTiming"`
}

type xPeriod struct {
	ID    string `xml:"id,attr"`
	Start string `xml:"start,attr"`
	AS    []xAS  `xml:"AdaptationSet"`
}

type xAS struct {
	ContentType string `xml:"contentType,attr"`
	MimeType    string `xml:"mimeType,attr"`
	Lang        string `xml:"lang,attr"`
	SegAlign    string `xml:"segmentAlignment,attr"`
	SAP         string `xml:"startWithSAP,attr"`
	ST          struct {
		Timescale uint64 `xml:"timescale,attr"`
		PTO       uint64 `xml:"presentationTimeOffset,attr"`
		Init      string `xml:"initialization,attr"`
		Media     string `xml:"media,attr"`
		Start     uint64 `xml:"startNumber,attr"`
		S         []struct {
			T *uint64 `xml:"t,attr"`
			D uint64  `xml:"d,attr"`
			R int     `xml:"r,attr"`
		} `xml:"SegmentTimeline>S"`
	} `xml:"SegmentTemplate"`
	Reps []struct {
		ID        string `xml:"id,attr"`
		Bandwidth int    `xml:"bandwidth,attr"`
		Codecs    string `xml:"codecs,attr"`
		Width     int    `xml:"width,attr"`
		Height    int    `xml:"height,attr"`
		FrameRate string `xml:"frameRate,attr"`
		Sar       string `xml:"sar,attr"`
		ASR       string `xml:"audioSamplingRate,attr"`
		ACC       []struct {
			Value string `xml:"value,attr"`
		} `xml:"AudioChannelConfiguration"`
	} `xml:"Representation"`
}

// expand returns the segments a timeline describes.
func (a *xAS) expand() []Segment {
	var out []Segment
	var t uint64
	for _, s := range a.ST.S {
		if s.T != nil {
			t = *s.T
		}
		for range s.R + 1 {
			out = append(out, Segment{t, s.D})
			t += s.D
		}
	}
	return out
}

func TestMarshalDynamic(t *testing.T) {
	base := uint64(1_740_000_000) * 90000
	video := []Segment{{base, 180000}, {base + 180000, 180000}, {base + 360000, 180180}, {base + 900000, 180000}, {base + 1080000, 180000}}
	m := &MPD{
		Dynamic: true, PublishTime: time.Date(2025, 2, 19, 21, 20, 0, 0, time.UTC),
		MinimumUpdatePeriod: 2 * time.Second, TimeShiftBufferDepth: 12 * time.Second, SuggestedPresentationDelay: 6 * time.Second,
		MinBufferTime: 2 * time.Second, MaxSegmentDuration: 2002 * time.Millisecond, UTCTimingURL: "/time",
		Periods: []Period{{
			ID: "p7", Start: 1_740_000_000 * time.Second,
			AdaptationSets: []AdaptationSet{
				{ID: 1, ContentType: "video", Timescale: 90000, PresentationTimeOffset: base, Initialization: "$RepresentationID$/init-3.mp4",
					Media: "$RepresentationID$/$Number$.m4s", StartNumber: 7, Timeline: video,
					Representations: []Representation{
						{ID: "720p", Bandwidth: 3_000_000, Codecs: "avc1.64001F", Width: 1280, Height: 720, FrameRate: "30", SarW: 1, SarH: 1},
						{ID: "360p", Bandwidth: 800_000, Codecs: "avc1.64001E", Width: 640, Height: 360, FrameRate: "30", SarW: 1, SarH: 1},
					}},
				{ID: 2, ContentType: "audio", Lang: "und", Timescale: 48000, PresentationTimeOffset: uint64(1_740_000_000) * 48000,
					Initialization: "$RepresentationID$/init-3.mp4", Media: "$RepresentationID$/$Number$.m4s", StartNumber: 7,
					Timeline:        []Segment{{uint64(1_740_000_000) * 48000, 96256}},
					Representations: []Representation{{ID: "audio", Bandwidth: 128000, Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 2}}},
			},
		}},
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var x xMPD
	if err := xml.Unmarshal(data, &x); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if x.Type != "dynamic" || x.AST != EpochStart || x.Profiles != Profiles || x.MUP != "PT2S" || x.TSBD != "PT12S" ||
		x.SPD != "PT6S" || x.MBT != "PT2S" || x.MSD != "PT2.002S" || x.MPDur != "" || !strings.HasPrefix(x.Publish, "2025-02-19T21:20:00") {
		t.Fatalf("MPD attributes: %+v", x)
	}
	if len(x.UTC) != 1 || x.UTC[0].Scheme != UTCTimingScheme || x.UTC[0].Value != "/time" {
		t.Fatalf("UTCTiming %+v", x.UTC)
	}
	if len(x.Periods) != 1 || x.Periods[0].ID != "p7" || len(x.Periods[0].AS) != 2 {
		t.Fatalf("periods %+v", x.Periods)
	}
	start, err := time.ParseDuration(strings.ToLower(strings.TrimPrefix(x.Periods[0].Start, "PT")))
	if err != nil || start != 1_740_000_000*time.Second {
		t.Fatalf("period start %q (%v)", x.Periods[0].Start, err)
	}
	v := x.Periods[0].AS[0]
	if v.ContentType != "video" || v.MimeType != "video/mp4" || v.SegAlign != "true" || v.SAP != "1" ||
		v.ST.Timescale != 90000 || v.ST.PTO != base || v.ST.Start != 7 || v.ST.Init != "$RepresentationID$/init-3.mp4" {
		t.Fatalf("video AS %+v", v)
	}
	got := v.expand()
	if len(got) != len(video) {
		t.Fatalf("timeline %v", got)
	}
	for i := range got {
		if got[i] != video[i] {
			t.Errorf("segment %d: %v want %v", i, got[i], video[i])
		}
	}
	if len(v.ST.S) != 3 || v.ST.S[0].R != 1 || v.ST.S[1].T != nil || v.ST.S[2].T == nil || v.ST.S[2].R != 1 {
		t.Errorf("timeline not compressed as expected: %s", data)
	}
	r := v.Reps[0]
	if r.ID != "720p" || r.Bandwidth != 3_000_000 || r.Codecs != "avc1.64001F" || r.Width != 1280 || r.Height != 720 || r.FrameRate != "30" || r.Sar != "1:1" {
		t.Errorf("rep %+v", r)
	}
	a := x.Periods[0].AS[1]
	if a.ContentType != "audio" || a.Lang != "und" || a.Reps[0].ASR != "48000" || len(a.Reps[0].ACC) != 1 || a.Reps[0].ACC[0].Value != "2" {
		t.Errorf("audio AS %+v", a)
	}
}

func TestMarshalStatic(t *testing.T) {
	m := &MPD{
		PublishTime: time.Now(), MinBufferTime: 2 * time.Second, MediaPresentationDuration: 9500 * time.Millisecond,
		TimeShiftBufferDepth: time.Hour, UTCTimingURL: "/time",
		Periods: []Period{{ID: "p1", AdaptationSets: []AdaptationSet{{ID: 1, ContentType: "audio", Timescale: 48000,
			Timeline: []Segment{{0, 1}}, Representations: []Representation{{ID: "a"}}}}}},
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var x xMPD
	if err := xml.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	if x.Type != "static" || x.MPDur != "PT9.5S" || x.MUP != "" || x.AST != "" || x.TSBD != "" || len(x.UTC) != 0 || x.Periods[0].Start != "PT0S" {
		t.Errorf("static MPD: %s", data)
	}
	m.Periods[0].AdaptationSets[0].Timeline = nil
	if _, err := Marshal(m); err == nil {
		t.Error("empty timeline accepted")
	}
}

func TestFrameRate(t *testing.T) {
	for _, tc := range []struct {
		fps  float64
		want string
	}{{30, "30"}, {29.97003, "30000/1001"}, {59.94, "60000/1001"}, {25.0001, "25"}, {12.5, "12500/1000"}, {0, ""}} {
		if got := FrameRate(tc.fps); got != tc.want {
			t.Errorf("FrameRate(%v) = %q, want %q", tc.fps, got, tc.want)
		}
	}
}

func TestMarshalLanguagesAndText(t *testing.T) {
	audio := func(id uint32, lang, label, role string, prio uint32) AdaptationSet {
		return AdaptationSet{ID: id, ContentType: "audio", Lang: lang, Label: label, Role: role, SelectionPriority: prio,
			Timescale: 48000, Timeline: []Segment{{0, 96000}}, Representations: []Representation{{ID: "a-" + lang, Bandwidth: 1}}}
	}
	m := &MPD{
		PublishTime: time.Now(), MinBufferTime: 2 * time.Second, MediaPresentationDuration: 2 * time.Second,
		Periods: []Period{{ID: "p1", AdaptationSets: []AdaptationSet{
			audio(1, "en", "English", "alternate", 0),
			audio(2, "fr", "Français", "main", 2),
			{ID: 3, ContentType: "text", Lang: "de", Label: "Deutsch", Role: "subtitle",
				Representations: []Representation{{ID: "subs-de", Bandwidth: 256, BaseURL: "subs/de.vtt"}}},
		}}},
	}
	data, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		AS []struct {
			ContentType string `xml:"contentType,attr"`
			MimeType    string `xml:"mimeType,attr"`
			Lang        string `xml:"lang,attr"`
			Priority    string `xml:"selectionPriority,attr"`
			Label       string `xml:"Label"`
			Role        struct {
				Scheme string `xml:"schemeIdUri,attr"`
				Value  string `xml:"value,attr"`
			} `xml:"Role"`
			Template *struct{} `xml:"SegmentTemplate"`
			Reps     []struct {
				ID      string `xml:"id,attr"`
				BaseURL string `xml:"BaseURL"`
			} `xml:"Representation"`
		} `xml:"Period>AdaptationSet"`
	}
	if err := xml.Unmarshal(data, &x); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range x.AS {
		got = append(got, strings.Join([]string{a.ContentType, a.MimeType, a.Lang, a.Label, a.Role.Value, a.Priority}, "|"))
		if a.Role.Scheme != "urn:mpeg:dash:role:2011" {
			t.Errorf("role scheme %q", a.Role.Scheme)
		}
	}
	want := []string{"audio|audio/mp4|en|English|alternate|", "audio|audio/mp4|fr|Français|main|2", "text|text/vtt|de|Deutsch|subtitle|"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("adaptation sets %v, want %v\n%s", got, want, data)
	}
	if txt := x.AS[2]; txt.Template != nil || len(txt.Reps) != 1 || txt.Reps[0].BaseURL != "subs/de.vtt" || txt.Reps[0].ID != "subs-de" {
		t.Errorf("text adaptation set:\n%s", data)
	}
}
