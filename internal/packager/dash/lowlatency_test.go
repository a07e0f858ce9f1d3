package dash

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// llMPD is a two-period live MPD: video and two audio renditions (with
// Role and Label), the second period starting off a whole millisecond.
func llMPD(ll *LowLatency) *MPD {
	p1 := 1_740_000_000 * time.Second
	p2 := p1 + 8*time.Second + 123_456_789*time.Nanosecond
	period := func(id string, start time.Duration) Period {
		ticks := func(ts uint64) uint64 { // the packager's timeline.TicksAt
			sec, ns := uint64(start/time.Second), uint64(start%time.Second)
			return sec*ts + (ns*ts+5e8)/1e9
		}
		v, a := ticks(90000), ticks(48000)
		audio := func(id uint32, lang, role string, prio uint32) AdaptationSet {
			return AdaptationSet{ID: id, ContentType: "audio", Lang: lang, Label: lang + " audio", Role: role, SelectionPriority: prio,
				Timescale: 48000, PresentationTimeOffset: a, Initialization: "$RepresentationID$/init-1.mp4", Media: "$RepresentationID$/$Number$.m4s",
				StartNumber: 3, Timeline: []Segment{{a + 512, 96256}, {a + 96768, 96256}},
				Representations: []Representation{{ID: "audio-" + lang, Bandwidth: 128000, Codecs: "mp4a.40.2", SampleRate: 48000, Channels: 2}}}
		}
		return Period{ID: id, Start: start, AdaptationSets: []AdaptationSet{
			{ID: 1, ContentType: "video", Timescale: 90000, PresentationTimeOffset: v, Initialization: "$RepresentationID$/init-1.mp4",
				Media: "$RepresentationID$/$Number$.m4s", StartNumber: 3, Timeline: []Segment{{v, 180000}, {v + 180000, 180000}},
				Representations: []Representation{{ID: "720p", Bandwidth: 3_000_000, Codecs: "avc1.64001F", Width: 1280, Height: 720, FrameRate: "30"}}},
			audio(2, "en", "main", 2),
			audio(3, "fr", "alternate", 0),
		}}
	}
	return &MPD{
		Dynamic: true, PublishTime: time.Date(2025, 2, 19, 21, 20, 10, 0, time.UTC),
		MinimumUpdatePeriod: time.Second, TimeShiftBufferDepth: 30 * time.Second, SuggestedPresentationDelay: 3 * time.Second,
		MinBufferTime: time.Second, MaxSegmentDuration: 2 * time.Second, UTCTimingURL: "/api/v1/time",
		LowLatency: ll,
		Periods:    []Period{period("p1", p1), period("p2", p2)},
	}
}

func testLL() *LowLatency {
	return &LowLatency{ChunkDuration: 200 * time.Millisecond, SegmentDuration: 2 * time.Second,
		TargetLatency: 1500 * time.Millisecond, MinLatency: 1000 * time.Millisecond, MaxLatency: 3 * time.Second,
		MinPlaybackRate: 0.96, MaxPlaybackRate: 1.04, InbandPrft: true}
}

// TestMarshalLowLatency renders a low-latency MPD, re-parses it with
// dash-mpd and checks every low-latency attribute where the IOP puts it,
// and that a player computing the producer reference the way dash.js does
// (TS 103 285 10.20.4) finds it on the MPD's own clock.
func TestMarshalLowLatency(t *testing.T) {
	in := llMPD(testLL())
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatalf("dash-mpd cannot read it: %v\n%s", err, data)
	}
	if !strings.Contains(string(m.Profiles), ","+ProfileLowLatency) || !strings.HasPrefix(string(m.Profiles), Profiles) {
		t.Errorf("profiles %q", m.Profiles)
	}

	if len(m.ServiceDescription) != 1 {
		t.Fatalf("%d ServiceDescriptions", len(m.ServiceDescription))
	}
	sd := m.ServiceDescription[0]
	if len(sd.Scopes) != 0 || len(sd.Latencies) != 1 || len(sd.PlaybackRates) != 1 {
		t.Fatalf("ServiceDescription %+v", sd)
	}
	lat := sd.Latencies[0]
	if lat.Target == nil || *lat.Target != 1500 || lat.Min == nil || *lat.Min != 1000 || lat.Max == nil || *lat.Max != 3000 || lat.ReferenceId != 1 {
		t.Errorf("Latency %+v", lat)
	}
	if pr := sd.PlaybackRates[0]; pr.Min != 0.96 || pr.Max != 1.04 {
		t.Errorf("PlaybackRate %+v", pr)
	}
	if len(m.UTCTimings) != 1 {
		t.Fatalf("UTCTimings %+v", m.UTCTimings)
	}
	utc := m.UTCTimings[0]

	ast, err := time.Parse(time.RFC3339, string(m.AvailabilityStartTime))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Periods {
		periodStart := time.Duration(*p.Start)
		for j, as := range p.AdaptationSets {
			want := in.Periods[i].AdaptationSets[j]
			st := as.SegmentTemplate
			if st.AvailabilityTimeOffset != 1.8 || st.AvailabilityTimeComplete == nil || *st.AvailabilityTimeComplete {
				t.Errorf("period %d set %d: availabilityTimeOffset %v, availabilityTimeComplete %v", i, j, st.AvailabilityTimeOffset, st.AvailabilityTimeComplete)
			}
			if len(as.ProducerReferenceTimes) != 1 {
				t.Fatalf("period %d set %d: %d ProducerReferenceTimes", i, j, len(as.ProducerReferenceTimes))
			}
			prt := as.ProducerReferenceTimes[0]
			if prt.Id != want.ID || prt.Type != "encoder" || !prt.Inband || prt.PresentationTime != *st.PresentationTimeOffset ||
				prt.PresentationTime != want.PresentationTimeOffset {
				t.Errorf("period %d set %d: ProducerReferenceTime %+v", i, j, prt)
			}
			if prt.UTCTiming == nil || prt.UTCTiming.SchemeIdUri != utc.SchemeIdUri || prt.UTCTiming.Value != utc.Value {
				t.Errorf("period %d set %d: PRT UTCTiming %+v, MPD's %+v", i, j, prt.UTCTiming, utc)
			}
			wall, err := time.Parse(time.RFC3339Nano, prt.WallClockTime)
			if err != nil {
				t.Fatalf("wallClockTime %q: %v", prt.WallClockTime, err)
			}
			// dash.js: prt0 = wallClockTime − ((presentationTime − PTO)/timescale + Period@start);
			// the offset AST − prt0 is subtracted from the target latency.
			ts := float64(*st.Timescale)
			prt0 := float64(wall.UnixNano())/1e9 - ((float64(prt.PresentationTime)-float64(*st.PresentationTimeOffset))/ts + periodStart.Seconds())
			if off := float64(ast.Unix()) - prt0; off > 0.001 || off < -0.001 {
				t.Errorf("period %d set %d: producer reference is %.6f s off availabilityStartTime", i, j, off)
			}
		}
	}

	// The attribute dash.js switches to low-latency mode on, literally.
	if n := strings.Count(string(data), `availabilityTimeComplete="false"`); n != 6 {
		t.Errorf("%d availabilityTimeComplete=\"false\", want 6", n)
	}
	// dash-mpd reads and writes it back unchanged: nothing it does not know.
	var again bytes.Buffer
	if _, err := m.Write(&again, "  ", true); err != nil {
		t.Fatal(err)
	}
	again.WriteByte('\n')
	if again.String() != string(data) {
		t.Errorf("dash-mpd round trip differs:\n%s\n---\n%s", data, again.String())
	}
}

// schemaOrder is the order of child elements in ISO/IEC 23009-1's schema
// (MPDtype, ServiceDescriptionType, AdaptationSetType = RepresentationBase
// elements then its own, SegmentTemplate's, ProducerReferenceTimeType).
var schemaOrder = map[string][]string{
	"MPD": {"ProgramInformation", "BaseURL", "Location", "PatchLocation", "ServiceDescription", "InitializationSet",
		"InitializationGroup", "InitializationPresentation", "ContentProtection", "Period", "Metrics", "EssentialProperty",
		"SupplementalProperty", "UTCTiming", "LeapSecondInformation"},
	"ServiceDescription": {"Scope", "Latency", "PlaybackRate", "OperatingQuality", "OperatingBandwidth"},
	"Period":             {"BaseURL", "SegmentBase", "SegmentList", "SegmentTemplate", "AssetIdentifier", "EventStream", "ServiceDescription", "AdaptationSet", "Subset", "SupplementalProperty", "EmptyAdaptationSet", "GroupLabel", "Preselection"},
	"AdaptationSet": {"FramePacking", "AudioChannelConfiguration", "ContentProtection", "OutputProtection", "EssentialProperty",
		"SupplementalProperty", "InbandEventStream", "Switching", "RandomAccess", "GroupLabel", "Label", "ProducerReferenceTime",
		"ContentPopularityRate", "Resync", "Accessibility", "Role", "Rating", "Viewpoint", "ContentComponent", "BaseURL",
		"SegmentBase", "SegmentList", "SegmentTemplate", "Representation"},
	"ProducerReferenceTime": {"UTCTiming"},
	"SegmentTemplate":       {"Initialization", "RepresentationIndex", "FailoverContent", "SegmentTimeline", "BitstreamSwitching"},
}

// schemaProblems walks the XML and lists children of a known element that
// the schema does not allow there or puts earlier; seen counts elements.
func schemaProblems(data []byte) (problems []string, seen map[string]int, err error) {
	seen = map[string]int{}
	type frame struct {
		name string
		rank int
	}
	var stack []frame
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return problems, seen, nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch e := tok.(type) {
		case xml.StartElement:
			name := e.Name.Local
			seen[name]++
			if len(stack) > 0 {
				parent := &stack[len(stack)-1]
				if order, ok := schemaOrder[parent.name]; ok {
					rank := slices.Index(order, name)
					switch {
					case rank < 0:
						problems = append(problems, parent.name+" has a child "+name+" the schema does not allow")
					case rank < parent.rank:
						problems = append(problems, parent.name+": "+name+" after "+order[parent.rank])
					default:
						parent.rank = rank
					}
				}
			}
			stack = append(stack, frame{name: name})
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// TestLowLatencySchemaOrder: the added elements sit where the schema
// orders them (ServiceDescription before Period, ProducerReferenceTime
// after Label and before Role and SegmentTemplate, UTCTiming last).
func TestLowLatencySchemaOrder(t *testing.T) {
	data, err := Marshal(llMPD(testLL()))
	if err != nil {
		t.Fatal(err)
	}
	problems, seen, err := schemaProblems(data)
	if err != nil || len(problems) > 0 {
		t.Errorf("schema order (%v): %v", err, problems)
	}
	if seen["ServiceDescription"] != 1 || seen["ProducerReferenceTime"] != 6 || seen["Role"] != 4 || seen["Label"] != 4 || seen["UTCTiming"] != 7 {
		t.Errorf("elements %v", seen)
	}
	// The checker itself: a ProducerReferenceTime after Role is caught.
	bad := strings.Replace(string(data), "<Role ", "<Role></Role><ProducerReferenceTime></ProducerReferenceTime><Role ", 1)
	if problems, _, _ := schemaProblems([]byte(bad)); len(problems) != 1 {
		t.Errorf("a ProducerReferenceTime after Role: %v", problems)
	}
}

// TestLowLatencyOff: no LowLatency, or a static MPD, renders what the MPD
// rendered before low latency existed; an ATO that is not a whole number of
// milliseconds is rounded down.
func TestLowLatencyOff(t *testing.T) {
	plain := llMPD(nil)
	before, err := Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"ServiceDescription", "ProducerReferenceTime", "availabilityTime", ProfileLowLatency} {
		if strings.Contains(string(before), s) {
			t.Errorf("an MPD without LowLatency has %s", s)
		}
	}
	static := llMPD(nil)
	static.Dynamic, static.MediaPresentationDuration = false, 10*time.Second
	want, err := Marshal(static)
	if err != nil {
		t.Fatal(err)
	}
	static.LowLatency = testLL()
	if got, err := Marshal(static); err != nil || !bytes.Equal(got, want) {
		t.Errorf("a static MPD changed with LowLatency (err %v):\n%s", err, got)
	}

	ll := testLL()
	ll.SegmentDuration, ll.ChunkDuration = 2002*time.Millisecond, 200200*time.Microsecond
	ll.MinLatency, ll.MaxLatency, ll.MinPlaybackRate, ll.MaxPlaybackRate, ll.InbandPrft = 0, 0, 0, 0, false
	data, err := Marshal(llMPD(ll))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !strings.Contains(s, `availabilityTimeOffset="1.801"`) || strings.Contains(s, "PlaybackRate") ||
		strings.Contains(s, ` min=`) || strings.Contains(s, ` max=`) || strings.Contains(s, "inband") {
		t.Errorf("optional values:\n%s", s)
	}
}

func TestLowLatencyInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*MPD)
	}{
		{"no chunk duration", func(m *MPD) { m.LowLatency.ChunkDuration = 0 }},
		{"chunk as long as the segment", func(m *MPD) { m.LowLatency.ChunkDuration = m.LowLatency.SegmentDuration }},
		{"no target", func(m *MPD) { m.LowLatency.TargetLatency = 0 }},
		{"min above target", func(m *MPD) { m.LowLatency.MinLatency = 2 * time.Second }},
		{"max below target", func(m *MPD) { m.LowLatency.MaxLatency = time.Second }},
		{"min rate above 1", func(m *MPD) { m.LowLatency.MinPlaybackRate = 1.1 }},
		{"max rate below 1", func(m *MPD) { m.LowLatency.MaxPlaybackRate = 0.9 }},
		{"no UTCTiming", func(m *MPD) { m.UTCTimingURL = "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := llMPD(testLL())
			tc.edit(m)
			if _, err := Marshal(m); !errors.Is(err, ErrLowLatency) {
				t.Errorf("err %v, want ErrLowLatency", err)
			}
		})
	}
}
