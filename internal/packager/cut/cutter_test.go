package cut

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

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
	sps360 = mustHex("6764001eacd940a02ff970110000030001000003003c0f162d96")
	pps    = mustHex("68ebe3cb22c0")
)

func testLadder() []Rendition {
	return []Rendition{
		{Name: "audio", Track: &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 2, AudioConfig: []byte{0x11, 0x90}}},
		{Name: "720p", Track: &media.Track{Kind: media.Video, Codec: media.H264, Width: 1280, Height: 720, SPS: sps720, PPS: pps}},
		{Name: "360p", Track: &media.Track{Kind: media.Video, Codec: media.H264, Width: 640, Height: 360, SPS: sps360, PPS: pps}},
	}
}

type feedUnit struct {
	r int
	u media.Unit
}

// units returns [from, to) of a 30 fps ladder (keyframes every gop frames,
// or gops[r] for rendition r) with AAC audio, interleaved by timestamp.
// Payload bytes differ per rendition and frame.
func units(rs []Rendition, gop int, gops map[int]int, from, to time.Duration) []feedUnit {
	var out []feedUnit
	frame := time.Second / 30
	for t := from; t < to; t += time.Millisecond {
		for r, rend := range rs {
			if rend.Track.Kind == media.Audio {
				aac := 1024 * time.Second / 48000
				if t%aac < time.Millisecond && (t/aac)*aac >= from {
					j := int(t / aac)
					out = append(out, feedUnit{r, media.Unit{PTS: t / aac * aac, Key: true, Data: bytes.Repeat([]byte{byte(j)}, 100)}})
				}
				continue
			}
			if t%frame >= time.Millisecond {
				continue
			}
			i := int(t / frame)
			g := gop
			if gops[r] > 0 {
				g = gops[r]
			}
			key := i%g == 0
			pts := time.Duration(i) * frame
			n := [][]byte{append([]byte{0x41}, bytes.Repeat([]byte{byte(i), byte(r)}, 50)...)}
			if key {
				n = [][]byte{rend.Track.SPS, rend.Track.PPS, append([]byte{0x65}, bytes.Repeat([]byte{byte(r)}, 200)...)}
			}
			out = append(out, feedUnit{r, media.Unit{PTS: pts, DTS: pts, Key: key, NALUs: n}})
		}
	}
	return out
}

// recorder is a Handler that numbers segments from 1 and keeps copies of
// what it was given.
type recorder struct {
	next    uint64
	numErr  error
	failFor map[[2]uint64]bool // {n, rendition}: Closed returns an error
	closed  []Closed
	copies  [][]byte
	datas   [][]byte // the slices as given
}

func (r *recorder) handler() Handler {
	return Handler{
		Number: func() (uint64, error) { r.next++; return r.next, r.numErr },
		Closed: func(s Closed) error {
			r.closed = append(r.closed, s)
			r.copies = append(r.copies, bytes.Clone(s.Data))
			r.datas = append(r.datas, s.Data)
			if r.failFor[[2]uint64{s.N, uint64(s.Rendition)}] {
				return errors.New("refused")
			}
			return nil
		},
	}
}

func feed(t *testing.T, c *Cutter, us []feedUnit) {
	t.Helper()
	for _, f := range us {
		if err := c.WriteUnit(f.r, &f.u); err != nil {
			t.Fatal(err)
		}
	}
}

func readyAll(c *Cutter) []Slot {
	var out []Slot
	for {
		s, ok := c.Ready()
		if !ok {
			return out
		}
		out = append(out, s)
	}
}

// Every rendition is cut at the lead's instants, on the grid: segment n
// starts at the same media time in every rendition.
func TestAlignedOnTheGrid(t *testing.T) {
	rec := &recorder{}
	start := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixNano()
	c, err := New(Config{SegmentDuration: 2 * time.Second, StartNS: start, Handoff: true}, testLadder(), rec.handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Lead() != 1 {
		t.Fatalf("lead %d, want the first video (1)", c.Lead())
	}
	feed(t, c, units(testLadder(), 60, nil, 0, 10*time.Second))
	c.Flush()
	slots := readyAll(c)
	if len(slots) != 5 {
		t.Fatalf("%d slots, want 5", len(slots))
	}
	tracks := c.Tracks()
	for i, s := range slots {
		if s.N != uint64(i+1) {
			t.Errorf("slot %d numbered %d", i, s.N)
		}
		want := time.Duration(start) + time.Duration(i)*2*time.Second
		for r, res := range s.Results {
			got := timeline.SinceEpoch(res.T, tracks[r].Timescale)
			if d := got - want; res.Gap || d < -25*time.Millisecond || d > 25*time.Millisecond {
				t.Errorf("slot %d rendition %d: gap %v, starts %v, want %v", s.N, r, res.Gap, got, want)
			}
			if tracks[r].Kind == media.Video && res.Count != 60 {
				t.Errorf("slot %d rendition %d: %d samples, want 60", s.N, r, res.Count)
			}
		}
	}
	if _, ok := c.Ready(); ok {
		t.Error("a slot was returned twice")
	}
}

// With Handoff, the handler keeps the bytes it was given: the Cutter never
// writes into them again. Without it, the next segment reuses the buffer.
func TestHandoff(t *testing.T) {
	for _, handoff := range []bool{true, false} {
		rec := &recorder{}
		c, err := New(Config{SegmentDuration: 2 * time.Second, Handoff: handoff}, testLadder()[1:2], rec.handler(), nil)
		if err != nil {
			t.Fatal(err)
		}
		feed(t, c, units(testLadder()[1:2], 60, nil, 0, 8*time.Second))
		c.Flush()
		if len(rec.closed) != 4 {
			t.Fatalf("handoff %v: %d segments closed", handoff, len(rec.closed))
		}
		changed := 0
		for i := range rec.datas {
			if !bytes.Equal(rec.datas[i], rec.copies[i]) {
				changed++
			}
		}
		if handoff && changed != 0 {
			t.Errorf("handoff: %d segments changed after Closed returned", changed)
		}
		if !handoff && changed == 0 {
			t.Error("no handoff: the buffer was not reused")
		}
	}
}

// A rendition with fewer keyframes than the lead runs on to its next
// keyframe: the numbers it skips, and those it never reached at Flush,
// are gaps.
func TestMisalignedRenditionGap(t *testing.T) {
	rec := &recorder{}
	rs := testLadder()
	c, err := New(Config{SegmentDuration: 2 * time.Second, Handoff: true}, rs, rec.handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// 360p has a keyframe every 4 s, the lead every 2 s.
	feed(t, c, units(rs, 60, map[int]int{2: 120}, 0, 8*time.Second))
	c.Flush()
	slots := readyAll(c)
	if len(slots) != 4 {
		t.Fatalf("%d slots", len(slots))
	}
	var gaps []uint64
	for _, s := range slots {
		if s.Results[2].Gap {
			gaps = append(gaps, s.N)
		}
	}
	if !slices.Equal(gaps, []uint64{2, 4}) {
		t.Errorf("360p gaps at %v, want [2 4]", gaps)
	}
}

// A segment the handler refuses is a gap; a numbering error reaches the
// WriteUnit that cut.
func TestHandlerErrors(t *testing.T) {
	rec := &recorder{failFor: map[[2]uint64]bool{{2, 0}: true}}
	c, err := New(Config{SegmentDuration: 2 * time.Second, Handoff: true}, testLadder()[:2], rec.handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, c, units(testLadder()[:2], 60, nil, 0, 6*time.Second))
	rec.numErr = errors.New("state not saved")
	var got error
	for _, f := range units(testLadder()[:2], 60, nil, 6*time.Second, 7*time.Second) {
		if err := c.WriteUnit(f.r, &f.u); err != nil && got == nil {
			got = err
		}
	}
	if got == nil || got.Error() != "state not saved" {
		t.Errorf("WriteUnit returned %v, want the numbering error", got)
	}
	c.Flush()
	for _, s := range readyAll(c) {
		if gap := s.Results[0].Gap; gap != (s.N == 2) {
			t.Errorf("segment %d audio gap %v", s.N, gap)
		}
	}
}

// ZeroAtFirstCut: the lead's first keyframe is media time 0, whatever
// timestamps the units carry.
func TestZeroAtFirstCut(t *testing.T) {
	rec := &recorder{}
	rs := testLadder()[1:2]
	c, err := New(Config{SegmentDuration: 2 * time.Second, ZeroAtFirstCut: true}, rs, rec.handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Starts at 10.5 s with a non-keyframe: dropped until the keyframe at 12 s.
	feed(t, c, units(rs, 60, nil, 10500*time.Millisecond, 16*time.Second))
	c.Flush()
	slots := readyAll(c)
	if len(slots) != 2 || slots[0].Results[0].T != 0 || slots[1].Results[0].T != 2*90000 {
		t.Errorf("slots %+v, want two starting at 0 and 2 s", slots)
	}
	if c.Dropped() != 45 {
		t.Errorf("dropped %d units, want the 45 frames before the first keyframe", c.Dropped())
	}
}

func TestNewRejects(t *testing.T) {
	h := (&recorder{}).handler()
	bad := map[string][]Rendition{
		"none":      nil,
		"duplicate": {testLadder()[1], testLadder()[1]},
		"no track":  {{Name: "x"}},
		"codec":     {{Name: "x", Track: &media.Track{Kind: media.Video, Codec: "vp9"}}},
	}
	for name, rs := range bad {
		if _, err := New(Config{SegmentDuration: time.Second}, rs, h, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{}, testLadder(), h, nil); err == nil {
		t.Error("no segment duration: accepted")
	}
}

// Parts: every rendition is cut into parts at the same instants, whole
// frames of the lead long; a segment is its parts back to back; the first
// part of a segment is independent, the last says so.
func TestParts(t *testing.T) {
	var parts []Part
	rec := &recorder{}
	h := rec.handler()
	h.Part = func(p Part) { parts = append(parts, p) }
	rs := testLadder()
	c, err := New(Config{SegmentDuration: 2 * time.Second, Handoff: true, PartDuration: 190 * time.Millisecond}, rs, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, c, units(rs, 60, nil, 0, 6*time.Second))
	c.Flush()
	byKey := map[[2]uint64][]Part{} // {n, rendition}
	for _, p := range parts {
		k := [2]uint64{p.N, uint64(p.Rendition)}
		if p.K != len(byKey[k]) {
			t.Fatalf("segment %d rendition %d: part %d after %d parts", p.N, p.Rendition, p.K, len(byKey[k]))
		}
		byKey[k] = append(byKey[k], p)
	}
	for _, cl := range rec.closed {
		ps := byKey[[2]uint64{cl.N, uint64(cl.Rendition)}]
		var cat []byte
		for _, p := range ps {
			cat = append(cat, p.Data...)
		}
		if !bytes.Equal(cat, rec.copies[slices.IndexFunc(rec.closed, func(x Closed) bool { return x.N == cl.N && x.Rendition == cl.Rendition })]) {
			t.Errorf("segment %d rendition %d: parts are not the segment", cl.N, cl.Rendition)
		}
		if len(ps) == 0 || !ps[len(ps)-1].Last || !ps[0].Independent {
			t.Errorf("segment %d rendition %d: %d parts, first independent %v", cl.N, cl.Rendition, len(ps), len(ps) > 0 && ps[0].Independent)
			continue
		}
		for i, p := range ps[:len(ps)-1] {
			if p.Last {
				t.Errorf("segment %d rendition %d part %d marked last", cl.N, cl.Rendition, i)
			}
			if rs[cl.Rendition].Track.Kind == media.Video {
				// 190 ms rounds to 6 frames of 30 fps: 200 ms.
				if p.Duration != 200*time.Millisecond || (i > 0 && p.Independent) {
					t.Errorf("segment %d rendition %d part %d: %v independent %v", cl.N, cl.Rendition, i, p.Duration, p.Independent)
				}
			} else if p.Duration < 170*time.Millisecond || p.Duration > 235*time.Millisecond || !p.Independent {
				t.Errorf("audio part %d of %d: %v independent %v", i, cl.N, p.Duration, p.Independent)
			}
		}
	}
	// Segments after the first know the lead's frame rate: 10 parts of 200 ms.
	if n := len(byKey[[2]uint64{2, 1}]); n != 10 {
		t.Errorf("segment 2 of 720p has %d parts, want 10", n)
	}
}

// With B-frames (units in decode order, presentation times reordered),
// parts still hold whole spans of frames: every part but a segment's last
// lasts the part duration.
func TestPartsWithBFrames(t *testing.T) {
	var parts []Part
	rec := &recorder{}
	h := rec.handler()
	h.Part = func(p Part) {
		if p.Rendition == 0 {
			parts = append(parts, p)
		}
	}
	rs := testLadder()[1:2]
	c, err := New(Config{SegmentDuration: 2 * time.Second, Handoff: true, PartDuration: 200 * time.Millisecond}, rs, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	frame := time.Second / 30
	// Decode order I0 P3 B1 B2 P6 B4 B5 ...: each P is shown two frames
	// after it is decoded; DTS one frame behind the first PTS.
	for i := 0; i < 180; i++ {
		pts := i
		switch {
		case i%60 == 0:
		case i%3 == 1:
			pts = i + 2
		default:
			pts = i - 1
		}
		key := i%60 == 0
		n := [][]byte{append([]byte{0x41}, bytes.Repeat([]byte{byte(i)}, 50)...)}
		if key {
			n = [][]byte{sps720, pps, append([]byte{0x65}, bytes.Repeat([]byte{1}, 200)...)}
		}
		u := media.Unit{PTS: time.Duration(pts)*frame + frame, DTS: time.Duration(i) * frame, Key: key, NALUs: n}
		if err := c.WriteUnit(0, &u); err != nil {
			t.Fatal(err)
		}
	}
	c.Flush()
	for _, p := range parts {
		if !p.Last && p.Duration != 200*time.Millisecond {
			t.Errorf("part %d.%d lasts %v", p.N, p.K, p.Duration)
		}
	}
	if len(parts) < 25 {
		t.Errorf("%d parts", len(parts))
	}
}
