package packager

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
	"github.com/ospreyvideo/osprey/internal/storage"

	"github.com/ospreyvideo/osprey/internal/clocktest"
)

// memStore is an in-memory storage.Store that records every Put.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    []string
	failPut func(key string) bool
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (s *memStore) Put(_ context.Context, key string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failPut != nil && s.failPut(key) {
		return fmt.Errorf("injected failure for %s", key)
	}
	s.objects[key] = bytes.Clone(data)
	s.puts = append(s.puts, key)
	return nil
}

type memObject struct {
	*bytes.Reader
	info storage.Info
}

func (o *memObject) Close() error       { return nil }
func (o *memObject) Info() storage.Info { return o.info }

func (s *memStore) Open(_ context.Context, key string) (storage.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.objects[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrNotFound)
	}
	return &memObject{bytes.NewReader(d), storage.Info{Key: key, Size: int64(len(d))}}, nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
	return nil
}

func (s *memStore) DeletePrefix(_ context.Context, prefix string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) {
			delete(s.objects, k)
		}
	}
	return nil
}

func (s *memStore) get(t testing.TB, key string) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.objects[key]
	if !ok {
		t.Fatalf("object %s missing", key)
	}
	return d
}

func (s *memStore) getOK(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.objects[key]
	return d, ok
}

func (s *memStore) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.objects[key]
	return ok
}

func (s *memStore) keys(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// putIndex is the position of key's first Put, -1 if none.
func (s *memStore) putIndex(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range s.puts {
		if k == key {
			return i
		}
	}
	return -1
}

var _ io.Reader = (*memObject)(nil)

// fakeClock is an injectable wall clock.
type fakeClock = clocktest.Clock

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// SPS/PPS made by ffmpeg/libx264 (High profile, 30 fps).
var (
	sps720 = mustHex("6764001facd9405005bb0110000003001000000303c0f1831960")
	sps480 = mustHex("6764001facd940d83de6f0110000030001000003003c0f183196")
	sps360 = mustHex("6764001eacd940a02ff970110000030001000003003c0f162d96")
	ppsX   = mustHex("68ebe3cb22c0")
	ascLC  = []byte{0x11, 0x90} // AAC-LC, 48 kHz, stereo
)

func videoTrack(sps []byte, w, h int) *media.Track {
	return &media.Track{Kind: media.Video, Codec: media.H264, Width: w, Height: h, SPS: sps, PPS: ppsX}
}

func audioTrack() *media.Track {
	return &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 2, AudioConfig: ascLC}
}

// ladder returns the usual test ladder: 720p, 480p, 360p and audio.
func ladder() []Rendition {
	return []Rendition{
		{Name: "720p", Track: videoTrack(sps720, 1280, 720), Bitrate: 3_000_000, MaxBitrate: 3_300_000},
		{Name: "480p", Track: videoTrack(sps480, 854, 480)},
		{Name: "360p", Track: videoTrack(sps360, 640, 360)},
		{Name: "audio", Track: audioTrack(), Bitrate: 128_000},
	}
}

// synth generates the units of a ladder like ffmpeg's MPEG-TS output:
// 90 kHz timestamps, 30 fps video with a keyframe every gop frames, AAC
// frames of 1024 samples at 48 kHz.
type synth struct {
	rends    []Rendition
	gop      int           // frames per GOP
	bframes  bool          // DTS = PTS - 2 frames, with B-frame reordering
	origin   time.Duration // session time of the first frame
	skew     []time.Duration
	keyPlus  map[int]int // per rendition: shift keyframes by this many frames (misaligned rung)
	fpsDen   int         // 90 kHz ticks per frame, default 3000
	payloadN int
	// payloads, when set, gives payloadN per rendition (index as rends).
	payloads []int
}

type tsUnit struct {
	r     int
	order time.Duration // delivery order
	u     media.Unit
}

func tick90(n int64) time.Duration { return time.Duration(n * 1e9 / 90000) }

// units returns the units for [from, to) of media time, in delivery order.
func (s *synth) units(from, to time.Duration) []tsUnit {
	fd := s.fpsDen
	if fd == 0 {
		fd = 3000
	}
	var out []tsUnit
	for r, rend := range s.rends {
		var sk time.Duration
		if r < len(s.skew) {
			sk = s.skew[r]
		}
		if rend.Track.Kind == media.Audio {
			for j := int64(0); ; j++ {
				pts := s.origin + tick90(j*1920)
				if pts >= to {
					break
				}
				if pts < from {
					continue
				}
				data := bytes.Repeat([]byte{byte(j)}, 200+int(j%7))
				out = append(out, tsUnit{r, pts - sk, media.Unit{PTS: pts, DTS: pts, Key: true, Data: data}})
			}
			continue
		}
		for i := int64(0); ; i++ {
			pts := s.origin + tick90(i*int64(fd))
			dts := pts
			if s.bframes {
				// One B-frame: decode order I0 P2 B1 P4 B3 ..., DTS one frame behind.
				g := i % int64(s.gop)
				p := i - 1
				switch {
				case g == 0:
					p = i
				case g%2 == 1 && g+1 < int64(s.gop):
					p = i + 1
				case g%2 == 1:
					p = i
				}
				pts = s.origin + tick90(p*int64(fd))
				dts = s.origin + tick90((i-1)*int64(fd))
			}
			if dts >= to {
				break
			}
			if dts < from {
				continue
			}
			gi := i + int64(s.keyPlus[r])
			key := gi%int64(s.gop) == 0
			n := s.payloadN
			if r < len(s.payloads) {
				n = s.payloads[r]
			}
			if n == 0 {
				n = 600
			}
			nalus := [][]byte{{0x09, 0xf0}}
			if key {
				nalus = append(nalus, rend.Track.SPS, rend.Track.PPS, append([]byte{0x65}, bytes.Repeat([]byte{byte(r)}, 8*n)...))
			} else {
				nalus = append(nalus, append([]byte{0x41}, bytes.Repeat([]byte{byte(i)}, n+int(i%13))...))
			}
			out = append(out, tsUnit{r, dts - sk, media.Unit{PTS: pts, DTS: dts, Key: key, NALUs: nalus}})
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].order < out[b].order })
	return out
}

// feed writes us and waits until the background writer has stored
// everything.
func feed(t testing.TB, l *Live, us []tsUnit) {
	t.Helper()
	write(t, l, us)
	settle(t, l)
}

// write writes us without waiting for the background writer.
func write(t testing.TB, l *Live, us []tsUnit) {
	t.Helper()
	for i := range us {
		if err := l.WriteUnit(us[i].r, &us[i].u); err != nil {
			t.Fatalf("WriteUnit: %v", err)
		}
	}
}

// setGiveUp sets how long l's writer retries a segment object before
// listing it as a gap.
func setGiveUp(l *Live, d time.Duration) {
	l.w.SetLimits(d, writer.DefaultMaxBytes)
}

// crash stops l's background writer as a dying process would: what it
// had not written is never written.
func crash(l *Live) {
	l.mu.Lock()
	w := l.w
	l.mu.Unlock()
	if w != nil {
		w.Stop()
	}
}

// settle waits until l's background writer has written everything queued
// (segments, manifests, state.json, deletions).
func settle(t testing.TB, l *Live) {
	t.Helper()
	l.mu.Lock()
	w := l.w
	l.mu.Unlock()
	if w == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done, stop := context.WithCancel(context.Background())
	stop()
	for {
		if err := w.WaitIdle(ctx); err != nil {
			ops, bytes := w.Backlog()
			t.Fatalf("background writes not done: %v (%d objects, %d bytes queued)", err, ops, bytes)
		}
		// DVR retention runs after each batch and may queue more.
		if err := waitFor(ctx, l.retainIdle); err != nil {
			t.Fatalf("DVR retention not done: %v", err)
		}
		if w.WaitIdle(done) == nil && l.retainIdle() {
			return
		}
	}
}

var sessionStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestLive(t testing.TB, st *memStore, clk *fakeClock, cfg Config, start time.Time) *Live {
	t.Helper()
	if clk != nil {
		cfg.Now = clk.Now
	}
	l, err := NewLive(context.Background(), st, "live/ch", start, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var (
	mediaUnitKey    = media.Unit{Key: true, NALUs: [][]byte{{0x65, 1}}}
	mediaTrackNoASC = media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000}
)

// waitFor polls cond until it holds or ctx is done.
func waitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
