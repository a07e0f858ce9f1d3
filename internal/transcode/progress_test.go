package transcode

import (
	"strings"
	"testing"
	"time"
)

func TestReadProgress(t *testing.T) {
	in := "frame=30\nfps=29.5\nout_time_us=11000000\nspeed=0.98x\nprogress=continue\n" +
		"frame=60\nout_time_us=N/A\nspeed=N/A\nprogress=end\n"
	var got []progress
	readProgress(strings.NewReader(in), func(p progress) { got = append(got, p) })
	want := []progress{
		{OutTime: 11 * time.Second, Speed: 0.98, Frames: 30},
		{Frames: 60, End: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
