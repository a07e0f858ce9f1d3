package packager

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
	"github.com/ospreyvideo/osprey/internal/packager/asset"
)

// fuzzUnits is a few seconds of the test ladder, made once.
var fuzzUnits = func() []tsUnit {
	s := synth{gop: 30, rends: ladder(), payloadN: 40}
	return s.units(0, 3*time.Second+time.Millisecond)
}()

// stateSeeds returns state.json contents written by real sessions: a
// session left live (crashed), one ended, the earlier layout's, and one
// whose ladder lost a rendition.
func stateSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	seeds = append(seeds, earlierLayout(t).get(t, "live/ch/state.json"))
	for _, tc := range []struct {
		end, drop bool
	}{{false, false}, {true, false}, {false, true}} {
		st := newMemStore()
		clk := clocktest.New(sessionStart)
		l := newTestLive(t, st, clk, Config{Window: 3, DeleteGrace: time.Second}, sessionStart)
		if err := l.Begin(ladder()); err != nil {
			t.Fatal(err)
		}
		s := synth{gop: 60, rends: ladder(), payloadN: 40}
		feed(t, l, s.units(0, 9*time.Second))
		if tc.drop {
			small := synth{gop: 60, rends: ladder()[1:], payloadN: 40, origin: 10 * time.Second}
			if err := l.Begin(small.rends); err != nil {
				t.Fatal(err)
			}
			feed(t, l, small.units(10*time.Second, 15*time.Second))
			if !strings.Contains(string(st.get(t, "live/ch/state.json")), `"frozen"`) {
				t.Fatal("no frozen playlist in state.json")
			}
		}
		if tc.end {
			if err := l.End(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		seeds = append(seeds, bytes.Clone(st.get(t, "live/ch/state.json")))
	}
	return seeds
}

// FuzzLoadState feeds arbitrary state.json contents to what reads them
// back: Recover, then NewLive (which ends an interrupted session), a short
// session and End. Errors are fine; panics and hangs are not.
func FuzzLoadState(f *testing.F) {
	for _, s := range stateSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"version":1,"next_segment":18446744073709551615,"next_init":18446744073709551615,"next_session":18446744073709551615}`))
	f.Add([]byte(`{"listed":[{"renditions":["720p"],"first_segment":0,"last_segment":18446744073709551615}]}`))
	f.Add([]byte(`{"deletes":[{"at":"2000-01-01T00:00:00Z","keys":["../x"],"dirs":["s1/","../","s0/"]}]}`))
	f.Add([]byte(`{"session":{"live":true,"dir":"../x","streams":[{"name":"a","kind":2,"ts":1}],"tracks":[0],"renditions":[{"name":"a"}],"periods":[{"id":0}],"window":[{"n":0,"p":0,"lead":0,"e":[[0,0,0]]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newMemStore()
		st.objects["live/ch/state.json"] = bytes.Clone(data)
		clk := clocktest.New(sessionStart)
		cfg := Config{Window: 3, DeleteGrace: time.Second, Now: clk.Now}
		ctx := context.Background()
		if _, err := Recover(ctx, st, "live/ch", cfg, nil); err != nil {
			return
		}
		clk.Advance(time.Minute)
		l, err := NewLive(ctx, st, "live/ch", sessionStart.Add(time.Minute), cfg, nil)
		if err != nil {
			return
		}
		if err := l.Begin(ladder()); err != nil {
			t.Fatal(err)
		}
		for i := range fuzzUnits {
			u := fuzzUnits[i].u
			if err := l.WriteUnit(fuzzUnits[i].r, &u); err != nil {
				return
			}
		}
		clk.Advance(time.Minute)
		_ = l.End(ctx)
	})
}

// FuzzPublishVOD feeds arbitrary vod.json contents to PublishVOD, which
// renders an asset's manifests again from it.
func FuzzPublishVOD(f *testing.F) {
	st := newMemStore()
	s := synth{gop: 60, rends: []Rendition{ladder()[0], langAudio("en", "en", "", true)}, payloadN: 40}
	runVOD(f, st, &s, 9*time.Second, asset.Config{})
	f.Add(bytes.Clone(st.get(f, vodPrefix+"/vod.json")))
	f.Add([]byte(`{"version":1,"session":{}}`))
	f.Add([]byte(`{"version":1,"session":{"streams":[{"name":"v","kind":1,"ts":90000}],"tracks":[0,0],"renditions":[{"name":"v"}],"periods":[{"id":1}],"window":[{"n":1,"p":1,"lead":0,"e":[[0,0,0,1]]}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := newMemStore()
		st.objects[vodPrefix+"/vod.json"] = bytes.Clone(data)
		_ = asset.Publish(context.Background(), st, vodPrefix, []asset.Subtitle{{Name: "en", Language: "en", Path: "subs/en.vtt"}})
	})
}
