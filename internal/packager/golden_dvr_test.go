package packager

import (
	"context"
	"testing"

	"github.com/ospreyvideo/osprey/internal/clocktest"
)

// TestGoldenLiveDVR: a live session with DVR on (1 s segments, chunks of
// 4, an 8 s window), long enough for retention to drop its first chunks,
// ended: the chunks, dvr.json and what is left of the media.
func TestGoldenLiveDVR(t *testing.T) {
	st := newMemStore()
	clk := clocktest.New(sessionStart)
	l := newTestLive(t, st, clk, dvrCfg(), sessionStart)
	s := synth{gop: 30, rends: ladder(), bframes: true}
	if err := l.Begin(s.rends); err != nil {
		t.Fatal(err)
	}
	feedSeconds(t, l, clk, sessionStart, s, 0, 16, published{})
	if err := l.End(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, st, "live-dvr")
}
