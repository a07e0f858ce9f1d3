package packager

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/packager/window"

	"github.com/ospreyvideo/osprey/internal/clocktest"
)

// seg is a decoded media segment.
type seg struct {
	seq     uint32
	tfdt    uint64
	dur     uint64
	samples []mp4.FullSample
}

func readSeg(t testing.TB, st *memStore, key string) seg {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(st.get(t, key)))
	if err != nil {
		t.Fatalf("decoding %s: %v", key, err)
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
		t.Fatalf("%s: want one fragment", key)
	}
	fr := f.Segments[0].Fragments[0]
	full, err := fr.GetFullSamples(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := seg{seq: fr.Moof.Mfhd.SequenceNumber, tfdt: fr.Moof.Traf.Tfdt.BaseMediaDecodeTime(), samples: full}
	for _, x := range full {
		s.dur += uint64(x.Dur)
	}
	return s
}

func readMedia(t testing.TB, st *memStore, key string) *playlist.Media {
	t.Helper()
	var m playlist.Media
	if err := m.Unmarshal(st.get(t, key)); err != nil {
		t.Fatalf("parsing %s: %v\n%s", key, err, st.get(t, key))
	}
	return &m
}

// Independent MPD reading model (the packager writes with dash-mpd).
type xMPD struct {
	XMLName xml.Name `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Type    string   `xml:"type,attr"`
	AST     string   `xml:"availabilityStartTime,attr"`
	MUP     string   `xml:"minimumUpdatePeriod,attr"`
	MPDur   string   `xml:"mediaPresentationDuration,attr"`
	TSBD    string   `xml:"timeShiftBufferDepth,attr"`
	Periods []struct {
		ID    string `xml:"id,attr"`
		Start string `xml:"start,attr"`
		AS    []xAS  `xml:"AdaptationSet"`
	} `xml:"Period"`
	UTC []struct {
		Value string `xml:"value,attr"`
	} `xml:"UTCTiming"`
}

type xAS struct {
	ContentType string `xml:"contentType,attr"`
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
		FrameRate string `xml:"frameRate,attr"`
	} `xml:"Representation"`
}

type tl struct{ n, t, d uint64 }

func (a *xAS) timeline() []tl {
	var out []tl
	var t uint64
	n := a.ST.Start
	for _, s := range a.ST.S {
		if s.T != nil {
			t = *s.T
		}
		for range s.R + 1 {
			out = append(out, tl{n, t, s.D})
			t += s.D
			n++
		}
	}
	return out
}

func readMPD(t testing.TB, st *memStore) *xMPD {
	t.Helper()
	var m xMPD
	if err := xml.Unmarshal(st.get(t, "live/ch/manifest.mpd"), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func segNum(t testing.TB, uri string) uint64 {
	t.Helper()
	var n uint64
	if _, err := fmt.Sscanf(uri, "%d.m4s", &n); err != nil {
		t.Fatalf("segment URI %q: %v", uri, err)
	}
	return n
}

func TestLiveLadder(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    synth
	}{
		{"aligned", synth{gop: 60}},
		{"bframes", synth{gop: 60, bframes: true}},
		{"skewed", synth{gop: 60, skew: []time.Duration{0, -300 * time.Millisecond, 400 * time.Millisecond, 900 * time.Millisecond}}},
		{"gop1s", synth{gop: 30}},
		{"offset-origin", synth{gop: 60, origin: 1234567 * time.Microsecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			l := newTestLive(t, st, clocktest.New(sessionStart.Add(time.Minute)), Config{Window: 10}, sessionStart)
			tc.s.rends = ladder()
			if err := l.Begin(tc.s.rends); err != nil {
				t.Fatal(err)
			}
			feed(t, l, tc.s.units(-time.Second, tc.s.origin+11*time.Second))
			checkLadder(t, st, l, tc.s.origin, tc.s.bframes)
		})
	}
}

func checkLadder(t *testing.T, st *memStore, l *Live, origin time.Duration, bframes bool) {
	t.Helper()
	// Segments are published while units arrive: 0..4 are complete (cuts at 0,2,4,6,8,10 s).
	var lists [4]*playlist.Media
	for i, name := range []string{"720p", "480p", "360p", "audio"} {
		lists[i] = readMedia(t, st, "live/ch/s1/"+name+"/index.m3u8")
		if lists[i].Endlist {
			t.Fatalf("%s: ENDLIST while live", name)
		}
	}
	if len(lists[0].Segments) != 5 {
		t.Fatalf("720p lists %d segments, want 5", len(lists[0].Segments))
	}
	for i, m := range lists {
		if m.MediaSequence != lists[0].MediaSequence || len(m.Segments) != len(lists[0].Segments) {
			t.Fatalf("playlist %d: sequence %d, %d segments; 720p: %d, %d", i, m.MediaSequence, len(m.Segments), lists[0].MediaSequence, len(lists[0].Segments))
		}
		if m.TargetDuration != 2 || m.Version != hls.Version || m.Map == nil || m.Map.URI != "init-0.mp4" {
			t.Errorf("playlist %d header: td=%d v=%d map=%+v", i, m.TargetDuration, m.Version, m.Map)
		}
	}
	names := []string{"720p", "480p", "360p", "audio"}
	prevEnd := map[string]uint64{}
	for k, s0 := range lists[0].Segments {
		n := segNum(t, s0.URI)
		if n != uint64(lists[0].MediaSequence+k) {
			t.Fatalf("segment %d named %s, media sequence %d", k, s0.URI, lists[0].MediaSequence+k)
		}
		// Cut instant: the keyframe at k*2s.
		cutPTS := origin + tick90(int64(k)*180000)
		wantPDT := sessionStart.Add(cutPTS)
		for i, m := range lists {
			s := m.Segments[k]
			if s.URI != s0.URI {
				t.Errorf("%s segment %d is %s, 720p has %s", names[i], k, s.URI, s0.URI)
			}
			got := readSeg(t, st, "live/ch/s1/"+names[i]+"/"+s.URI)
			if uint64(got.seq) != n {
				t.Errorf("%s/%s: mfhd sequence %d", names[i], s.URI, got.seq)
			}
			ts := uint64(90000)
			if names[i] == "audio" {
				ts = 48000
			}
			// Epoch-locked tfdt and PDT.
			pdt := timeline.Time(got.tfdt, uint32(ts))
			if i < 3 {
				if pdt.Sub(wantPDT).Abs() > 12*time.Microsecond {
					t.Errorf("%s/%s: tfdt %d is %v, want %v", names[i], s.URI, got.tfdt, pdt, wantPDT)
				}
				if !got.samples[0].IsSync() {
					t.Errorf("%s/%s does not start with a sync sample", names[i], s.URI)
				}
				// tfdt is the keyframe's presentation time: its offset is 0, B-frames' are negative.
				if got.samples[0].CompositionTimeOffset != 0 {
					t.Errorf("%s/%s: first cto %d", names[i], s.URI, got.samples[0].CompositionTimeOffset)
				}
				if bframes && got.samples[2].CompositionTimeOffset != -3000 {
					t.Errorf("%s/%s: B-frame cto %d, want -3000", names[i], s.URI, got.samples[2].CompositionTimeOffset)
				}
				if len(got.samples) != 60 {
					t.Errorf("%s/%s: %d frames", names[i], s.URI, len(got.samples))
				}
			} else if d := pdt.Sub(wantPDT); d < -21*time.Microsecond || d >= 21334*time.Microsecond { // one 48 kHz tick of rounding
				t.Errorf("audio/%s starts %v after the video cut, want within one frame", s.URI, d)
			}
			if s.DateTime == nil || s.DateTime.Sub(pdt).Abs() > time.Millisecond {
				t.Errorf("%s/%s: PDT %v, tfdt says %v", names[i], s.URI, s.DateTime, pdt)
			}
			if want := time.Duration(got.dur) * time.Second / time.Duration(ts); (s.Duration - want).Abs() > time.Millisecond {
				t.Errorf("%s/%s: EXTINF %v, samples last %v", names[i], s.URI, s.Duration, want)
			}
			if e, ok := prevEnd[names[i]]; ok && e != got.tfdt {
				t.Errorf("%s/%s: tfdt %d, previous segment ended at %d", names[i], s.URI, got.tfdt, e)
			}
			prevEnd[names[i]] = got.tfdt + got.dur
			// Decode times strictly increase and every sample's PTS is on the 90k grid of the input.
			for j := 1; j < len(got.samples); j++ {
				if got.samples[j].DecodeTime <= got.samples[j-1].DecodeTime {
					t.Fatalf("%s/%s: decode time not increasing at sample %d", names[i], s.URI, j)
				}
			}
		}
	}
	// DASH: one period, video timeline = 720p segments, same numbers.
	m := readMPD(t, st)
	if m.Type != "dynamic" || m.AST != "1970-01-01T00:00:00Z" || len(m.Periods) != 1 || len(m.UTC) != 1 || m.UTC[0].Value != "/time" {
		t.Fatalf("MPD %+v", m)
	}
	p := m.Periods[0]
	if len(p.AS) != 2 || p.AS[0].ContentType != "video" || len(p.AS[0].Reps) != 3 || p.AS[1].ContentType != "audio" {
		t.Fatalf("adaptation sets %+v", p.AS)
	}
	for a, as := range p.AS {
		tline := as.timeline()
		if len(tline) != 5 {
			t.Fatalf("AS %d: %d segments in timeline", a, len(tline))
		}
		name := []string{"720p", "audio"}[a]
		for k, e := range tline {
			got := readSeg(t, st, fmt.Sprintf("live/ch/s1/%s/%d.m4s", name, e.n))
			if got.tfdt != e.t || got.dur != e.d {
				t.Errorf("AS %d segment %d: timeline t=%d d=%d, segment tfdt=%d dur=%d", a, e.n, e.t, e.d, got.tfdt, got.dur)
			}
			if k == 0 && as.ST.PTO > e.t {
				t.Errorf("PTO %d after first segment %d", as.ST.PTO, e.t)
			}
		}
		if as.ST.Init != "s1/$RepresentationID$/init-0.mp4" || as.ST.Media != "s1/$RepresentationID$/$Number$.m4s" {
			t.Errorf("templates %q, %q", as.ST.Init, as.ST.Media)
		}
	}
	if !st.has("live/ch/s1/720p/init-0.mp4") || !st.has("live/ch/s1/audio/init-0.mp4") {
		t.Error("init segments missing")
	}
	stats := l.Stats()
	if stats.SegmentsPublished != 5 || stats.Renditions[0].FrameRate < 29.99 || stats.Renditions[0].FrameRate > 30.01 {
		t.Errorf("stats %+v", stats)
	}
}

// Interleaving between tracks must not change what is stored.
func TestSkewDoesNotChangeOutput(t *testing.T) {
	run := func(skew []time.Duration) *memStore {
		st := newMemStore()
		l := newTestLive(t, st, clocktest.New(sessionStart), Config{Window: 10}, sessionStart)
		s := synth{gop: 60, rends: ladder(), skew: skew}
		if err := l.Begin(s.rends); err != nil {
			t.Fatal(err)
		}
		feed(t, l, s.units(0, 13*time.Second))
		if err := l.End(context.Background()); err != nil {
			t.Fatal(err)
		}
		return st
	}
	ref := run(nil)
	for _, skew := range [][]time.Duration{
		{0, 0, 0, time.Second},
		{0, -time.Second, 500 * time.Millisecond, -800 * time.Millisecond},
		{time.Second, 0, 0, 0},
	} {
		got := run(skew)
		keys := ref.keys("live/ch/")
		if len(keys) != len(got.keys("live/ch/")) {
			t.Fatalf("skew %v: %d objects, want %d", skew, len(got.keys("live/ch/")), len(keys))
		}
		for _, k := range keys {
			if strings.HasSuffix(k, ".mpd") || strings.HasSuffix(k, ".json") {
				continue // publish times
			}
			if !bytes.Equal(ref.get(t, k), got.get(t, k)) {
				t.Errorf("skew %v: %s differs", skew, k)
			}
		}
	}
}

func TestCutRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		gop     int
		dur     time.Duration
		wantDur []time.Duration // EXTINF of 720p
		wantTD  int
	}{
		{"keyframes every 1s cut every 2s", 30, 9 * time.Second, []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, time.Second}, 2},
		{"long GOP makes long segments", 90, 10 * time.Second, []time.Duration{3 * time.Second, 3 * time.Second, 3 * time.Second, time.Second}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			l := newTestLive(t, st, clocktest.New(sessionStart), Config{}, sessionStart)
			s := synth{gop: tc.gop, rends: ladder()}
			if err := l.Begin(s.rends); err != nil {
				t.Fatal(err)
			}
			feed(t, l, s.units(0, tc.dur))
			if err := l.End(context.Background()); err != nil {
				t.Fatal(err)
			}
			m := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
			if !m.Endlist || m.TargetDuration != tc.wantTD {
				t.Errorf("endlist=%v td=%d", m.Endlist, m.TargetDuration)
			}
			var got []time.Duration
			for _, s := range m.Segments {
				got = append(got, s.Duration.Round(time.Millisecond))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.wantDur) {
				t.Errorf("durations %v, want %v", got, tc.wantDur)
			}
			a := readMedia(t, st, "live/ch/s1/audio/index.m3u8")
			if len(a.Segments) != len(m.Segments) {
				t.Errorf("audio has %d segments, video %d", len(a.Segments), len(m.Segments))
			}
		})
	}
}

func TestMisalignedRungWaitsForKeyframe(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{}, sessionStart)
	// 360p's keyframes come 10 frames late.
	s := synth{gop: 60, rends: ladder(), keyPlus: map[int]int{2: -10 + 60}}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 9*time.Second))
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := readMedia(t, st, "live/ch/s1/360p/index.m3u8")
	ref := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
	if m.MediaSequence != ref.MediaSequence || len(m.Segments) != len(ref.Segments) {
		t.Fatalf("360p: seq %d len %d; 720p: seq %d len %d", m.MediaSequence, len(m.Segments), ref.MediaSequence, len(ref.Segments))
	}
	for _, s := range m.Segments[1:] {
		got := readSeg(t, st, "live/ch/s1/360p/"+s.URI)
		if !got.samples[0].IsSync() {
			t.Errorf("360p/%s starts without a keyframe", s.URI)
		}
	}
}

func TestRestartAndNewCodecParams(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	l := newTestLive(t, st, clk, Config{Window: 20}, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 5*time.Second)) // segments 0,1 and a short 2 (4..5 s) flushed at Begin
	// Transcoder restarts with the same parameters; media resumes at 7 s.
	s2 := synth{gop: 60, rends: ladder(), origin: 7 * time.Second}
	if err := l.Begin(s2.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s2.units(7*time.Second, 12*time.Second)) // 3, 4 and short 5
	// Restart with a new 720p SPS (now 640x360 parameters under the same name).
	r3 := ladder()
	r3[0].Track = videoTrack(sps360, 640, 360)
	s3 := synth{gop: 60, rends: r3, origin: 13 * time.Second}
	if err := l.Begin(r3); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s3.units(13*time.Second, 17*time.Second+time.Millisecond)) // 6, 7 and a one-frame 8
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, name := range []string{"720p", "audio"} {
		m := readMedia(t, st, "live/ch/s1/"+name+"/index.m3u8")
		var disc []int
		for i, s := range m.Segments {
			if s.Discontinuity {
				disc = append(disc, i)
			}
		}
		if fmt.Sprint(disc) != "[3 6]" || *m.DiscontinuitySequence != 0 || m.MediaSequence != 0 || len(m.Segments) != 9 {
			t.Errorf("%s: discontinuities at %v, dseq %d, seq %d, %d segments", name, disc, *m.DiscontinuitySequence, m.MediaSequence, len(m.Segments))
		}
		text := string(st.get(t, "live/ch/s1/"+name+"/index.m3u8"))
		if strings.Count(text, "#EXT-X-MAP:") != 2 || !strings.Contains(text, "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-1.mp4\"") {
			t.Errorf("%s: EXT-X-MAP not repeated exactly at the init change:\n%s", name, text)
		}
		// Flushed segment 2 ends at the last frame (4.0 .. 5.0 s).
		if d := m.Segments[2].Duration; (d - time.Second).Abs() > 25*time.Millisecond {
			t.Errorf("%s: flushed segment lasts %v", name, d)
		}
	}
	// 720p init-1 carries the new SPS.
	f, err := mp4.DecodeFile(bytes.NewReader(st.get(t, "live/ch/s1/720p/init-1.mp4")))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX.AvcC.SPSnalus[0]; !bytes.Equal(got, sps360) {
		t.Error("init-1 does not carry the new SPS")
	}
	// Static MPD: two periods (init changed at segment 6); the restart with the
	// same init stays in period one with an explicit S@t after the gap.
	mpd := readMPD(t, st)
	if mpd.Type != "static" || mpd.MUP != "" || len(mpd.Periods) != 2 {
		t.Fatalf("MPD type=%s mup=%q periods=%d", mpd.Type, mpd.MUP, len(mpd.Periods))
	}
	p0, p1 := mpd.Periods[0], mpd.Periods[1]
	v0, v1 := p0.AS[0].timeline(), p1.AS[0].timeline()
	if len(v0) != 6 || len(v1) != 3 || v1[0].n != 6 || p1.AS[0].ST.Init != "s1/$RepresentationID$/init-1.mp4" {
		t.Fatalf("timelines %v / %v", v0, v1)
	}
	if v0[3].t != v0[2].t+v0[2].d+2*90000 {
		t.Errorf("restart gap not explicit: %v", v0)
	}
	if p0.Start != "PT0S" || p0.AS[0].ST.PTO != v0[0].t {
		t.Errorf("static period 0 start %s PTO %d first t %d", p0.Start, p0.AS[0].ST.PTO, v0[0].t)
	}
	// Period 1 starts 13 s after the presentation start; its PTO maps to that.
	if p1.Start != "PT13S" || p1.AS[0].ST.PTO != v1[0].t {
		t.Errorf("period 1 start %s PTO %d first t %d", p1.Start, p1.AS[0].ST.PTO, v1[0].t)
	}
	if stats := l.Stats(); stats.Epochs != 3 || stats.Discontinuities != 2 {
		t.Errorf("stats %+v", stats)
	}
}

func TestCountersSurviveSessionsAndCrashes(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
	seen := map[string][]byte{}
	record := func() {
		for _, k := range st.keys("live/ch/") {
			if strings.HasSuffix(k, ".m4s") || strings.HasSuffix(k, ".mp4") {
				if old, ok := seen[k]; ok && !bytes.Equal(old, st.get(t, k)) {
					t.Fatalf("%s rewritten with different bytes", k)
				}
				seen[k] = st.get(t, k)
			}
		}
	}
	// Session 1 ends normally.
	l := newTestLive(t, st, clk, cfg, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 9*time.Second))
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	record()
	m1 := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
	last1 := segNum(t, m1.Segments[len(m1.Segments)-1].URI)

	// Session 2 starts later, crashes without End after a few segments.
	clk.Advance(time.Minute)
	start2 := sessionStart.Add(time.Minute)
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l2, s.units(0, 5*time.Second))
	record()
	m2 := readMedia(t, st, "live/ch/s2/720p/index.m3u8")
	first2 := segNum(t, m2.Segments[0].URI)
	if first2 != last1+1 || !m2.Segments[0].Discontinuity || *m2.DiscontinuitySequence != 0 || m2.Map.URI != "init-1.mp4" {
		t.Errorf("session 2 starts at %d (after %d), disc=%v dseq=%d map=%s", first2, last1, m2.Segments[0].Discontinuity, *m2.DiscontinuitySequence, m2.Map.URI)
	}
	// Session 1's window is deleted only after the grace period.
	if !st.has(fmt.Sprintf("live/ch/s1/720p/%d.m4s", last1)) {
		t.Error("session 1 segment deleted before grace")
	}
	lastWritten := uint64(0)
	for _, k := range st.keys("live/ch/s2/720p/") {
		var n uint64
		if _, err := fmt.Sscanf(k, "live/ch/s2/720p/%d.m4s", &n); err == nil {
			lastWritten = max(lastWritten, n)
		}
	}

	// Process restart: session 3 on the same store, without End of session 2,
	// too late to continue it (see TestContinue* for a continuation).
	clk.Advance(DefaultContinueGrace + time.Second)
	l3 := newTestLive(t, st, clk, cfg, sessionStart.Add(2*time.Minute))
	if err := l3.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l3, s.units(0, 7*time.Second))
	record()
	m3 := readMedia(t, st, "live/ch/s3/720p/index.m3u8")
	first3 := segNum(t, m3.Segments[0].URI)
	if first3 <= lastWritten {
		t.Errorf("session 3 reuses segment numbers: starts at %d, %d was written", first3, lastWritten)
	}
	if m3.Map.URI != "init-2.mp4" || *m3.DiscontinuitySequence != 1 || !m3.Segments[0].Discontinuity {
		t.Errorf("session 3 map=%s dseq=%d", m3.Map.URI, *m3.DiscontinuitySequence)
	}
	// Session 1's objects were due 20 s after session 2's first publish: gone.
	if keys := st.keys("live/ch/s1/"); len(keys) > 0 {
		t.Errorf("session 1 objects not deleted after grace: %v", keys)
	}
	// Session 2's objects (crashed) are still there until session 3's grace passes.
	if !st.has(fmt.Sprintf("live/ch/s2/720p/%d.m4s", lastWritten)) {
		t.Error("session 2 objects deleted before grace")
	}
	clk.Advance(21 * time.Second)
	feed(t, l3, s.units(7*time.Second, 9*time.Second))
	if keys := st.keys("live/ch/s2/"); len(keys) > 0 {
		t.Errorf("session 2 objects not deleted after grace: %v", keys)
	}
	var state window.File
	if err := json.Unmarshal(st.get(t, "live/ch/state.json"), &state); err != nil {
		t.Fatal(err)
	}
	if state.NextSegment <= segNum(t, readMedia(t, st, "live/ch/s3/720p/index.m3u8").Segments[0].URI) || state.NextInit != 3 || state.NextSession != 4 {
		t.Errorf("state %+v", state)
	}
}

func TestWindowSlidesAndDeletesAfterGrace(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	l := newTestLive(t, st, clk, Config{Window: 3, DeleteGrace: 5 * time.Second}, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	// Feed in real time: 2 s of media per 2 s of clock.
	for sec := 0; sec < 20; sec += 2 {
		feed(t, l, s.units(time.Duration(sec)*time.Second, time.Duration(sec+2)*time.Second))
		clk.Advance(2 * time.Second)
	}
	m := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
	if len(m.Segments) != 3 {
		t.Fatalf("%d segments listed, want 3", len(m.Segments))
	}
	first := segNum(t, m.Segments[0].URI)
	mpd := readMPD(t, st)
	if tline := mpd.Periods[0].AS[0].timeline(); len(tline) != 3 || tline[0].n != first {
		t.Errorf("MPD timeline %v, playlist starts at %d", tline, first)
	}
	if mpd.TSBD != "PT6S" {
		t.Errorf("timeShiftBufferDepth %s", mpd.TSBD)
	}
	// Segments that left the window less than 5 s ago remain; older ones are gone.
	for n := uint64(0); n < first; n++ {
		// It left the window at the publish left-1 publishes (2 s each) before
		// the last one, so its 5 s grace is over from left >= 4 on.
		left := first - n
		exists := st.has(fmt.Sprintf("live/ch/s1/720p/%d.m4s", n))
		if wantExists := left <= 3; exists != wantExists {
			t.Errorf("segment %d (left %d publishes ago): exists=%v", n, left, exists)
		}
		if st.has(fmt.Sprintf("live/ch/s1/audio/%d.m4s", n)) != exists {
			t.Errorf("segment %d: audio and video deletion differ", n)
		}
	}
	if !st.has("live/ch/s1/720p/init-0.mp4") {
		t.Error("init deleted while referenced")
	}
}

func TestPublishOrderAndMultivariant(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{}, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 7*time.Second))
	// Every segment and init is stored before the first manifest that names it.
	for _, name := range []string{"720p", "audio"} {
		pl := st.putIndex("live/ch/s1/" + name + "/index.m3u8")
		for _, k := range []string{"init-0.mp4", "0.m4s"} {
			if i := st.putIndex("live/ch/s1/" + name + "/" + k); i < 0 || i > pl {
				t.Errorf("%s/%s stored at %d, playlist at %d", name, k, i, pl)
			}
		}
	}
	if mv, pl := st.putIndex("live/ch/index.m3u8"), st.putIndex("live/ch/s1/360p/index.m3u8"); mv < pl {
		t.Error("multivariant written before the media playlists")
	}
	pl, err := playlist.Unmarshal(st.get(t, "live/ch/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	mv := pl.(*playlist.Multivariant)
	if len(mv.Variants) != 3 || len(mv.Renditions) != 1 || !mv.IndependentSegments {
		t.Fatalf("multivariant %+v", mv)
	}
	v := mv.Variants[0]
	if v.URI != "s1/720p/index.m3u8" || v.Resolution != "1280x720" || *v.FrameRate != 30 || v.Audio != "audio" ||
		strings.Join(v.Codecs, ",") != "avc1.64001F,mp4a.40.2" {
		t.Errorf("720p variant %+v", v)
	}
	// Declared: 3.3 Mb/s peak, 3.0 Mb/s average; audio declared 128 kb/s average, its measured peak on top.
	if v.Bandwidth < 3_300_000+128_000 || *v.AverageBandwidth != 3_000_000+128_000 {
		t.Errorf("720p bandwidth %d average %d", v.Bandwidth, *v.AverageBandwidth)
	}
	v3 := mv.Variants[2]
	if v3.Resolution != "640x360" || strings.Join(v3.Codecs, ",") != "avc1.64001E,mp4a.40.2" || v3.Bandwidth <= *v3.AverageBandwidth-1 {
		t.Errorf("360p variant %+v", v3)
	}
	r := mv.Renditions[0]
	if *r.URI != "s1/audio/index.m3u8" || *r.Channels != "2" || r.GroupID != "audio" || !r.Default {
		t.Errorf("audio rendition %+v", r)
	}
}

func TestAudioOnly(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{}, sessionStart)
	rs := []Rendition{{Name: "audio", Track: audioTrack()}}
	s := synth{rends: rs}
	if err := l.Begin(rs); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 7*time.Second))
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	pl, err := playlist.Unmarshal(st.get(t, "live/ch/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	mv := pl.(*playlist.Multivariant)
	if len(mv.Variants) != 1 || mv.Variants[0].URI != "s1/audio/index.m3u8" || mv.Variants[0].Codecs[0] != "mp4a.40.2" {
		t.Fatalf("multivariant %+v", mv.Variants)
	}
	m := readMedia(t, st, "live/ch/s1/audio/index.m3u8")
	if len(m.Segments) != 4 || !m.Endlist {
		t.Fatalf("%d audio segments", len(m.Segments))
	}
	for _, s := range m.Segments[:3] {
		if (s.Duration - 2*time.Second).Abs() > 22*time.Millisecond {
			t.Errorf("audio segment %s lasts %v", s.URI, s.Duration)
		}
	}
}

func TestErrors(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, nil, Config{}, sessionStart)
	if err := l.WriteUnit(0, &mediaUnitKey); err == nil {
		t.Error("WriteUnit before Begin accepted")
	}
	for _, rs := range [][]Rendition{
		nil,
		{{Name: "a/b", Track: audioTrack()}},
		{{Name: "x", Track: audioTrack()}, {Name: "x", Track: audioTrack()}},
		{{Name: "x"}},
		{{Name: "x", Track: &mediaTrackNoASC}},
	} {
		if err := l.Begin(rs); err == nil {
			t.Errorf("Begin(%+v) accepted", rs)
		}
	}
	if err := l.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteUnit(4, &mediaUnitKey); err == nil {
		t.Error("WriteUnit to rendition 4 accepted")
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.End(context.Background()); err != nil {
		t.Errorf("second End: %v", err)
	}
	if err := l.WriteUnit(0, &mediaUnitKey); err != ErrEnded {
		t.Errorf("WriteUnit after End: %v", err)
	}
}

func TestInbandParamSetsWinAndStoreFailureIsAGap(t *testing.T) {
	st := newMemStore()
	st.failPut = func(key string) bool { return key == "live/ch/s1/480p/1.m4s" }
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{}, sessionStart)
	setGiveUp(l, 4*time.Second) // the writer retries that long (above its 2 s backoff)
	rs := ladder()
	s := synth{gop: 60, rends: ladder()}
	rs[0].Track = videoTrack(sps480, 854, 480) // announced parameters are stale: in-band ones win
	if err := l.Begin(rs); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 7*time.Second))
	f, err := mp4.DecodeFile(bytes.NewReader(st.get(t, "live/ch/s1/720p/init-0.mp4")))
	if err != nil {
		t.Fatal(err)
	}
	if avcC := f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX.AvcC; !bytes.Equal(avcC.SPSnalus[0], sps720) {
		t.Error("init does not carry the in-band SPS")
	}
	m := readMedia(t, st, "live/ch/s1/480p/index.m3u8")
	if len(m.Segments) != 3 || m.Segments[0].Gap || !m.Segments[1].Gap || m.Segments[2].Gap {
		for _, sg := range m.Segments {
			t.Errorf("480p segment %+v", *sg)
		}
	}
	if l.Stats().StoreErrors == 0 {
		t.Error("store error not counted")
	}
}

// After a restart the first keyframe falls off the segment grid; cutting on
// the grid makes that first segment shorter, never longer than the target,
// so EXT-X-TARGETDURATION holds.
func TestCutsFollowTheSessionGridAfterRestart(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{Window: 20}, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 4*time.Second))
	// Restarted transcoder: keyframes every second from 7.3 s.
	s2 := synth{gop: 30, rends: ladder(), origin: 7300 * time.Millisecond}
	if err := l.Begin(s2.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s2.units(7300*time.Millisecond, 12300*time.Millisecond))
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
	var got []time.Duration
	for _, seg := range m.Segments {
		got = append(got, seg.Duration.Round(time.Millisecond))
	}
	// 0-2, 2-4 | 7.3-8.3 (to the first keyframe past 8 s), 8.3-10.3, 10.3-12.3
	want := []time.Duration{2 * time.Second, 2 * time.Second, time.Second, 2 * time.Second, 2 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) || m.TargetDuration != 2 {
		t.Errorf("durations %v (target %d), want %v (target 2)", got, m.TargetDuration, want)
	}
}

// A ladder may list audio between video renditions: every video rendition
// still lands in the one video AdaptationSet.
func TestMPDAudioBetweenVideoRenditions(t *testing.T) {
	st := newMemStore()
	l := newTestLive(t, st, clocktest.New(sessionStart), Config{}, sessionStart)
	rs := ladder()
	rs = []Rendition{rs[0], rs[3], rs[1], rs[2]}
	s := synth{gop: 60, rends: rs}
	if err := l.Begin(rs); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 5*time.Second))
	as := readMPD(t, st).Periods[0].AS
	if len(as) != 2 || as[0].ContentType != "video" || len(as[0].Reps) != 3 || as[1].ContentType != "audio" {
		t.Fatalf("adaptation sets %+v", as)
	}
	for i, want := range []string{"720p", "480p", "360p"} {
		if as[0].Reps[i].ID != want {
			t.Errorf("video representation %d is %s, want %s", i, as[0].Reps[i].ID, want)
		}
	}
}
