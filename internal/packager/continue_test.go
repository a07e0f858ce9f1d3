package packager

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/hls/llcheck"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// crashLive runs a session of the test ladder that publishes segments 0..3
// (8 s of media) and then dies without End. The clock stands at the last
// publish.
func crashLive(t *testing.T, cfg Config) (*memStore, *fakeClock) {
	t.Helper()
	st, clk, l, s := beginLive(t, cfg)
	feed(t, l, s.units(0, 9*time.Second)) // 0..3 published, 4 open
	if ps := readState(t, st).Session; ps == nil || !ps.Live || !ps.Published.Equal(sessionStart) {
		t.Fatalf("state after the crash: %+v", ps)
	}
	return st, clk
}

// checkListedExist fails if a media playlist the multivariant playlist
// names lists a segment or init segment that is not stored, or if its
// media sequence does not number its segments (URI n is MEDIA-SEQUENCE
// plus its position: the sequence numbers never change from one reload to
// the next).
func checkListedExist(t *testing.T, st *memStore) {
	t.Helper()
	for _, k := range mediaPlaylists(t, st) {
		m := readMedia(t, st, k)
		dir := k[:strings.LastIndex(k, "/")+1]
		for i, sg := range m.Segments {
			if n := segNum(t, sg.URI); n != uint64(m.MediaSequence+i) {
				t.Errorf("%s: segment %d is %s, media sequence %d", k, i, sg.URI, m.MediaSequence)
			}
			if !sg.Gap && !st.has(dir+sg.URI) {
				t.Errorf("%s lists %s, which is not stored", k, sg.URI)
			}
		}
		raw := string(st.get(t, k))
		for _, line := range strings.Split(raw, "\n") {
			if u, ok := strings.CutPrefix(line, `#EXT-X-MAP:URI="`); ok && !st.has(dir+strings.TrimSuffix(u, `"`)) {
				t.Errorf("%s names %s, which is not stored", k, u)
			}
		}
	}
}

// A session left live by a crash and reconnected within the grace period
// goes on in the same folder and playlists: the window carried over, the
// media sequence continuing, EXT-X-DISCONTINUITY and a new DASH Period
// before the first new segment, no listed segment missing.
func TestContinueAfterCrash(t *testing.T) {
	cfg := Config{Window: 6, DeleteGrace: 20 * time.Second}
	st, clk := crashLive(t, cfg)
	const pl = "live/ch/s1/720p/index.m3u8"
	before := string(st.get(t, pl))
	mvBefore := mediaPlaylists(t, st)
	nextSession := readState(t, st).NextSession

	// Another node (or this one, restarted) starts 15 s later: Recover
	// leaves the session live, for its publisher to continue it.
	clk.Advance(15 * time.Second)
	in, err := Interrupted(context.Background(), st, "live/ch", Config{Now: clk.Now})
	if err != nil || !in.Live || !in.ContinueUntil.Equal(sessionStart.Add(DefaultContinueGrace)) {
		t.Fatalf("Interrupted = %+v, %v", in, err)
	}
	if recoverCh(t, st, clk, cfg) {
		t.Fatal("Recover ended a session that may still be continued")
	}
	if got := string(st.get(t, pl)); got != before || !readState(t, st).Session.Live || readMPD(t, st).Type != "dynamic" {
		t.Fatalf("Recover within the grace changed the session:\n%s", got)
	}

	clk.Advance(5 * time.Second)
	start2 := sessionStart.Add(20 * time.Second)
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	s2 := synth{gop: 60, rends: ladder()}
	feed(t, l2, s2.units(0, 5*time.Second)) // segments 4, 5 published
	if !l2.Stats().Continued {
		t.Error("Stats does not say continued")
	}
	if keys := st.keys("live/ch/s2/"); len(keys) > 0 {
		t.Fatalf("a new session folder was started: %v", keys)
	}
	if got := mediaPlaylists(t, st); fmt.Sprint(got) != fmt.Sprint(mvBefore) {
		t.Errorf("multivariant playlist names %v, before %v", got, mvBefore)
	}
	m := readMedia(t, st, pl)
	if m.Endlist || m.MediaSequence != 0 || len(m.Segments) != 6 || *m.DiscontinuitySequence != 0 {
		t.Fatalf("continued playlist: endlist=%v sequence %d, %d segments, dseq %d:\n%s",
			m.Endlist, m.MediaSequence, len(m.Segments), *m.DiscontinuitySequence, st.get(t, pl))
	}
	for i, sg := range m.Segments {
		if sg.Discontinuity != (i == 4) {
			t.Errorf("segment %s: discontinuity %v", sg.URI, sg.Discontinuity)
		}
	}
	// The carried-over window is the one listed before, byte for byte.
	got := string(st.get(t, pl))
	oldPart := before[strings.Index(before, "#EXTINF"):]
	if !strings.Contains(got, oldPart) {
		t.Errorf("the window was not carried over:\nbefore:\n%s\nnow:\n%s", before, got)
	}
	// A new init version before the first new segment.
	if i, j := strings.Index(got, "#EXT-X-DISCONTINUITY\n"), strings.Index(got, `#EXT-X-MAP:URI="init-`); i < 0 ||
		!strings.Contains(got[i:], "#EXT-X-MAP:URI=") || j < 0 || strings.Contains(got[i:], got[j:j+25]) {
		t.Errorf("no new EXT-X-MAP after the discontinuity:\n%s", got)
	}
	if ts := readSeg(t, st, "live/ch/s1/720p/4.m4s").tfdt; ts != timeline.TicksAt(start2.UnixNano(), 90000) {
		t.Errorf("segment 4 tfdt %d, want the new session's start %d", ts, timeline.TicksAt(start2.UnixNano(), 90000))
	}
	checkListedExist(t, st)

	// DASH: the old window in its Period, the new segments in a new one.
	mpd := readMPD(t, st)
	if mpd.Type != "dynamic" || len(mpd.Periods) != 2 {
		t.Fatalf("MPD type %s, %d periods", mpd.Type, len(mpd.Periods))
	}
	for i, want := range [][]uint64{{0, 1, 2, 3}, {4, 5}} {
		for _, as := range mpd.Periods[i].AS {
			var ns []uint64
			for _, e := range as.timeline() {
				ns = append(ns, e.n)
			}
			if fmt.Sprint(ns) != fmt.Sprint(want) || !strings.HasPrefix(as.ST.Media, "s1/") {
				t.Errorf("period %d %s: segments %v media %s, want %v in s1", i, as.ContentType, ns, as.ST.Media, want)
			}
		}
	}
	if p0, p1 := mpd.Periods[0].ID, mpd.Periods[1].ID; p0 != "p0" || p1 != "p4" {
		t.Errorf("periods %s, %s", p0, p1)
	}

	// The window slides on over the old segments; they are deleted only
	// after the grace, never while listed.
	for sec := 5; sec < 15; sec += 2 {
		clk.Advance(2 * time.Second)
		feed(t, l2, s2.units(time.Duration(sec)*time.Second, time.Duration(sec+2)*time.Second))
		checkListedExist(t, st)
	}
	m = readMedia(t, st, pl)
	if first := segNum(t, m.Segments[0].URI); first < 5 || m.MediaSequence != int(first) || *m.DiscontinuitySequence != 1 {
		t.Errorf("after sliding: sequence %d first %d dseq %d", m.MediaSequence, first, *m.DiscontinuitySequence)
	}
	clk.Advance(cfg.DeleteGrace)
	feed(t, l2, s2.units(15*time.Second, 17*time.Second))
	if st.has("live/ch/s1/720p/0.m4s") {
		t.Error("a segment that left the window was never deleted")
	}
	checkListedExist(t, st)

	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	ps := readState(t, st)
	if !readMedia(t, st, pl).Endlist || ps.Session.Live || ps.Session.Dir != "s1" || ps.NextSession != nextSession {
		t.Errorf("after End: endlist=%v live=%v dir=%s next session %d (was %d)",
			readMedia(t, st, pl).Endlist, ps.Session.Live, ps.Session.Dir, ps.NextSession, nextSession)
	}
}

// A continued session that crashes in turn is continued again, its
// discontinuities counted.
func TestContinueTwice(t *testing.T) {
	cfg := Config{Window: 10}
	st, clk := crashLive(t, cfg)
	for i, start := range []time.Duration{20 * time.Second, 40 * time.Second} {
		clk.Advance(20 * time.Second)
		l := newTestLive(t, st, clk, cfg, sessionStart.Add(start))
		if err := l.Begin(ladder()); err != nil {
			t.Fatal(err)
		}
		s := synth{gop: 60, rends: ladder()}
		feed(t, l, s.units(0, 5*time.Second)) // two segments, then a crash
		if !l.Stats().Continued {
			t.Fatalf("crash %d: not continued", i+1)
		}
	}
	m := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
	var discs []string
	for _, sg := range m.Segments {
		if sg.Discontinuity {
			discs = append(discs, sg.URI)
		}
	}
	if len(m.Segments) != 8 || m.MediaSequence != 0 || strings.Join(discs, " ") != "4.m4s 6.m4s" {
		t.Errorf("%d segments from %d, discontinuities at %v:\n%s", len(m.Segments), m.MediaSequence, discs,
			st.get(t, "live/ch/s1/720p/index.m3u8"))
	}
	if mpd := readMPD(t, st); len(mpd.Periods) != 3 {
		t.Errorf("MPD has %d periods, want 3", len(mpd.Periods))
	}
	if ds := readState(t, st).DiscontinuitySequence; ds != 2 {
		t.Errorf("discontinuity sequence %d, want 2", ds)
	}
	checkListedExist(t, st)
}

// When the session cannot be continued, the next one ends it and starts a
// folder of its own, as after any crash.
func TestNotContinued(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  time.Duration
		ladder func() []Rendition
		cfg    Config
		prep   func(t *testing.T, st *memStore)
		start  time.Duration // of the new session after sessionStart, default a minute
	}{
		{name: "renditions differ", after: 10 * time.Second,
			ladder: func() []Rendition { r := ladder(); return []Rendition{r[1], r[2], r[3]} }},
		{name: "a rendition changes kind", after: 10 * time.Second,
			ladder: func() []Rendition { r := ladder(); r[3].Name = "480p"; r[1].Name = "audio"; return r }},
		{name: "beyond the grace", after: DefaultContinueGrace, ladder: ladder},
		{name: "starts before the last segment ends", after: 10 * time.Second, ladder: ladder, start: 5 * time.Second},
		{name: "shorter grace", after: 10 * time.Second, ladder: ladder, cfg: Config{ContinueGrace: 5 * time.Second}},
		{name: "continuation off", after: time.Second, ladder: ladder, cfg: Config{ContinueGrace: -1}},
		{name: "state without a publish time", after: time.Second, ladder: ladder, prep: func(t *testing.T, st *memStore) {
			data := st.get(t, "live/ch/state.json")
			data = bytes.Replace(data, []byte(`"published":"2025-03-01T12:00:00Z",`), nil, 1)
			if err := st.Put(context.Background(), "live/ch/state.json", data); err != nil {
				t.Fatal(err)
			}
			if !readState(t, st).Session.Published.IsZero() {
				t.Fatal("publish time still recorded")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, clk := crashLive(t, tc.cfg)
			if tc.prep != nil {
				tc.prep(t, st)
			}
			before := string(st.get(t, "live/ch/s1/720p/index.m3u8"))
			clk.Advance(tc.after)
			start := cmp.Or(tc.start, time.Minute)
			l := newTestLive(t, st, clk, tc.cfg, sessionStart.Add(start))
			rs := tc.ladder()
			if err := l.Begin(rs); err != nil {
				t.Fatal(err)
			}
			if got := string(st.get(t, "live/ch/s1/720p/index.m3u8")); got != before+"#EXT-X-ENDLIST\n" {
				t.Errorf("interrupted session not ended:\n%s", got)
			}
			s := synth{gop: 60, rends: rs}
			feed(t, l, s.units(0, 5*time.Second))
			if l.Stats().Continued || !strings.Contains(string(st.get(t, "live/ch/index.m3u8")), "s2/") {
				t.Errorf("continued: %v; multivariant:\n%s", l.Stats().Continued, st.get(t, "live/ch/index.m3u8"))
			}
			if ps := readState(t, st).Session; ps.Dir != "s2" || !ps.Live {
				t.Errorf("state session dir %s live %v", ps.Dir, ps.Live)
			}
		})
	}
}

// A publisher that reconnects within the grace but leaves before any
// segment ends the interrupted session: no live playlist is left behind.
func TestContinuationWithoutSegmentsEnds(t *testing.T) {
	st, clk := crashLive(t, Config{})
	before := string(st.get(t, "live/ch/s1/720p/index.m3u8"))
	clk.Advance(10 * time.Second)
	l := newTestLive(t, st, clk, Config{}, sessionStart.Add(10*time.Second))
	if got := string(st.get(t, "live/ch/s1/720p/index.m3u8")); got != before {
		t.Fatalf("NewLive within the grace changed the playlist:\n%s", got)
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(st.get(t, "live/ch/s1/720p/index.m3u8")); got != before+"#EXT-X-ENDLIST\n" || readState(t, st).Session.Live {
		t.Errorf("after End without segments:\n%s", got)
	}
}

// A session whose End had started writing the ended manifests (some may
// carry EXT-X-ENDLIST) is never continued, even within the grace.
func TestEndingSessionNotContinued(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	l := newTestLive(t, st, clk, Config{}, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 9*time.Second))
	st.failPut = func(key string) bool { return key == "live/ch/s1/480p/index.m3u8" }
	if err := l.End(context.Background()); err == nil {
		t.Fatal("End succeeded with a failing playlist write")
	}
	st.failPut = nil
	if ps := readState(t, st).Session; !ps.Live || !ps.Ending {
		t.Fatalf("state after a failed End: live=%v ending=%v", ps.Live, ps.Ending)
	}
	in, err := Interrupted(context.Background(), st, "live/ch", Config{Now: clk.Now})
	if err != nil || !in.Live || !in.ContinueUntil.IsZero() {
		t.Errorf("Interrupted = %+v, %v", in, err)
	}
	clk.Advance(time.Second)
	if !recoverCh(t, st, clk, Config{}) {
		t.Error("Recover left an ending session live")
	}
	if !readMedia(t, st, "live/ch/s1/480p/index.m3u8").Endlist {
		t.Error("480p not ended")
	}
}

// With parts, the crashed session served numbers from memory that no
// stored playlist lists (the open segment's parts, perhaps more while
// storage lagged): the continuation never reuses them. It skips every
// number reserved in state.json, listing them as EXT-X-GAP holes in HLS
// (the media sequence stays contiguous) and leaving them out of the MPD,
// and takes the next number after the reservation.
func TestContinueAfterCrashWithParts(t *testing.T) {
	cfg := Config{Window: 6, PartDuration: 200 * time.Millisecond}
	st, clk, l, s := beginLive(t, cfg)
	feed(t, l, s.units(0, 9*time.Second)) // 0..3 published, 4 open
	settle(t, l)
	served := string(llPlaylistOf(t, l, "720p", ""))
	if !strings.Contains(served, `#EXT-X-PART:DURATION=`) || !strings.Contains(served, `URI="4.`) {
		t.Fatalf("no parts of segment 4 served before the crash:\n%s", served)
	}
	crash(l)
	reserved := readState(t, st).NextSegment
	if reserved <= 5 {
		t.Fatalf("state.json reserves up to %d: segment 4 was served with no number reserved after it", reserved)
	}

	clk.Advance(10 * time.Second)
	start2 := sessionStart.Add(15 * time.Second)
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	s2 := synth{gop: 60, rends: ladder()}
	feed(t, l2, s2.units(0, 5*time.Second)) // two new segments published
	settle(t, l2)
	if !l2.Stats().Continued {
		t.Fatal("not continued")
	}
	const pl = "live/ch/s1/720p/index.m3u8"
	m := readMedia(t, st, pl)
	var gaps, real []uint64
	for _, sg := range m.Segments {
		n := segNum(t, sg.URI)
		if sg.Gap {
			gaps = append(gaps, n)
			if sg.Discontinuity || sg.Duration <= 0 || sg.Duration > 2*time.Second {
				t.Errorf("hole %d: discontinuity %v duration %v", n, sg.Discontinuity, sg.Duration)
			}
			continue
		}
		real = append(real, n)
		if n >= 4 && sg.Discontinuity != (n == reserved) {
			t.Errorf("segment %d: discontinuity %v", n, sg.Discontinuity)
		}
	}
	var wantGaps []uint64
	for n := uint64(4); n < reserved; n++ {
		wantGaps = append(wantGaps, n)
	}
	if fmt.Sprint(gaps) != fmt.Sprint(wantGaps) || fmt.Sprint(real) != fmt.Sprint([]uint64{0, 1, 2, 3, reserved, reserved + 1}) {
		t.Errorf("segments %v, holes %v; want 0..3, holes %v, then %d, %d:\n%s", real, gaps, wantGaps, reserved, reserved+1, st.get(t, pl))
	}
	checkListedExist(t, st)
	// No number served before the crash comes back with other media.
	if st.has("live/ch/s1/720p/4.m4s") {
		t.Error("segment 4 was stored by the continuation")
	}
	// The holes share the time between the last stored segment and the
	// continuation: PROGRAM-DATE-TIME after them is the new media's.
	last := m.Segments[len(m.Segments)-2]
	if last.DateTime == nil || last.DateTime.Sub(start2).Abs() > time.Millisecond {
		t.Errorf("first new segment at %v, want %v", last.DateTime, start2)
	}

	// DASH: the holes are in neither Period; the new one starts at the
	// first number after the reservation (and lists the segment being
	// produced: LL-DASH).
	mpd := readMPD(t, st)
	if len(mpd.Periods) != 2 {
		t.Fatalf("%d periods", len(mpd.Periods))
	}
	for i, want := range [][]uint64{{0, 1, 2, 3}, {reserved, reserved + 1, reserved + 2}} {
		for _, as := range mpd.Periods[i].AS {
			var ns []uint64
			for _, e := range as.timeline() {
				ns = append(ns, e.n)
			}
			if fmt.Sprint(ns) != fmt.Sprint(want) {
				t.Errorf("period %d %s: segments %v, want %v", i, as.ContentType, ns, want)
			}
		}
	}

	// The memory edge of the continuation goes on after the reservation.
	served2 := llPlaylistOf(t, l2, "720p", "")
	if !bytes.Contains(served2, []byte("#EXT-X-GAP")) || !bytes.Contains(served2, fmt.Appendf(nil, `URI="%d.`, reserved+2)) {
		t.Errorf("continuation's LL playlist:\n%s", served2)
	}
	if err := llcheck.Media(served2, llcheck.Options{}); err != nil {
		t.Errorf("continuation's LL playlist:\n%s\n%v", served2, err)
	}
}
