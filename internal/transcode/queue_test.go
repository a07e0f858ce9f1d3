package transcode

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// The queue in front of ffmpeg is bounded by bytes: large units from a
// publisher that ffmpeg does not take are dropped past QueueBytes, however
// few they are.
func TestQueueIsBoundedByBytes(t *testing.T) {
	hung := filepath.Join(t.TempDir(), "ffmpeg")
	if err := os.WriteFile(hung, []byte("#!/bin/sh\nexec sleep 600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tracks := []*media.Track{{Kind: media.Video, Codec: media.H264, Width: 320, Height: 240}}
	plan, err := NewPlan(Ladder{Preset: "ultrafast", Video: []Rung{{Name: "240p", Height: 240, Bitrate: 300_000}}}, tracks)
	if err != nil {
		t.Fatal(err)
	}
	const unit, limit = 1 << 20, 8 << 20
	s := Start(Config{FFmpegPath: hung, QueueBytes: limit}, plan, tracks, &recorder{}, slog.New(slog.DiscardHandler))
	defer s.Kill()
	big := bytes.Repeat([]byte{0x41}, unit)
	const n = 100 // 100 MiB offered, far below the 4096-unit count bound
	for i := range n {
		u := &media.Unit{DTS: time.Duration(i) * 33 * time.Millisecond, Key: true, NALUs: [][]byte{{0x65}, big}}
		if err := s.WriteUnit(0, u); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Status()
	// What the feeder took into the pipe (at most a few units) plus the queue.
	if st.Queued > limit {
		t.Errorf("%d bytes queued, limit %d", st.Queued, limit)
	}
	if st.Dropped < n-limit/unit-4 {
		t.Errorf("dropped %d of %d units of 1 MiB with a %d MiB queue", st.Dropped, n, limit>>20)
	}
}
