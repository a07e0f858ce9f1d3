package packager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/window"
)

func readState(t testing.TB, st *memStore) window.File {
	t.Helper()
	var s window.File
	if err := json.Unmarshal(st.get(t, "live/ch/state.json"), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func recoverCh(t testing.TB, st *memStore, clk *fakeClock, cfg Config) bool {
	t.Helper()
	cfg.Now = clk.Now
	ok, err := Recover(context.Background(), st, "live/ch", cfg, nil)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	return ok
}

// noContinue is cfg with continuation off: Recover ends at once.
func noContinue(cfg Config) Config {
	cfg.ContinueGrace = -1
	return cfg
}

// beginLive starts a Live of the test ladder at sessionStart on a new
// store, with a synthetic source of 60-frame GOPs for it.
func beginLive(t testing.TB, cfg Config) (*memStore, *fakeClock, *Live, synth) {
	t.Helper()
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	l := newTestLive(t, st, clk, cfg, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	return st, clk, l, s
}

// mediaPlaylists lists the media playlists the multivariant playlist names.
func mediaPlaylists(t testing.TB, st *memStore) []string {
	t.Helper()
	pl, err := playlist.Unmarshal(st.get(t, "live/ch/index.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	mv := pl.(*playlist.Multivariant)
	var keys []string
	for _, r := range mv.Renditions {
		keys = append(keys, "live/ch/"+*r.URI)
	}
	for _, v := range mv.Variants {
		keys = append(keys, "live/ch/"+v.URI)
	}
	return keys
}

// A session killed without End is ended by Recover: the same segments,
// now with EXT-X-ENDLIST and a static MPD.
func TestRecoverEndsInterruptedSession(t *testing.T) {
	cfg := Config{Window: 6}
	st, clk, l, s := beginLive(t, cfg)
	feed(t, l, s.units(0, 9*time.Second)) // 0..3 published, 4 open: then the process dies
	if !readState(t, st).Session.Live {
		t.Fatal("state does not say live while the session runs")
	}
	keys := mediaPlaylists(t, st)
	if len(keys) != 4 {
		t.Fatalf("multivariant lists %v", keys)
	}
	before := map[string][]byte{}
	for _, k := range append(keys, "live/ch/index.m3u8") {
		before[k] = bytes.Clone(st.get(t, k))
	}
	objects := st.keys("live/ch/")

	clk.Advance(time.Hour) // the process comes back much later
	if !recoverCh(t, st, clk, cfg) {
		t.Fatal("Recover found nothing to recover")
	}
	for _, k := range keys {
		// The live playlist, ended: the same header and segments, then ENDLIST.
		if got, want := string(st.get(t, k)), string(before[k])+"#EXT-X-ENDLIST\n"; got != want {
			t.Errorf("%s after Recover:\n%s\nwant:\n%s", k, got, want)
		}
		m := readMedia(t, st, k)
		if !m.Endlist || m.MediaSequence != 0 || len(m.Segments) != 4 {
			t.Errorf("%s: endlist=%v sequence %d, %d segments", k, m.Endlist, m.MediaSequence, len(m.Segments))
		}
	}
	if !bytes.Equal(st.get(t, "live/ch/index.m3u8"), before["live/ch/index.m3u8"]) {
		t.Error("multivariant playlist changed")
	}
	mpd := readMPD(t, st)
	if mpd.Type != "static" || mpd.MUP != "" || mpd.TSBD != "" || len(mpd.UTC) != 0 || len(mpd.Periods) != 1 {
		t.Fatalf("MPD type=%s mup=%q tsbd=%q periods=%d", mpd.Type, mpd.MUP, mpd.TSBD, len(mpd.Periods))
	}
	if mpd.MPDur != "PT8S" || mpd.Periods[0].Start != "PT0S" {
		t.Errorf("MPD duration %s, period start %s", mpd.MPDur, mpd.Periods[0].Start)
	}
	for _, as := range mpd.Periods[0].AS {
		tline := as.timeline()
		if len(tline) != 4 {
			t.Fatalf("%s timeline %v", as.ContentType, tline)
		}
		for k, e := range tline {
			got := readSeg(t, st, fmt.Sprintf("live/ch/s1/%s/%d.m4s", as.Reps[0].ID, e.n))
			if e.n != uint64(k) || got.tfdt != e.t || got.dur != e.d {
				t.Errorf("%s timeline %d: n=%d t=%d d=%d; segment tfdt=%d dur=%d", as.ContentType, k, e.n, e.t, e.d, got.tfdt, got.dur)
			}
		}
		if k := len(as.Reps); (as.ContentType == "video") != (k == 3) {
			t.Errorf("%s: %d representations", as.ContentType, k)
		}
	}
	if readState(t, st).Session.Live {
		t.Error("state still says live after Recover")
	}
	// Nothing was deleted: the window stays playable.
	if got := st.keys("live/ch/"); strings.Join(got, " ") != strings.Join(objects, " ") {
		t.Errorf("objects after Recover %v, before %v", got, objects)
	}
	// A second Recover finds nothing to do and writes nothing.
	puts := len(st.puts)
	if recoverCh(t, st, clk, cfg) || len(st.puts) != puts {
		t.Errorf("second Recover recovered again (%d puts)", len(st.puts)-puts)
	}
}

// Recover writes byte for byte what End writes for the same published
// window. Each scenario ends with a Begin that flushes every open segment,
// so that End has nothing more to publish; then one copy is ended, the
// other abandoned and recovered.
func TestRecoverEqualsEnd(t *testing.T) {
	ladderRun := func(t *testing.T, st *memStore, l *Live, clk *fakeClock) {
		s := synth{gop: 60, rends: ladder()}
		if err := l.Begin(s.rends); err != nil {
			t.Fatal(err)
		}
		for sec := 0; sec < 15; sec += 2 {
			feed(t, l, s.units(time.Duration(sec)*time.Second, time.Duration(sec+2)*time.Second))
			clk.Advance(2 * time.Second)
		}
		if err := l.Begin(s.rends); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		run  func(t *testing.T, st *memStore, l *Live, clk *fakeClock)
	}{
		{"sliding window with deletions", Config{Window: 4, DeleteGrace: 5 * time.Second}, ladderRun},
		{"new init and restarts", Config{Window: 20}, func(t *testing.T, st *memStore, l *Live, clk *fakeClock) {
			s := synth{gop: 60, rends: ladder()}
			if err := l.Begin(s.rends); err != nil {
				t.Fatal(err)
			}
			feed(t, l, s.units(0, 5*time.Second))
			s2 := synth{gop: 60, rends: ladder(), origin: 7 * time.Second}
			if err := l.Begin(s2.rends); err != nil {
				t.Fatal(err)
			}
			feed(t, l, s2.units(7*time.Second, 12*time.Second))
			r3 := ladder()
			r3[0].Track = videoTrack(sps360, 640, 360)
			s3 := synth{gop: 60, rends: r3, origin: 13 * time.Second, bframes: true}
			if err := l.Begin(r3); err != nil {
				t.Fatal(err)
			}
			feed(t, l, s3.units(13*time.Second, 19*time.Second))
			if err := l.Begin(r3); err != nil {
				t.Fatal(err)
			}
		}},
		{"store failure gap", Config{}, func(t *testing.T, st *memStore, l *Live, clk *fakeClock) {
			st.failPut = func(key string) bool { return key == "live/ch/s1/480p/1.m4s" }
			setGiveUp(l, 4*time.Second) // the writer retries that long (above its 2 s backoff)
			ladderRun(t, st, l, clk)
		}},
		{"audio only", Config{}, func(t *testing.T, st *memStore, l *Live, clk *fakeClock) {
			rs := []Rendition{{Name: "audio", Track: audioTrack()}}
			s := synth{rends: rs}
			if err := l.Begin(rs); err != nil {
				t.Fatal(err)
			}
			feed(t, l, s.units(0, 7*time.Second))
			if err := l.Begin(rs); err != nil {
				t.Fatal(err)
			}
		}},
		{"ladder shrinks at the last Begin", Config{}, func(t *testing.T, st *memStore, l *Live, clk *fakeClock) {
			ladderRun(t, st, l, clk)
			rs := ladder()
			if err := l.Begin([]Rendition{rs[2], rs[3]}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(end bool) *memStore {
				st := newMemStore()
				clk := clocktest.New(sessionStart)
				l := newTestLive(t, st, clk, tc.cfg, sessionStart)
				tc.run(t, st, l, clk)
				settle(t, l) // the last Begin's publish is written
				clk.Advance(3 * time.Second)
				if end {
					if err := l.End(context.Background()); err != nil && st.failPut == nil {
						t.Fatal(err)
					}
				} else if crash(l); !recoverCh(t, st, clk, noContinue(tc.cfg)) {
					t.Fatal("nothing recovered")
				}
				return st
			}
			ended, recovered := run(true), run(false)
			keys := ended.keys("live/ch/")
			if got := recovered.keys("live/ch/"); strings.Join(got, " ") != strings.Join(keys, " ") {
				t.Fatalf("objects after Recover:\n%v\nafter End:\n%v", got, keys)
			}
			for _, k := range keys {
				if k == "live/ch/state.json" {
					continue // End saves the exact next segment number, Recover keeps the reservation
				}
				if !bytes.Equal(ended.get(t, k), recovered.get(t, k)) {
					t.Errorf("%s differs:\nEnd:\n%s\nRecover:\n%s", k, ended.get(t, k), recovered.get(t, k))
				}
			}
			for _, k := range mediaPlaylists(t, recovered) {
				if !readMedia(t, recovered, k).Endlist {
					t.Errorf("%s has no ENDLIST", k)
				}
			}
			if m := readMPD(t, recovered); m.Type != "static" {
				t.Errorf("MPD type %s", m.Type)
			}
			es, rs := readState(t, ended), readState(t, recovered)
			a, _ := json.Marshal(es.Session)
			b, _ := json.Marshal(rs.Session)
			if es.Session == nil || es.Session.Live || !bytes.Equal(a, b) {
				t.Errorf("session after End:\n%s\nafter Recover:\n%s", a, b)
			}
			if fmt.Sprint(es.Listed, es.Deletes) != fmt.Sprint(rs.Listed, rs.Deletes) {
				t.Errorf("deletion state after End %+v %+v, after Recover %+v %+v", es.Listed, es.Deletes, rs.Listed, rs.Deletes)
			}
		})
	}
}

func TestRecoverFindsNothing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		state   string // "" for no state.json
		wantErr bool
	}{
		{"no state", "", false},
		{"state before sessions were recorded", `{"version":1,"next_segment":42,"next_init":2,"discontinuity_sequence":1,` +
			`"listed":[{"renditions":["720p","audio"],"first_segment":36,"last_segment":41,"inits":[1]}]}`, false},
		{"ended session", `{"version":1,"next_segment":4,"next_init":1,"session":{"live":false,"segment_duration":2000000000,` +
			`"max_segment":2000000000,"streams":[{"name":"audio","kind":2,"ts":48000}],"tracks":[0],` +
			`"renditions":[{"name":"audio","codecs":"mp4a.40.2","bw":128000}],"periods":[{"id":0,"start":0}],` +
			`"window":[{"n":3,"p":0,"lead":0,"e":[[0,96000,96000]]}]}}`, false},
		{"corrupt live session", `{"version":1,"next_segment":4,"next_init":1,"session":{"live":true,"segment_duration":2000000000,` +
			`"max_segment":2000000000,"streams":[{"name":"audio","kind":2,"ts":48000}],"tracks":[0],` +
			`"renditions":[{"name":"audio","codecs":"mp4a.40.2","bw":128000}],"periods":[{"id":0,"start":0}],` +
			`"window":[{"n":3,"p":0,"lead":0,"e":[[5,96000,96000]]}]}}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newMemStore()
			if tc.state != "" {
				st.objects["live/ch/state.json"] = []byte(tc.state)
			}
			ok, err := Recover(context.Background(), st, "live/ch", Config{}, nil)
			if ok || (err != nil) != tc.wantErr {
				t.Errorf("Recover = %v, %v", ok, err)
			}
			if len(st.puts) != 0 {
				t.Errorf("Recover wrote %v", st.puts)
			}
		})
	}
}

// After Recover a new session goes live again, numbering on past every
// segment ever written, and replaces the ended manifests.
func TestNewSessionAfterRecover(t *testing.T) {
	cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
	st, clk, l, s := beginLive(t, cfg)
	feed(t, l, s.units(0, 11*time.Second))
	written := uint64(0)
	for _, k := range st.keys("live/ch/s1/720p/") {
		var n uint64
		if _, err := fmt.Sscanf(k, "live/ch/s1/720p/%d.m4s", &n); err == nil {
			written = max(written, n)
		}
	}
	clk.Advance(time.Minute)
	if !recoverCh(t, st, clk, cfg) {
		t.Fatal("nothing recovered")
	}
	ended := readMedia(t, st, "live/ch/s1/720p/index.m3u8")
	lastEnded := segNum(t, ended.Segments[len(ended.Segments)-1].URI)
	endedBytes := bytes.Clone(st.get(t, "live/ch/s1/720p/index.m3u8"))

	start2 := sessionStart.Add(time.Minute)
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l2, s.units(0, 5*time.Second))
	m := readMedia(t, st, "live/ch/s2/720p/index.m3u8")
	first := segNum(t, m.Segments[0].URI)
	if m.Endlist || first <= written || !m.Segments[0].Discontinuity || *m.DiscontinuitySequence != 0 || m.Map.URI != "init-1.mp4" {
		t.Errorf("new session: endlist=%v first %d (written up to %d) disc=%v dseq=%d map=%s",
			m.Endlist, first, written, m.Segments[0].Discontinuity, *m.DiscontinuitySequence, m.Map.URI)
	}
	if readMPD(t, st).Type != "dynamic" || !readState(t, st).Session.Live {
		t.Error("new session is not live")
	}
	// The recovered session's segments go after the grace period, like an ended session's.
	old := fmt.Sprintf("live/ch/s1/720p/%d.m4s", lastEnded)
	if !st.has(old) {
		t.Error("recovered window deleted before grace")
	}
	// Its ended playlist, at its own URL, never changes.
	if got := st.get(t, "live/ch/s1/720p/index.m3u8"); !bytes.Equal(got, endedBytes) {
		t.Errorf("the recovered session's ended playlist changed:\n%s\nnow:\n%s", endedBytes, got)
	}
	clk.Advance(21 * time.Second)
	feed(t, l2, s.units(5*time.Second, 7*time.Second))
	if keys := st.keys("live/ch/s1/"); len(keys) > 0 {
		t.Errorf("recovered session's objects not deleted after grace: %v", keys)
	}
	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok := recoverCh(t, st, clk, cfg); ok || readState(t, st).Session.Live {
		t.Error("Recover after a normal End recovered something")
	}
}

// Without Recover, NewLive ends the interrupted session's manifests itself,
// so that a session which publishes nothing leaves no live manifests behind.
func TestNewLiveEndsInterruptedSession(t *testing.T) {
	st, clk, l, s := beginLive(t, Config{})
	feed(t, l, s.units(0, 7*time.Second))
	live := string(st.get(t, "live/ch/s1/720p/index.m3u8"))

	clk.Advance(time.Minute)
	l2 := newTestLive(t, st, clk, Config{}, sessionStart.Add(time.Minute))
	if got := string(st.get(t, "live/ch/s1/720p/index.m3u8")); got != live+"#EXT-X-ENDLIST\n" {
		t.Errorf("after NewLive:\n%s", got)
	}
	if readMPD(t, st).Type != "static" || readState(t, st).Session.Live {
		t.Error("interrupted session still live after NewLive")
	}
	// The publisher leaves before the first segment.
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	if err := l2.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := string(st.get(t, "live/ch/s1/720p/index.m3u8")); got != live+"#EXT-X-ENDLIST\n" || readState(t, st).Session.Live {
		t.Errorf("after an empty session:\n%s", got)
	}
}

// If End cannot store the ended manifests, state.json stays live and
// Recover finishes the job.
func TestRecoverAfterFailedEnd(t *testing.T) {
	st, clk, l, s := beginLive(t, Config{})
	feed(t, l, s.units(0, 7*time.Second))
	st.failPut = func(key string) bool { return key == "live/ch/manifest.mpd" }
	if err := l.End(context.Background()); err == nil {
		t.Fatal("End reported no error")
	}
	if !readState(t, st).Session.Live || !readMedia(t, st, "live/ch/s1/720p/index.m3u8").Endlist {
		t.Fatal("want ended playlists but a live state after the failed End")
	}
	pl := bytes.Clone(st.get(t, "live/ch/s1/720p/index.m3u8"))
	st.failPut = nil
	if !recoverCh(t, st, clk, Config{}) {
		t.Fatal("nothing recovered")
	}
	// The flushed last segment (6..7 s) is in the recovered window too.
	if m := readMPD(t, st); m.Type != "static" || m.MPDur != "PT7S" {
		t.Errorf("MPD type %s duration %s", m.Type, m.MPDur)
	}
	if !bytes.Equal(pl, st.get(t, "live/ch/s1/720p/index.m3u8")) || readState(t, st).Session.Live {
		t.Error("Recover did not complete End")
	}
}

// The session record in state.json stays small: the window, not the
// session's history.
func TestSessionStateSize(t *testing.T) {
	st, clk, l, s := beginLive(t, Config{})
	var sizes []int
	for sec := 0; sec < 120; sec += 2 {
		feed(t, l, s.units(time.Duration(sec)*time.Second, time.Duration(sec+2)*time.Second))
		clk.Advance(2 * time.Second)
		b, err := json.Marshal(readState(t, st).Session)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(b))
	}
	last := sizes[len(sizes)-1]
	t.Logf("session record: %d bytes for a window of %d segments, 4 renditions (state.json %d bytes)",
		last, len(readState(t, st).Session.Window), len(st.get(t, "live/ch/state.json")))
	if last > 2048 || slices.Max(sizes[len(sizes)/2:])-slices.Min(sizes[len(sizes)/2:]) > 16 {
		t.Errorf("session record grows: %v", sizes)
	}
}

// The process dies in the middle of a publish, after the media playlists
// listed a new segment but before the MPD did: the recovered manifests
// list it too (state.json is saved before the manifests are written).
func TestRecoverAfterCrashMidPublish(t *testing.T) {
	st, clk, l, s := beginLive(t, Config{})
	feed(t, l, s.units(0, 7*time.Second)) // 0..2 published
	st.failPut = func(key string) bool { return key == "live/ch/manifest.mpd" }
	write(t, l, s.units(7*time.Second, 9*time.Second))
	// Publishing 3: the writer stores the media playlists, then fails on
	// the MPD (and retries) when the process dies.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := waitFor(ctx, func() bool {
		b, ok := st.getOK("live/ch/s1/audio/index.m3u8")
		return ok && bytes.Contains(b, []byte("3.m4s"))
	})
	if err != nil {
		t.Fatal("segment 3 never listed")
	}
	crash(l)
	st.failPut = nil
	clk.Advance(DefaultContinueGrace) // nobody continued it
	if m := readMedia(t, st, "live/ch/s1/720p/index.m3u8"); len(m.Segments) != 4 || m.Endlist {
		t.Fatalf("before Recover the playlist lists %d segments", len(m.Segments))
	}
	if !recoverCh(t, st, clk, Config{}) {
		t.Fatal("nothing recovered")
	}
	for _, k := range mediaPlaylists(t, st) {
		if m := readMedia(t, st, k); len(m.Segments) != 4 || !m.Endlist {
			t.Errorf("%s: %d segments, endlist=%v", k, len(m.Segments), m.Endlist)
		}
	}
	if tline := readMPD(t, st).Periods[0].AS[0].timeline(); len(tline) != 4 || tline[3].n != 3 {
		t.Errorf("MPD timeline %v", tline)
	}
}
