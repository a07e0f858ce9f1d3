package transcode

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

func TestDegradeShedsLoadOneStepAtATime(t *testing.T) {
	input := []*media.Track{
		{Kind: media.Video, Codec: media.H264, Width: 1920, Height: 1080},
		{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 2},
	}
	rungs := []Rung{
		{Name: "720p", Height: 720, Bitrate: 3_000_000},
		{Name: "1080p", Height: 1080, Bitrate: 6_000_000},
		{Name: "360p", Height: 360, Bitrate: 800_000},
	}
	type step struct {
		renditions string
		preset     string
		halfRate   bool
		reason     string
	}
	tests := []struct {
		name   string
		ladder Ladder
		steps  []step
	}{
		{
			name:   "ladder at medium",
			ladder: Ladder{Preset: "medium", Video: rungs},
			steps: []step{
				{"720p,360p,audio", "medium", false, "dropped the top rung 1080p"},
				{"720p,360p,audio", "veryfast", false, "x264 preset veryfast instead of medium"},
				{"720p,360p,audio", "ultrafast", false, "x264 preset ultrafast instead of veryfast"},
				{"720p,360p,audio", "ultrafast", true, "half the frame rate"},
			},
		},
		{
			name:   "one rung: nothing to drop",
			ladder: Ladder{Preset: "superfast", Video: rungs[2:]},
			steps: []step{
				{"360p,audio", "ultrafast", false, "x264 preset ultrafast instead of superfast"},
				{"360p,audio", "ultrafast", true, "half the frame rate"},
			},
		},
		{
			name:   "passthrough keeps its rung and the frame rate",
			ladder: Ladder{Preset: "ultrafast", Passthrough: true, Video: rungs},
			steps: []step{
				{"source,720p,360p,audio", "ultrafast", false, "dropped the top rung 1080p"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.ladder, input)
			if err != nil {
				t.Fatal(err)
			}
			orig := p.names()
			for i, want := range tt.steps {
				next, reason, ok := p.Degrade()
				if !ok {
					t.Fatalf("step %d: nothing shed, want %q", i+1, want.reason)
				}
				if got := next.names(); got != want.renditions || next.Preset != want.preset || next.halfRate != want.halfRate || reason != want.reason {
					t.Errorf("step %d: %s preset %s half %v (%q), want %s %s %v (%q)", i+1, got, next.Preset, next.halfRate, reason,
						want.renditions, want.preset, want.halfRate, want.reason)
				}
				p = next
			}
			if _, reason, ok := p.Degrade(); ok {
				t.Errorf("shed again after the last step: %q", reason)
			}
			if got, _ := NewPlan(tt.ladder, input); got.names() != orig {
				t.Errorf("Degrade changed the plan it was called on")
			}
		})
	}
}

func TestHalfRateDropsEveryOtherFrameBeforeTheSplit(t *testing.T) {
	tracks, units := makeInput(t, 5, "640x360")
	p, err := NewPlan(testLadder, tracks)
	if err != nil {
		t.Fatal(err)
	}
	p.halfRate = true
	args := p.FFmpegArgs(tracks, 2*time.Second)
	if i := slices.Index(args, "-filter_complex"); i < 0 || !strings.HasPrefix(args[i+1], "[0:0]framestep=2,split=2") {
		t.Fatalf("filter graph %q", args)
	}
	rec := transcodeAll(t, p, tracks, units)
	var in int
	for _, u := range units {
		if u.track == 0 {
			in++
		}
	}
	for i, name := range []string{"360p", "240p"} {
		var keys []time.Duration
		for _, u := range rec.units[i] {
			if u.Key {
				keys = append(keys, u.PTS)
			}
		}
		if n := len(rec.units[i]); n < in/2-1 || n > in/2+1 {
			t.Errorf("%s: %d frames out of %d in, want half", name, n, in)
		}
		if fmt.Sprint(keys) != "[0s 2s 4s]" {
			t.Errorf("%s: keyframes at %v, want on the 2 s grid", name, keys)
		}
	}
}

// Replan restarts ffmpeg at once with the new ladder: the output gets a
// new Begin with the new renditions and goes on, on the same timeline.
func TestReplanRestartsWithTheNewLadder(t *testing.T) {
	tracks, units := makeInput(t, 8, "640x360")
	plan, err := NewPlan(testLadder, tracks) // 360p, 240p, audio
	if err != nil {
		t.Fatal(err)
	}
	next, _, ok := plan.Degrade()
	if !ok {
		t.Fatal("nothing to shed")
	}
	rec := &recorder{}
	s := Start(Config{SegmentDuration: 2 * time.Second}, plan, tracks, rec, slog.New(slog.DiscardHandler))
	start := time.Now()
	replanned := false
	for _, u := range units {
		if d := time.Until(start.Add(u.unit.DTS)); d > 0 {
			time.Sleep(d) // publish in real time
		}
		if !replanned && u.unit.DTS > 3*time.Second {
			s.Replan(next)
			replanned = true
		}
		if err := s.WriteUnit(u.track, u.unit); err != nil {
			t.Fatal(err)
		}
	}
	closeInput(t, s)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.begins) != 2 {
		t.Fatalf("Begin called %d times, want 2", len(rec.begins))
	}
	var names []string
	for _, r := range rec.begins[1] {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "240p,audio" {
		t.Errorf("renditions after Replan: %s", got)
	}
	if st := s.Status(); st.Restarts != 0 {
		t.Errorf("a replan counted as %d failure restarts", st.Restarts)
	}
	// Rendition 0 is 360p before, 240p after: its units go on past the
	// replan, on the session timeline, up to the end of the input.
	v := rec.units[0]
	if last := v[len(v)-1].PTS; last < 7*time.Second {
		t.Errorf("last video frame at %v, want near 8 s", last)
	}
}
