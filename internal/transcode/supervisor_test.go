package transcode

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/media/mediatest"
)

type inputUnit struct {
	track int
	unit  *media.Unit
}

// makeInput encodes a test source with ffmpeg and demuxes it into units on a
// session timeline starting at 0, as an ingest listener would deliver them.
func makeInput(t *testing.T, seconds int, size string) ([]*media.Track, []inputUnit) {
	t.Helper()
	tracks, us := mediatest.Units(t, mediatest.Source{Seconds: seconds, Size: size, GOP: 45, SampleRate: 44100})
	units := make([]inputUnit, len(us))
	for i, u := range us {
		units[i] = inputUnit{u.Track, u.Unit}
	}
	return tracks, units
}

// recorder is an Output that keeps what it receives.
type recorder struct {
	mu     sync.Mutex
	begins [][]Rendition
	units  map[int][]*media.Unit
}

func (r *recorder) Begin(rs []Rendition) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.begins = append(r.begins, rs)
	return nil
}

func (r *recorder) beginCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.begins)
}

func (r *recorder) WriteUnit(i int, u *media.Unit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.units == nil {
		r.units = map[int][]*media.Unit{}
	}
	r.units[i] = append(r.units[i], u)
	return nil
}

// transcodeAll runs a Supervisor over units as fast as it takes them and
// returns what came out once the input has ended.
func transcodeAll(t *testing.T, plan Plan, tracks []*media.Track, units []inputUnit) *recorder {
	t.Helper()
	return transcodeWith(t, Config{SegmentDuration: 2 * time.Second}, plan, tracks, units)
}

// transcodeWith is transcodeAll with a Config of its own.
func transcodeWith(t *testing.T, cfg Config, plan Plan, tracks []*media.Track, units []inputUnit) *recorder {
	t.Helper()
	rec := &recorder{}
	s := Start(cfg, plan, tracks, rec, slog.New(slog.DiscardHandler))
	for _, u := range units {
		if err := s.WriteUnit(u.track, u.unit); err != nil {
			t.Fatal(err)
		}
	}
	closeInput(t, s)
	return rec
}

// closeInput ends the input and waits for ffmpeg to finish what it has.
func closeInput(t *testing.T, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

var testLadder = Ladder{
	Preset: "ultrafast",
	Video: []Rung{
		{Name: "360p", Height: 360, Bitrate: 600_000},
		{Name: "240p", Height: 240, Bitrate: 300_000},
		{Name: "720p", Height: 720, Bitrate: 2_000_000}, // taller than the input: skipped
	},
}

func TestSupervisorTranscodesAlignedLadder(t *testing.T) {
	tracks, units := makeInput(t, 7, "640x360")
	plan, err := NewPlan(testLadder, tracks)
	if err != nil {
		t.Fatal(err)
	}
	rec := transcodeAll(t, plan, tracks, units)
	if len(rec.begins) != 1 {
		t.Fatalf("Begin called %d times, want 1", len(rec.begins))
	}
	checkKeyframeGrid(t, rec, 2*time.Second, 4)
	rs := rec.begins[0]
	wantNames := []string{"360p", "240p", "audio"}
	if len(rs) != len(wantNames) {
		t.Fatalf("renditions %v, want %v", plan.names(), wantNames)
	}
	for i, r := range rs {
		if r.Name != wantNames[i] {
			t.Errorf("rendition %d = %s, want %s", i, r.Name, wantNames[i])
		}
	}
	if rs[0].Track.Width != 640 || rs[0].Track.Height != 360 || rs[1].Track.Width != 426 || rs[1].Track.Height != 240 {
		t.Errorf("sizes %dx%d, %dx%d", rs[0].Track.Width, rs[0].Track.Height, rs[1].Track.Width, rs[1].Track.Height)
	}
	if rs[0].Track.SPS == nil || rs[2].Track.AudioConfig == nil || rs[2].Track.SampleRate != 48000 {
		t.Errorf("incomplete tracks: %+v %+v", rs[0].Track, rs[2].Track)
	}
	// Every input frame comes out of each rung, on the session timeline.
	var inFrames int
	for _, u := range units {
		if u.track == 0 {
			inFrames++
		}
	}
	if n := len(rec.units[0]); n != inFrames {
		t.Errorf("360p has %d frames, input %d", n, inFrames)
	}
	if a := rec.units[2]; len(a) < 7*48000/1024-5 {
		t.Errorf("audio has %d frames, want about %d", len(a), 7*48000/1024)
	} else if a[0].PTS < -50*time.Millisecond || a[0].PTS > 50*time.Millisecond {
		t.Errorf("audio starts at %v, want about 0", a[0].PTS)
	}
}

// checkKeyframeGrid checks that the two video rungs have their keyframes
// at the same instants, n of them, every grid.
func checkKeyframeGrid(t *testing.T, rec *recorder, grid time.Duration, n int) {
	t.Helper()
	keys := func(i int) []time.Duration {
		var k []time.Duration
		for _, u := range rec.units[i] {
			if u.Key {
				k = append(k, u.PTS)
			}
		}
		return k
	}
	k0, k1 := keys(0), keys(1)
	if len(k0) != n || len(k0) != len(k1) {
		t.Fatalf("keyframes 360p %v, 240p %v; want %d each, every %v", k0, k1, n, grid)
	}
	for i := range k0 {
		if k0[i] != k1[i] {
			t.Errorf("keyframe %d at %v in 360p but %v in 240p", i, k0[i], k1[i])
		}
		if want := time.Duration(i) * grid; k0[i] != want {
			t.Errorf("keyframe %d at %v, want %v", i, k0[i], want)
		}
	}
}

// A keyframe interval dividing the segment duration puts keyframes on its
// finer grid (each segment boundary still one); one that does not divide
// it is ignored.
func TestSupervisorKeyframeInterval(t *testing.T) {
	tracks, units := makeInput(t, 7, "640x360")
	plan, err := NewPlan(testLadder, tracks)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		interval, grid time.Duration
		n              int
	}{
		{time.Second, time.Second, 7},
		{1500 * time.Millisecond, 2 * time.Second, 4},
	} {
		rec := transcodeWith(t, Config{SegmentDuration: 2 * time.Second, KeyframeInterval: tt.interval}, plan, tracks, units)
		checkKeyframeGrid(t, rec, tt.grid, tt.n)
	}
}

func TestSupervisorRestartsDeadFFmpeg(t *testing.T) {
	tracks, units := makeInput(t, 8, "320x240")
	plan, err := NewPlan(Ladder{Preset: "ultrafast", Video: []Rung{{Name: "240p", Height: 240, Bitrate: 300_000}}}, tracks)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s := Start(Config{SegmentDuration: 2 * time.Second}, plan, tracks, rec, slog.New(slog.DiscardHandler))
	// Publish in real time, kill ffmpeg after 3 s once its output has
	// begun (on a loaded machine the first run may take longer to start,
	// and a run killed before its first output has nothing to restart).
	start := time.Now()
	killed := false
	for _, u := range units {
		if d := time.Until(start.Add(u.unit.DTS)); d > 0 {
			time.Sleep(d)
		}
		if !killed && u.unit.DTS > 3*time.Second && rec.beginCount() == 1 {
			st := s.Status()
			if st.PID == 0 {
				t.Fatal("ffmpeg not running after 3 s")
			}
			if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
		if err := s.WriteUnit(u.track, u.unit); err != nil {
			t.Fatal(err)
		}
	}
	if !killed {
		t.Fatal("ffmpeg's output had not begun by the end of the 8 s input")
	}
	closeInput(t, s)
	if got := s.Status().Restarts; got != 1 {
		t.Errorf("restarts = %d, want 1", got)
	}
	if len(rec.begins) != 2 {
		t.Fatalf("Begin called %d times, want 2 (start and restart)", len(rec.begins))
	}
	// Output continues after the restart, up to the end of the input.
	v := rec.units[0]
	if last := v[len(v)-1].PTS; last < 7500*time.Millisecond {
		t.Errorf("last video frame at %v, want near 8 s", last)
	}
	for i := 1; i < len(v); i++ {
		if v[i].DTS <= v[i-1].DTS {
			t.Fatalf("DTS not increasing across the restart: %v then %v", v[i-1].DTS, v[i].DTS)
		}
	}
}

func TestPassthroughRungsShareTheSourceKeyframes(t *testing.T) {
	tracks, units := makeInput(t, 5, "320x240") // source keyframes every 45 frames (1.5 s)
	ladder := Ladder{Preset: "ultrafast", Passthrough: true, Video: []Rung{{Name: "180p", Height: 180, Bitrate: 200_000}}}
	plan, err := NewPlan(ladder, tracks)
	if err != nil {
		t.Fatal(err)
	}
	rec := transcodeAll(t, plan, tracks, units)
	if got := plan.names(); got != "source,180p,audio" {
		t.Fatalf("renditions %s", got)
	}
	var srcKeys []time.Duration
	for _, u := range units {
		if u.track == 0 && u.unit.Key {
			srcKeys = append(srcKeys, u.unit.PTS)
		}
	}
	for i, name := range []string{"source", "180p"} {
		var keys []time.Duration
		for _, u := range rec.units[i] {
			if u.Key {
				keys = append(keys, u.PTS)
			}
		}
		if fmt.Sprint(keys) != fmt.Sprint(srcKeys) {
			t.Errorf("%s keyframes at %v, source at %v", name, keys, srcKeys)
		}
	}
	if w, h := rec.begins[0][0].Track.Width, rec.begins[0][0].Track.Height; w != 320 || h != 240 {
		t.Errorf("passthrough is %dx%d", w, h)
	}
}

// An ffmpeg that hangs (alive, reading nothing, writing nothing) is killed
// and restarted.
func TestSupervisorRestartsHungFFmpeg(t *testing.T) {
	tracks, units := makeInput(t, 2, "320x240")
	hung := filepath.Join(t.TempDir(), "ffmpeg")
	if err := os.WriteFile(hung, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(Ladder{Preset: "ultrafast", Video: []Rung{{Name: "240p", Height: 240, Bitrate: 300_000}}}, tracks)
	if err != nil {
		t.Fatal(err)
	}
	s := Start(Config{FFmpegPath: hung, StallTimeout: 2 * time.Second}, plan, tracks, &recorder{}, slog.New(slog.DiscardHandler))
	defer s.Kill()
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; s.Status().Restarts == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("a hung transcoder was not restarted within 15 s")
		}
		u := units[i%len(units)]
		unit := *u.unit
		unit.DTS += time.Duration(i/len(units)) * 2 * time.Second // input keeps going
		_ = s.WriteUnit(u.track, &unit)
		time.Sleep(10 * time.Millisecond)
	}
}
