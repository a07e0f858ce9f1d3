package live

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// fakeTranscoder reports the lag it is given and records replans.
type fakeTranscoder struct {
	lag     time.Duration
	replans []transcode.Plan
}

func (f *fakeTranscoder) Status() transcode.Status { return transcode.Status{Lag: f.lag} }
func (f *fakeTranscoder) Replan(p transcode.Plan) {
	f.replans = append(f.replans, p)
	f.lag = 0 // the backlog is dropped
}

func TestShedderStepsDownOnlyWhenPersistentlyBehind(t *testing.T) {
	var logs bytes.Buffer
	m := NewManager(Config{Ladder: testLadder}, fakeChannels{}, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	l, err := m.cfg.Leases.Acquire(context.Background(), LeaseName("ch_1"))
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(m, catalog.Channel{ID: "ch_1"}, req("sk_good"), l)
	tracks := []*media.Track{{Kind: media.Video, Codec: media.H264, Width: 640, Height: 360}}
	plan, err := transcode.NewPlan(testLadder, tracks) // 360p, 240p at ultrafast
	if err != nil {
		t.Fatal(err)
	}
	s.setView(func(v *sessionView) { v.plan = plan })
	tc := &fakeTranscoder{}
	var sh shedder
	// tick advances the clock one second at lag and checks.
	tick := func(lag time.Duration) {
		now = now.Add(time.Second)
		tc.lag = lag
		s.checkLag(tc, &sh)
	}
	if m.cfg.ShedLag != 3*time.Second || m.cfg.ShedAfter != 5*time.Second {
		t.Fatalf("defaults: lag %v after %v, want 3s after 5s", m.cfg.ShedLag, m.cfg.ShedAfter)
	}
	// Behind for 4 s, then caught up: nothing shed.
	for range 4 {
		tick(4 * time.Second)
	}
	tick(time.Second)
	// Behind, but under the limit: nothing shed.
	for range 10 {
		tick(2900 * time.Millisecond)
	}
	if len(tc.replans) != 0 {
		t.Fatalf("shed %d times without a persistent lag", len(tc.replans))
	}
	// Persistently behind: one step per 5 s over the limit.
	wantSteps := []struct{ renditions, reason string }{
		{"240p", "dropped the top rung 360p"},
		{"240p", "half the frame rate"}, // ultrafast already
	}
	for i, want := range wantSteps {
		for range 6 {
			tick(4 * time.Second)
		}
		if len(tc.replans) != i+1 {
			t.Fatalf("after %d s behind: %d replans, want %d", 6*(i+1), len(tc.replans), i+1)
		}
		st := s.status()
		if got := strings.Join(renditionNames(tc.replans[i]), ","); got != want.renditions ||
			st.Degraded == nil || st.Degraded.Level != i+1 || st.Degraded.Reason != want.reason {
			t.Errorf("step %d: renditions %s, status %+v; want %s, %q", i+1, got, st.Degraded, want.renditions, want.reason)
		}
	}
	// Nothing left to shed: said once, no more replans.
	for range 20 {
		tick(4 * time.Second)
	}
	if len(tc.replans) != len(wantSteps) {
		t.Errorf("%d replans with nothing left to shed", len(tc.replans))
	}
	if n := strings.Count(logs.String(), "no load left to shed"); n != 1 {
		t.Errorf("logged %d times that nothing is left to shed, want once", n)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"transcoder cannot keep up with real time: shedding load\""); n != 2 {
		t.Errorf("%d warnings of shedding, want 2:\n%s", n, logs.String())
	}

	// Turned off: never sheds.
	m.cfg.NoShedding = true
	var off shedder
	tc.replans = nil
	for range 20 {
		now = now.Add(time.Second)
		tc.lag = 10 * time.Second
		s.checkLag(tc, &off)
	}
	if len(tc.replans) != 0 {
		t.Errorf("shed %d times with shedding off", len(tc.replans))
	}
}
