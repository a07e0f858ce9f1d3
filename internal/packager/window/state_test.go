package window

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func newState(t *testing.T, data []byte, clk *clocktest.Clock) *State {
	t.Helper()
	s, err := Load(data, Config{Window: 3, SegmentDuration: 2 * time.Second, DeleteGrace: 10 * time.Second,
		ContinueGrace: time.Minute, Now: clk.Now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var ladder = []manifest.Stream{{Name: "720p", Kind: media.Video, TS: 90000}, {Name: "audio", Kind: media.Audio, TS: 48000}}

func tracks(initByte byte) []cut.Track {
	return []cut.Track{
		{Rendition: cut.Rendition{Name: "720p", Bitrate: 3e6}, Kind: media.Video, Timescale: 90000, Lead: true, HasInit: true, Init: []byte{initByte}},
		{Rendition: cut.Rendition{Name: "audio", Language: "en"}, Kind: media.Audio, Timescale: 48000, HasInit: true, Init: []byte{'a'}},
	}
}

func segment(n uint64) *manifest.Segment {
	t := n * 2 * 90000
	return &manifest.Segment{N: n, Lead: "720p", Entries: []manifest.Entry{
		{Name: "720p", Kind: media.Video, TS: 90000, T: t, D: 180000, Size: 500000, Count: 60},
		{Name: "audio", Kind: media.Audio, TS: 48000, T: t / 90000 * 48000, D: 96000, Size: 32000, Count: 94},
	}}
}

// publish runs a session of n segments the way the live packager does.
func publish(s *State, from, n int, initByte byte) {
	names := []string{"720p", "audio"}
	s.AddRenditions(names)
	v, _, _ := s.DecideInit(tracks(initByte))
	for i := range n {
		num, _ := s.AllocSegment()
		rec := segment(num)
		rec.InitV = v
		s.Publish(rec, Epoch{Index: 1, Streams: ladder, Tracks: tracks(initByte), First: i == 0 && from == 0, Disc: s.HadPrevious()},
			func(uint64) bool { return false })
	}
}

// Segment numbers are reserved ahead: a state.json saved when asked never
// lets a restarted process reuse a number, and is asked for while half the
// stored reservation remains, so a number is never handed out (and served
// from memory) before a reservation covering it could be stored.
func TestAllocSegmentReserves(t *testing.T) {
	s := newState(t, nil, clocktest.New(t0))
	var persists []uint64
	var stored uint64 // next_segment of the last state.json saved when asked
	for range 40 {
		n, persist := s.AllocSegment()
		if n > 0 && n+segReserve/2 > stored {
			t.Errorf("number %d handed out with only %d reserved in storage", n, stored)
		}
		if persist {
			persists = append(persists, n)
			data, err := s.Marshal(false)
			if err != nil {
				t.Fatal(err)
			}
			var f File
			if err := json.Unmarshal(data, &f); err != nil {
				t.Fatal(err)
			}
			stored = f.NextSegment
		}
	}
	if !slices.Equal(persists, []uint64{0, 5, 10, 15, 20, 25, 30, 35}) {
		t.Errorf("persist asked at %v, want every %d numbers", persists, segReserve/2+1)
	}
	data, err := s.Marshal(false)
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.NextSegment != 44 {
		t.Errorf("next_segment %d, want the reservation 44", f.NextSegment)
	}
	s2 := newState(t, data, clocktest.New(t0))
	if n, _ := s2.AllocSegment(); n != 44 {
		t.Errorf("after a restart the next number is %d, want 44", n)
	}
	exact, _ := s.Marshal(true)
	if err := json.Unmarshal(exact, &f); err != nil || f.NextSegment != 40 {
		t.Errorf("exact next_segment %d, want 40", f.NextSegment)
	}
}

// The window slides; what leaves it is deleted after the grace, the
// session's directory never.
func TestWindowSlideAndDeletes(t *testing.T) {
	clk := clocktest.New(t0)
	s := newState(t, nil, clk)
	if dir := s.StartSession(); dir != "s1" {
		t.Fatalf("session dir %q", dir)
	}
	publish(s, 0, 5, 'v')
	v := s.Snapshot()
	if len(v.Window) != 3 || v.Window[0].N != 2 {
		t.Fatalf("window %d segments from %d, want 3 from 2", len(v.Window), v.Window[0].N)
	}
	if due := s.DueDeletes(); len(due) != 0 {
		t.Fatalf("deleted before the grace: %v", due)
	}
	clk.Advance(11 * time.Second)
	var keys []string
	for _, d := range s.DueDeletes() {
		keys = append(keys, d.Key)
	}
	want := []string{"s1/720p/0.m4s", "s1/audio/0.m4s", "s1/720p/1.m4s", "s1/audio/1.m4s"}
	if !slices.Equal(keys, want) {
		t.Errorf("deleted %v, want %v", keys, want)
	}
	if c := s.Counters(); c.SegmentsPublished != 5 || c.LastSegment != 4 || c.PendingDeletes != 0 {
		t.Errorf("counters %+v", c)
	}
	if m := s.Meter("720p"); m == nil || m.Declared != 3e6 || m.Segments != 5 || m.FPS != 30 {
		t.Errorf("meter %+v", m)
	}
}

// Init versions: the same bytes keep the version, new bytes get a new
// one; versions nobody lists any more are deleted.
func TestDecideInit(t *testing.T) {
	clk := clocktest.New(t0)
	s := newState(t, nil, clk)
	s.StartSession()
	v1, isNew, names := s.DecideInit(tracks('v'))
	if v1 != 0 || !isNew || !slices.Equal(names, []string{"720p", "audio"}) {
		t.Fatalf("first init: %d %v %v", v1, isNew, names)
	}
	if v, isNew, _ := s.DecideInit(tracks('v')); v != v1 || isNew {
		t.Errorf("same bytes: version %d new %v", v, isNew)
	}
	v2, isNew, _ := s.DecideInit(tracks('w'))
	if v2 != 1 || !isNew {
		t.Errorf("new bytes: version %d new %v", v2, isNew)
	}
	for range 4 {
		n, _ := s.AllocSegment()
		rec := segment(n)
		rec.InitV = v2
		s.Publish(rec, Epoch{Index: 2, Streams: ladder, Tracks: tracks('w'), First: n == 0, NewPeriod: true}, func(v uint64) bool { return false })
	}
	clk.Advance(time.Minute)
	var keys []string
	for _, d := range s.DueDeletes() {
		if strings.Contains(d.Key, "init") {
			keys = append(keys, d.Key)
		}
	}
	if !slices.Equal(keys, []string{"s1/720p/init-0.mp4", "s1/audio/init-0.mp4"}) {
		t.Errorf("init objects deleted: %v", keys)
	}
}

// A session left live is continued: same directory, the window carried
// over, numbering going on from the last published segment.
func TestContinue(t *testing.T) {
	clk := clocktest.New(t0)
	s := newState(t, nil, clk)
	s.StartSession()
	publish(s, 0, 4, 'v')
	s.Snapshot()
	data, err := s.Marshal(false) // the crash: state.json as last written
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	s2 := newState(t, data, clk)
	if !s2.Continuable() || !s2.ContinueUntil().Equal(s.Counters().LastPublish.Add(time.Minute)) {
		t.Fatalf("continuable %v until %v", s2.Continuable(), s2.ContinueUntil())
	}
	v, err := s2.Previous().View()
	if err != nil {
		t.Fatal(err)
	}
	s2.Resume(v, clk.Now())
	if s2.Dir() != "s1" || !s2.Published() {
		t.Errorf("resumed dir %q published %v", s2.Dir(), s2.Published())
	}
	if n, _ := s2.AllocSegment(); n != 4 {
		t.Errorf("next segment %d, want 4 (reserved numbers above the last published are reused)", n)
	}
	clk.Advance(2 * time.Minute)
	s3 := newState(t, data, clk)
	if s3.Continuable() {
		t.Error("continuable after the grace")
	}
}

// state.json as written before this package existed still loads.
func TestLoadEarlierState(t *testing.T) {
	const earlier = `{"version":1,"next_segment":21,"next_init":2,"discontinuity_sequence":1,"next_session":3,` +
		`"listed":[{"dir":"s1","renditions":["720p","audio"],"first_segment":0,"last_segment":9,"inits":[0]},` +
		`{"renditions":["720p"],"first_segment":3,"last_segment":4,"inits":[1]},` +
		`{"dir":"../x","renditions":["720p"],"first_segment":0,"last_segment":1}],` +
		`"deletes":[{"at":"2026-12-07T12:00:05Z","keys":["s1/720p/0.m4s"]},{"at":"2026-12-07T12:00:05Z","keys":[],"dirs":["s0/","../"]}]}`
	clk := clocktest.New(t0.Add(time.Minute))
	s := newState(t, []byte(earlier), clk)
	if dir := s.StartSession(); dir != "s3" {
		t.Errorf("next session %q, want s3", dir)
	}
	if n, _ := s.AllocSegment(); n != 21 {
		t.Errorf("next segment %d", n)
	}
	var due []Due
	due = append(due, s.DueDeletes()...)
	if !slices.Equal(due, []Due{{Key: "s1/720p/0.m4s"}}) {
		t.Errorf("due %v: invalid directories must never be deleted", due)
	}
	publish(s, 0, 1, 'v') // the first publish schedules the earlier sessions' objects
	clk.Advance(time.Minute)
	var keys []string
	for _, d := range s.DueDeletes() {
		keys = append(keys, d.Key)
	}
	if !slices.Contains(keys, "s1/") || !slices.Contains(keys, "720p/3.m4s") || !slices.Contains(keys, "720p/init-1.mp4") ||
		!slices.Contains(keys, "720p/index.m3u8") || slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "..") }) {
		t.Errorf("earlier sessions' deletions: %v", keys)
	}
	for _, bad := range []string{`{`, `{"next_segment":9007199254740993}`} {
		if _, err := Load([]byte(bad), Config{}, nil); err == nil {
			t.Errorf("loaded %s", bad)
		}
	}
}
