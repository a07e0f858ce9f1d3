package hls

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/packager/hls/llcheck"
)

var t0 = time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)

// parts returns n parts of segment msn lasting d each, the first
// independent, the last lasting last when it is not zero.
func parts(msn uint64, n int, d, last time.Duration) []Part {
	ps := make([]Part, n)
	for k := range ps {
		ps[k] = Part{URI: fmt.Sprintf("%d.%d.m4s", msn, k), Duration: d, Independent: k == 0}
	}
	if last > 0 && n > 0 {
		ps[n-1].Duration = last
	}
	return ps
}

// live builds an LL playlist of n one-second segments from msn first,
// parts (200 ms, five per segment) on the last withParts segments, open
// parts of the next one, a new init (and discontinuity) at segment
// newInit when it is in range.
func live(first uint64, n, withParts, open int, newInit uint64) *MediaPlaylist {
	p := &MediaPlaylist{
		TargetDuration:        1,
		MediaSequence:         first,
		DiscontinuitySequence: 4,
		PartTarget:            200 * time.Millisecond,
		ServerControl: &ServerControl{
			CanBlockReload: true, CanSkipUntil: 6 * time.Second, PartHoldBack: 600 * time.Millisecond,
		},
		RenditionReports: []RenditionReport{{URI: "../audio/index.m3u8"}},
	}
	at := func(msn uint64) time.Time { return t0.Add(time.Duration(msn) * time.Second) }
	for i := range n {
		msn := first + uint64(i)
		s := Segment{URI: strconv.FormatUint(msn, 10) + ".m4s", Duration: time.Second, ProgramDateTime: at(msn)}
		if i == 0 {
			s.Map = "init-1.mp4"
		}
		if msn == newInit {
			s.Map, s.Discontinuity = "init-2.mp4", true
		}
		if i >= n-withParts {
			s.Parts = parts(msn, 5, 200*time.Millisecond, 0)
		}
		p.Segments = append(p.Segments, s)
	}
	next := first + uint64(n)
	p.Open = &Segment{ProgramDateTime: at(next), Parts: parts(next, open, 200*time.Millisecond, 0)}
	if next == newInit {
		p.Open.Map, p.Open.Discontinuity = "init-2.mp4", true
	}
	p.PreloadHint = fmt.Sprintf("%d.%d.m4s", next, open)
	p.RenditionReports[0].LastMSN, p.RenditionReports[0].LastPart = next, open-1
	if open == 0 {
		p.RenditionReports[0].LastMSN, p.RenditionReports[0].LastPart = next-1, 4
	}
	return p
}

func TestLLPlaylistText(t *testing.T) {
	ended := live(10, 2, 1, 0, 0)
	ended.EndList = true
	ended.Open.Parts = parts(12, 1, 200*time.Millisecond, 0) // not written
	ended.Segments[1].Parts[4].Duration = 100 * time.Millisecond
	ended.Segments[1].Duration = 900 * time.Millisecond
	ended.Segments[1].Gap = true
	ended.Segments[1].Parts[3].Gap = true

	tests := []struct {
		name  string
		p     *MediaPlaylist
		delta bool
		want  string
	}{
		{"live", live(10, 2, 1, 2, 0), false, `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:10.000Z
#EXTINF:1.000,
10.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:11.000Z
#EXT-X-PART:DURATION=0.200,URI="11.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="11.1.m4s"
#EXT-X-PART:DURATION=0.200,URI="11.2.m4s"
#EXT-X-PART:DURATION=0.200,URI="11.3.m4s"
#EXT-X-PART:DURATION=0.200,URI="11.4.m4s"
#EXTINF:1.000,
11.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:12.000Z
#EXT-X-PART:DURATION=0.200,URI="12.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="12.1.m4s"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="12.2.m4s"
#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=12,LAST-PART=1
`},
		// The open segment starts a new init: its discontinuity and map
		// come before its first part (rfc8216bis 4.4.4.9).
		{"open segment with a new init", live(10, 1, 1, 1, 11), false, `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:10.000Z
#EXT-X-PART:DURATION=0.200,URI="10.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="10.1.m4s"
#EXT-X-PART:DURATION=0.200,URI="10.2.m4s"
#EXT-X-PART:DURATION=0.200,URI="10.3.m4s"
#EXT-X-PART:DURATION=0.200,URI="10.4.m4s"
#EXTINF:1.000,
10.m4s
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="init-2.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:11.000Z
#EXT-X-PART:DURATION=0.200,URI="11.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="11.1.m4s"
#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=11,LAST-PART=0
`},
		// Ended: no open parts, no preload hint; a gap part and a gap
		// segment.
		{"ended", ended, false, `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:10.000Z
#EXTINF:1.000,
10.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:11.000Z
#EXT-X-PART:DURATION=0.200,URI="11.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="11.1.m4s"
#EXT-X-PART:DURATION=0.200,URI="11.2.m4s"
#EXT-X-PART:DURATION=0.200,URI="11.3.m4s",GAP=YES
#EXT-X-PART:DURATION=0.100,URI="11.4.m4s"
#EXTINF:0.900,
#EXT-X-GAP
11.m4s
#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=11,LAST-PART=4
#EXT-X-ENDLIST
`},
		// Delta of 9 one-second segments with a 6 s boundary: the 3 that
		// end 6 s or more before the end are skipped; the first kept
		// carries the map in force.
		{"delta", live(10, 9, 2, 1, 0), true, `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=0.600
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-MEDIA-SEQUENCE:10
#EXT-X-DISCONTINUITY-SEQUENCE:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-SKIP:SKIPPED-SEGMENTS=3
#EXT-X-MAP:URI="init-1.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:13.000Z
#EXTINF:1.000,
13.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:14.000Z
#EXTINF:1.000,
14.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:15.000Z
#EXTINF:1.000,
15.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:16.000Z
#EXTINF:1.000,
16.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:17.000Z
#EXT-X-PART:DURATION=0.200,URI="17.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="17.1.m4s"
#EXT-X-PART:DURATION=0.200,URI="17.2.m4s"
#EXT-X-PART:DURATION=0.200,URI="17.3.m4s"
#EXT-X-PART:DURATION=0.200,URI="17.4.m4s"
#EXTINF:1.000,
17.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:18.000Z
#EXT-X-PART:DURATION=0.200,URI="18.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="18.1.m4s"
#EXT-X-PART:DURATION=0.200,URI="18.2.m4s"
#EXT-X-PART:DURATION=0.200,URI="18.3.m4s"
#EXT-X-PART:DURATION=0.200,URI="18.4.m4s"
#EXTINF:1.000,
18.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-07T18:00:19.000Z
#EXT-X-PART:DURATION=0.200,URI="19.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="19.1.m4s"
#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=19,LAST-PART=0
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var text []byte
			skipped := 0
			if tc.delta {
				text, skipped = tc.p.MarshalDelta()
			} else {
				text = tc.p.Marshal()
			}
			if string(text) != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", text, tc.want)
			}
			assertParsed(t, tc.p, text, skipped)
		})
	}
}

// assertParsed parses text with gohlslib and checks every field against
// p, whose first skipped segments text replaces by EXT-X-SKIP.
func assertParsed(t *testing.T, p *MediaPlaylist, text []byte, skipped int) {
	t.Helper()
	pl, err := llcheck.Parse(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	m := pl.Media
	wantVersion := Version
	if skipped > 0 {
		wantVersion = DeltaVersion
	}
	if m.Version != wantVersion || m.TargetDuration != p.TargetDuration || uint64(m.MediaSequence) != p.MediaSequence ||
		m.DiscontinuitySequence == nil || uint64(*m.DiscontinuitySequence) != p.DiscontinuitySequence ||
		m.Endlist != p.EndList || !m.IndependentSegments {
		t.Errorf("header: %+v", m)
	}
	if got := pl.Skipped(); got != skipped {
		t.Errorf("skipped %d, want %d", got, skipped)
	}
	if m.PartInf == nil || m.PartInf.PartTarget != p.PartTarget {
		t.Errorf("part inf %+v", m.PartInf)
	}
	sc := m.ServerControl
	if sc == nil || sc.CanBlockReload != p.ServerControl.CanBlockReload || sc.PartHoldBack == nil ||
		*sc.PartHoldBack != p.ServerControl.PartHoldBack || sc.CanSkipUntil == nil || *sc.CanSkipUntil != p.ServerControl.CanSkipUntil {
		t.Errorf("server control %+v", sc)
	}
	segs := p.Segments[skipped:]
	if len(m.Segments) != len(segs) {
		t.Fatalf("%d segments, want %d", len(m.Segments), len(segs))
	}
	for i, s := range m.Segments {
		w := segs[i]
		if s.URI != w.URI || s.Duration != w.Duration || s.DateTime == nil || !s.DateTime.Equal(w.ProgramDateTime) ||
			s.Discontinuity != w.Discontinuity || s.Gap != w.Gap {
			t.Errorf("segment %s: %+v", w.URI, s)
		}
		assertParts(t, w.URI, s.Parts, w.Parts)
		if want := p.mapBefore(skipped + i + 1); pl.Maps[i] != want {
			t.Errorf("segment %s: map %q, want %q", w.URI, pl.Maps[i], want)
		}
	}
	var open []Part
	if p.Open != nil && !p.EndList {
		open = p.Open.Parts
	}
	assertParts(t, "open segment", m.Parts, open)
	switch {
	case p.EndList && m.PreloadHint != nil:
		t.Errorf("preload hint in an ended playlist")
	case !p.EndList && (m.PreloadHint == nil || m.PreloadHint.URI != p.PreloadHint):
		t.Errorf("preload hint %+v, want %q", m.PreloadHint, p.PreloadHint)
	}
	if len(m.RenditionReport) != len(p.RenditionReports) {
		t.Fatalf("%d reports", len(m.RenditionReport))
	}
	for i, r := range m.RenditionReport {
		w := p.RenditionReports[i]
		if r.URI != w.URI || uint64(r.LastMSN) != w.LastMSN || r.LastPart == nil || *r.LastPart != w.LastPart {
			t.Errorf("report %+v, want %+v", r, w)
		}
	}
}

func assertParts(t *testing.T, where string, got []*playlist.MediaPart, want []Part) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d parts, want %d", where, len(got), len(want))
		return
	}
	for k, g := range got {
		w := want[k]
		if g.URI != w.URI || g.Duration != w.Duration || g.Independent != w.Independent || g.Gap != w.Gap {
			t.Errorf("%s part %d: %+v, want %+v", where, k, g, w)
		}
	}
}

func TestSkipCount(t *testing.T) {
	secs := func(ds ...float64) *MediaPlaylist {
		p := &MediaPlaylist{ServerControl: &ServerControl{CanSkipUntil: 6 * time.Second}}
		for _, d := range ds {
			p.Segments = append(p.Segments, Segment{Duration: time.Duration(d * float64(time.Second))})
		}
		return p
	}
	ended := secs(2, 2, 2, 2, 2)
	ended.EndList = true
	noSkip := secs(2, 2, 2, 2, 2)
	noSkip.ServerControl.CanSkipUntil = 0
	tests := []struct {
		name string
		p    *MediaPlaylist
		want int
	}{
		{"exactly the boundary: nothing", secs(2, 2, 2), 0},
		{"one segment ends at the boundary", secs(2, 2, 2, 2), 1},
		{"short segment", secs(2, 2, 2, 1.9, 2), 1},
		{"ends just short of it", secs(2, 1.999, 2, 2), 0},
		{"long playlist", secs(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), 6},
		{"ended", ended, 0},
		{"no CAN-SKIP-UNTIL", noSkip, 0},
		{"no server control", &MediaPlaylist{Segments: secs(2, 2, 2, 2, 2).Segments}, 0},
		{"empty", secs(), 0},
	}
	for _, tc := range tests {
		if got := tc.p.SkipCount(); got != tc.want {
			t.Errorf("%s: SkipCount = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestDeltaEqualsFull is the checker's property over many playlists: the
// delta update, applied onto the full playlist, is the full playlist, and
// both pass the LL checks; long playlists really skip.
func TestDeltaEqualsFull(t *testing.T) {
	for n := 1; n <= 14; n++ {
		for _, newInit := range []uint64{0, 100, 101, 103, 100 + uint64(n) - 1, 100 + uint64(n)} {
			for _, open := range []int{0, 1, 4} {
				p := live(100, n, min(n, 3), open, newInit)
				full := p.Marshal()
				delta, skipped := p.MarshalDelta()
				name := fmt.Sprintf("n=%d init@%d open=%d", n, newInit, open)
				if want := max(0, n-6); skipped != want {
					t.Errorf("%s: skipped %d, want %d", name, skipped, want)
				}
				if err := llcheck.Delta(full, delta, full); err != nil {
					t.Errorf("%s: %v\nfull:\n%s\ndelta:\n%s", name, err, full, delta)
				}
				for _, text := range [][]byte{full, delta} {
					if err := llcheck.Media(text, llcheck.Options{}); err != nil {
						t.Errorf("%s: %v\n%s", name, err, text)
					}
				}
			}
		}
	}
}

// Today's playlists are unchanged: no LL field, no new line, and no new
// JSON key in the state files that hold a playlist.
func TestNoLLFieldsLeavesOutputAlone(t *testing.T) {
	p := MediaPlaylist{TargetDuration: 2, MediaSequence: 3, Segments: []Segment{{URI: "3.m4s", Duration: 2 * time.Second, Map: "init-1.mp4"}}}
	const want = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:3\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n" +
		"#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init-1.mp4\"\n#EXTINF:2.000,\n3.m4s\n"
	if got := string(p.Marshal()); got != want {
		t.Fatalf("got:\n%s", got)
	}
	if delta, skipped := p.MarshalDelta(); skipped != 0 || string(delta) != want {
		t.Fatalf("delta of a playlist without CAN-SKIP-UNTIL: %d skipped\n%s", skipped, delta)
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"PartTarget", "ServerControl", "Open", "PreloadHint", "RenditionReports", "Parts"} {
		if strings.Contains(string(js), key) {
			t.Errorf("JSON has %s: %s", key, js)
		}
	}
	var back MediaPlaylist
	ll := live(5, 3, 2, 2, 6)
	js, err = json.Marshal(ll)
	if err == nil {
		err = json.Unmarshal(js, &back)
	}
	if err != nil || string(back.Marshal()) != string(ll.Marshal()) {
		t.Fatalf("LL playlist does not survive JSON (%v):\n%s", err, js)
	}
}
