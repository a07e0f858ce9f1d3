package packager

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// An ended media playlist never changes (RFC 8216 6.2.1): each session
// writes its playlists and segments in a directory of its own, and only
// the multivariant playlist and the MPD, at the channel's stable URLs,
// move on to the newest session.
func TestEndedPlaylistsNeverChange(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
	s := synth{gop: 60, rends: ladder()}
	ended := map[string][]byte{} // every ended media playlist, as it was at End
	var prevMV []string
	for k := 1; k <= 3; k++ {
		start := sessionStart.Add(time.Duration(k-1) * time.Minute)
		clk.Advance(start.Sub(clk.Now()))
		l := newTestLive(t, st, clk, cfg, start)
		if err := l.Begin(ladder()); err != nil {
			t.Fatal(err)
		}
		feed(t, l, s.units(0, 7*time.Second))

		// Live: the multivariant playlist names this session's playlists,
		// which are live, and the MPD is dynamic, in this session's folder.
		dir := fmt.Sprintf("live/ch/s%d/", k)
		pls := mediaPlaylists(t, st)
		if len(pls) != 4 {
			t.Fatalf("session %d: multivariant lists %v", k, pls)
		}
		for _, p := range pls {
			if !strings.HasPrefix(p, dir) {
				t.Errorf("session %d: multivariant names %s, not in %s", k, p, dir)
			}
			m := readMedia(t, st, p)
			if m.Endlist || len(m.Segments) == 0 {
				t.Errorf("session %d: %s endlist=%v, %d segments", k, p, m.Endlist, len(m.Segments))
			}
			for _, sg := range m.Segments {
				if !st.has(path.Dir(p) + "/" + sg.URI) {
					t.Errorf("session %d: %s lists missing %s", k, p, sg.URI)
				}
			}
		}
		mpd := readMPD(t, st)
		if mpd.Type != "dynamic" || !strings.HasPrefix(mpd.Periods[0].AS[0].ST.Media, fmt.Sprintf("s%d/", k)) {
			t.Errorf("session %d: MPD %s with media template %q", k, mpd.Type, mpd.Periods[0].AS[0].ST.Media)
		}
		// Every earlier session's ended playlists are exactly as End left them.
		for p, want := range ended {
			if got, ok := st.objects[p]; ok && !bytes.Equal(got, want) {
				t.Errorf("session %d rewrote the ended playlist %s:\n%s\nnow:\n%s", k, p, want, got)
			}
		}
		if k == 2 {
			// The previous session's playlists stay until the grace period
			// after this session's first publish has passed.
			for _, p := range prevMV {
				if !st.has(p) {
					t.Errorf("%s deleted before the grace period", p)
				}
			}
		}

		if err := l.End(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, p := range mediaPlaylists(t, st) {
			b := st.get(t, p)
			if !bytes.HasSuffix(b, []byte("#EXT-X-ENDLIST\n")) {
				t.Errorf("session %d: %s does not end with EXT-X-ENDLIST:\n%s", k, p, b)
			}
			ended[p] = bytes.Clone(b)
		}
		prevMV = mediaPlaylists(t, st)
		if readMPD(t, st).Type != "static" {
			t.Errorf("session %d: MPD not static after End", k)
		}
	}
	// A session that never publishes (the publisher left at once) leaves the
	// last ended session in place.
	mv := bytes.Clone(st.get(t, "live/ch/index.m3u8"))
	l := newTestLive(t, st, clk, cfg, sessionStart.Add(3*time.Minute))
	if err := l.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.get(t, "live/ch/index.m3u8"), mv) {
		t.Error("a session without segments changed the multivariant playlist")
	}
	for _, p := range prevMV {
		if !bytes.Equal(st.get(t, p), ended[p]) {
			t.Errorf("a session without segments changed %s", p)
		}
	}
	if got := readState(t, st).NextSession; got != 5 {
		t.Errorf("next session %d, want 5", got)
	}
}

// Old sessions are deleted, directory and all, DeleteGrace after the next
// session's first publish; the last session stays while the channel is idle.
func TestOldSessionsDeletedAfterGrace(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
	s := synth{gop: 60, rends: ladder()}
	l := newTestLive(t, st, clk, cfg, sessionStart)
	if err := l.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 9*time.Second))
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	// What the ended session's playlists name.
	var s1 []string
	for _, p := range mediaPlaylists(t, st) {
		m := readMedia(t, st, p)
		s1 = append(s1, p, path.Dir(p)+"/"+m.Map.URI)
		for _, sg := range m.Segments {
			s1 = append(s1, path.Dir(p)+"/"+sg.URI)
		}
	}
	present := func() (n int) {
		for _, k := range s1 {
			if st.has(k) {
				n++
			}
		}
		return n
	}
	clk.Advance(time.Hour) // idle for an hour: the ended session stays playable
	start2 := sessionStart.Add(time.Hour)
	l2 := newTestLive(t, st, clk, cfg, start2)
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l2, s.units(0, 3*time.Second))
	if n := present(); n != len(s1) || n < 4*5 {
		t.Errorf("%d of session 1's %d objects left before the grace period", n, len(s1))
	}
	clk.Advance(cfg.DeleteGrace - time.Second)
	feed(t, l2, s.units(3*time.Second, 5*time.Second))
	if n := present(); n != len(s1) {
		t.Errorf("%d of session 1's %d objects left before the grace period", n, len(s1))
	}
	clk.Advance(2 * time.Second)
	feed(t, l2, s.units(5*time.Second, 7*time.Second))
	if got := st.keys("live/ch/s1/"); len(got) > 0 {
		t.Errorf("session 1 not deleted after the grace period: %v", got)
	}
	if len(st.keys("live/ch/s2/")) == 0 {
		t.Error("session 2 deleted")
	}
}

// earlierLayout is a store holding channel ch as the packager left it
// before session directories existed (renditions straight under the
// prefix, no session numbering in state.json), live: a session of 9 s that
// crashed, from testdata/earlier-layout.
func earlierLayout(t testing.TB) *memStore {
	t.Helper()
	st := newMemStore()
	root := filepath.Join("testdata", "earlier-layout")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		st.objects[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil || len(st.objects) == 0 {
		t.Fatalf("reading %s: %v", root, err)
	}
	return st
}

// A channel packaged with the earlier layout (renditions straight under the
// prefix, no session directories) that was left live is ended in place by
// Recover; the next session goes to a directory of its own and the old
// objects, playlists included, are deleted after the grace period.
func TestEarlierLayoutUpgrade(t *testing.T) {
	st := earlierLayout(t)
	clk := clocktest.New(sessionStart)
	cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
	s := synth{gop: 60, rends: ladder()}
	if _, ok := st.objects["live/ch/720p/index.m3u8"]; !ok {
		t.Fatal("earlier layout not simulated")
	}
	if strings.Contains(string(st.get(t, "live/ch/state.json")), `"next_session"`) {
		t.Fatal("earlier state.json not simulated")
	}
	clk.Advance(time.Minute)
	if !recoverCh(t, st, clk, cfg) {
		t.Fatal("nothing recovered")
	}
	old := mediaPlaylists(t, st)
	ended := map[string][]byte{}
	for _, p := range old {
		if strings.HasPrefix(p, "live/ch/s") || !readMedia(t, st, p).Endlist {
			t.Fatalf("recovered %s", p)
		}
		ended[p] = bytes.Clone(st.get(t, p))
	}
	legacy := st.keys("live/ch/720p/")

	l2 := newTestLive(t, st, clk, cfg, sessionStart.Add(time.Minute))
	if err := l2.Begin(ladder()); err != nil {
		t.Fatal(err)
	}
	feed(t, l2, s.units(0, 5*time.Second))
	for _, p := range mediaPlaylists(t, st) {
		if !strings.HasPrefix(p, "live/ch/s1/") {
			t.Errorf("new session's playlist %s", p)
		}
	}
	for p, want := range ended {
		if !bytes.Equal(st.get(t, p), want) {
			t.Errorf("%s changed", p)
		}
	}
	clk.Advance(21 * time.Second)
	feed(t, l2, s.units(5*time.Second, 7*time.Second))
	for _, k := range legacy {
		if st.has(k) {
			t.Errorf("%s of the earlier layout not deleted", k)
		}
	}
	if len(legacy) < 3 {
		t.Errorf("earlier layout had %v", legacy)
	}
}

func TestSegmentObject(t *testing.T) {
	for _, tc := range []struct{ prefix, dir string }{
		{"live/ch", "s12"}, {"vod/a", ""}, {"", "s1"}, {"", ""},
	} {
		c := &Live{prefix: tc.prefix, dir: tc.dir}
		for _, n := range []uint64{0, 7, 1234567890123} {
			if got, want := c.segmentObject("720p", n), c.key(c.inDir(manifest.SegmentKey("720p", n))); got != want {
				t.Errorf("prefix %q dir %q n %d: %q, want %q", tc.prefix, tc.dir, n, got, want)
			}
		}
	}
}

// A rendition that leaves the ladder mid-session (the transcoder restarts
// without it, as load shedding does) keeps its last playlist while the
// session is live, and that playlist ends with the session: after End, and
// after Recover when the process died.
func TestDroppedRenditionEndsWithSession(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crashed), func(t *testing.T) {
			cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
			st, clk, l, s := beginLive(t, cfg)
			feed(t, l, s.units(0, 5*time.Second))
			const key = "live/ch/s1/720p/index.m3u8"
			if readMedia(t, st, key).Endlist {
				t.Fatal("720p ended while live")
			}
			// The transcoder restarts without the top rung.
			small := ladder()[1:]
			if err := l.Begin(small); err != nil {
				t.Fatal(err)
			}
			settle(t, l) // the flushed segments are listed
			frozen := bytes.Clone(st.get(t, key))
			s2 := synth{gop: 60, rends: small, origin: 6 * time.Second}
			feed(t, l, s2.units(6*time.Second, 13*time.Second))
			if got := st.get(t, key); !bytes.Equal(got, frozen) {
				t.Errorf("the dropped rendition's playlist changed while live:\n%s\nnow:\n%s", frozen, got)
			}
			for _, p := range mediaPlaylists(t, st) {
				if strings.Contains(p, "720p") {
					t.Errorf("multivariant still lists %s", p)
				}
			}
			if crashed {
				crash(l)
				clk.Advance(time.Minute)
				if !recoverCh(t, st, clk, cfg) {
					t.Fatal("nothing recovered")
				}
			} else if err := l.End(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, want := string(st.get(t, key)), string(frozen)+"#EXT-X-ENDLIST\n"; got != want {
				t.Errorf("the dropped rendition's playlist after the end:\n%s\nwant:\n%s", got, want)
			}
			for _, p := range mediaPlaylists(t, st) {
				if !readMedia(t, st, p).Endlist {
					t.Errorf("%s not ended", p)
				}
			}
		})
	}
}

// A damaged state.json that lists the new session's own folder as an old
// session's never makes the new session delete itself.
func TestStateNamingTheNewSessionsFolder(t *testing.T) {
	st := newMemStore()
	st.objects["live/ch/state.json"] = []byte(`{"version":1,"next_segment":5,"next_session":1,` +
		`"listed":[{"dir":"s1","renditions":["720p"],"first_segment":0,"last_segment":4}],` +
		`"deletes":[{"at":"2025-03-01T12:00:00Z","keys":[],"dirs":["s1/"]}]}`)
	clk := clocktest.New(sessionStart)
	cfg := Config{Window: 3, DeleteGrace: 20 * time.Second}
	l := newTestLive(t, st, clk, cfg, sessionStart)
	s := synth{gop: 60, rends: ladder()}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feed(t, l, s.units(0, 5*time.Second))
	clk.Advance(time.Minute)
	feed(t, l, s.units(5*time.Second, 9*time.Second))
	for _, p := range mediaPlaylists(t, st) {
		m := readMedia(t, st, p)
		for _, sg := range m.Segments {
			if !st.has(path.Dir(p) + "/" + sg.URI) {
				t.Errorf("%s lists deleted %s", p, sg.URI)
			}
		}
	}
}
