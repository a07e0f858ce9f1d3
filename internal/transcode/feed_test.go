package transcode

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// feedRig runs Supervisor.feed into a pipe and reports each write's bytes.
type feedRig struct {
	s      *Supervisor
	writes chan []byte
	done   chan error
}

func startFeed(t *testing.T, input []*media.Track) *feedRig {
	t.Helper()
	s := &Supervisor{
		input:     input,
		log:       slog.New(slog.DiscardHandler),
		q:         newUnitQueue(16, 1<<20, isVideo(input)),
		inputDone: make(chan struct{}),
		kill:      make(chan struct{}),
	}
	r := &feedRig{s: s, writes: make(chan []byte, 64), done: make(chan error, 1)}
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 1<<20)
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				r.writes <- bytes.Clone(buf[:n])
			}
			if err != nil {
				close(r.writes)
				return
			}
		}
	}()
	go func() { r.done <- s.feed(pw, make(chan struct{})) }()
	t.Cleanup(func() {
		s.Kill()
		<-r.done
		pr.Close()
	})
	return r
}

func (r *feedRig) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-r.writes:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("nothing reached ffmpeg's stdin")
		return nil
	}
}

var aacTrack48k = &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 1, AudioConfig: []byte{0x11, 0x88}}

// TestFeedFlushesAudioWithoutVideoTrack: input without video is written
// unit by unit.
func TestFeedFlushesAudioWithoutVideoTrack(t *testing.T) {
	t.Parallel()
	r := startFeed(t, []*media.Track{aacTrack48k})
	for i := range 3 {
		d := time.Duration(i) * 21 * time.Millisecond
		r.s.q.push(queued{track: 0, unit: &media.Unit{Key: true, PTS: d, DTS: d, Data: []byte{1, 2, 3, 4}}})
		if b := r.next(t); len(b) == 0 || len(b)%188 != 0 {
			t.Fatalf("unit %d: wrote %d bytes, want whole TS packets", i, len(b))
		}
	}
}

// TestFeedBoundsAudioWaitingForVideo: with a video track, audio waits for
// the next video unit, but no more than audioFlushSpan of it: when video
// stops, audio still reaches ffmpeg.
func TestFeedBoundsAudioWaitingForVideo(t *testing.T) {
	t.Parallel()
	video := &media.Track{Kind: media.Video, Codec: media.H264, Width: 320, Height: 240}
	r := startFeed(t, []*media.Track{video, aacTrack48k})
	idr := [][]byte{{0x67, 0x42, 0xc0, 0x1e}, {0x68, 0xce, 0x3c, 0x80}, {0x65, 0x88, 0x84, 0x00}}
	r.s.q.push(queued{track: 0, unit: &media.Unit{Key: true, NALUs: idr}})
	r.next(t)
	// Audio frames 21 ms apart: the third makes the waiting audio span 42 ms.
	for i := range 3 {
		d := time.Duration(i) * 21 * time.Millisecond
		r.s.q.push(queued{track: 1, unit: &media.Unit{Key: true, PTS: d, DTS: d, Data: []byte{1, 2, 3, 4}}})
	}
	b := r.next(t)
	if n := len(b) / 188; len(b)%188 != 0 || n < 3 {
		t.Fatalf("wrote %d bytes, want the three audio frames' packets together", len(b))
	}
}

// TestFeedFlushesVideoAtOnce: a video unit, and the audio buffered before
// it, are written in one go as soon as the queue is empty.
func TestFeedFlushesVideoAtOnce(t *testing.T) {
	t.Parallel()
	video := &media.Track{Kind: media.Video, Codec: media.H264, Width: 320, Height: 240}
	r := startFeed(t, []*media.Track{video, aacTrack48k})
	idr := [][]byte{{0x67, 0x42, 0xc0, 0x1e}, {0x68, 0xce, 0x3c, 0x80}, {0x65, 0x88, 0x84, 0x00}}
	// The first unit of a run is a keyframe; then audio, then video, queued at once.
	r.s.q.push(queued{track: 0, unit: &media.Unit{Key: true, NALUs: idr}})
	first := r.next(t)
	r.s.q.push(queued{track: 1, unit: &media.Unit{Key: true, PTS: time.Millisecond, DTS: time.Millisecond, Data: []byte{1, 2, 3, 4}}})
	r.s.q.push(queued{track: 0, unit: &media.Unit{PTS: 33 * time.Millisecond, DTS: 33 * time.Millisecond, NALUs: [][]byte{{0x41, 0x9a, 0x00}}}})
	second := r.next(t)
	if len(first)%188 != 0 || len(second)%188 != 0 {
		t.Fatalf("writes of %d and %d bytes, want whole TS packets", len(first), len(second))
	}
	// Audio and video in one write: at least one packet of each PID.
	if n := len(second) / 188; n < 2 {
		t.Fatalf("the second write holds %d packets, want audio and video together", n)
	}
	select {
	case b := <-r.writes:
		t.Fatalf("an extra write of %d bytes", len(b))
	default:
	}
}
