package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
)

const wait = 2 * time.Second

func newPublication(t *testing.T, h *ingesttest.Handler) *ingesttest.Publication {
	t.Helper()
	pub, err := h.Publish(context.Background(), ingest.Request{Protocol: "test", StreamKey: "key-for-tests"})
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*ingesttest.Publication)
}

func aacTrack(t *testing.T, clip *ingesttest.Clip) *media.Track {
	t.Helper()
	tr, err := ingest.AACTrack(clip.Audio)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// A Feed whose video track has no parameter sets yet starts on the first
// in-band SPS/PPS, fills the size from the SPS, and starts the session at
// the first key frame.
func TestFeedStartsOnInBandParameterSets(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler("key-for-tests")
	pub := newPublication(t, h)
	tracks := []*media.Track{{Kind: media.Video, Codec: media.H264}, aacTrack(t, clip)}
	f := ingest.NewFeed(pub, tracks)

	if err := f.TryStart(); err != nil || f.Started() {
		t.Fatalf("TryStart without SPS: started=%v err=%v", f.Started(), err)
	}
	vs := clip.VideoSamples()
	base := 10 * time.Second
	// audio and a non-key picture before the key frame: held, then dropped
	if err := f.WriteAudio(1, base-20*time.Millisecond, clip.AudioSamples()[0].Frame); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteVideo(0, base-40*time.Millisecond, base-40*time.Millisecond, vs[1].AU); err != nil {
		t.Fatal(err)
	}
	if f.Started() {
		t.Fatal("started before any SPS")
	}
	for _, s := range vs[:5] {
		if err := f.WriteVideo(0, base+s.PTS, base+s.DTS, s.AU); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Started() || !f.Flowing() {
		t.Fatalf("started=%v flowing=%v after the key frame", f.Started(), f.Flowing())
	}
	got := pub.WaitStarted(t, wait)
	if got[0].Width != 320 || got[0].Height != 240 || !bytes.Equal(got[0].SPS, clip.SPS) || !bytes.Equal(got[0].PPS, clip.PPS) {
		t.Errorf("video track = %v SPS %x PPS %x, want 320x240 with the clip's parameter sets", got[0], got[0].SPS, got[0].PPS)
	}
	units := pub.Units()
	if len(units) != 5 {
		t.Fatalf("got %d units, want the 5 from the key frame on", len(units))
	}
	for i, u := range units {
		if u.Track != 0 || u.DTS != vs[i].DTS || u.PTS != vs[i].PTS || u.Key != (i == 0) {
			t.Errorf("unit %d: track %d pts %v dts %v key %v, want track 0 pts %v dts %v key %v",
				i, u.Track, u.PTS, u.DTS, u.Key, vs[i].PTS, vs[i].DTS, i == 0)
		}
	}
	if st := f.Stats(); st.Dropped != 2 || st.Delivered != 5 {
		t.Errorf("stats = %+v, want 2 dropped, 5 delivered", st)
	}
}

// Several AAC frames in one call are split, each one frame later.
func TestFeedSplitsAudioFrames(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler("key-for-tests")
	pub := newPublication(t, h)
	f := ingest.NewFeed(pub, []*media.Track{aacTrack(t, clip)})
	as := clip.AudioSamples()
	if err := f.WriteAudio(0, time.Second, as[0].Frame, as[1].Frame, as[2].Frame); err != nil {
		t.Fatal(err)
	}
	units := pub.WaitUnits(t, 3, wait)
	frame := 1024 * time.Second / 48000
	for i, u := range units {
		want := time.Duration(i) * frame
		if u.PTS != want || u.DTS != want || !u.Key || !bytes.Equal(u.Data, as[i].Frame) {
			t.Errorf("unit %d: pts %v dts %v key %v, want pts=dts=%v key with frame %d", i, u.PTS, u.DTS, u.Key, want, i)
		}
	}
}

// Parameter sets sent alone (an RTMP sequence header) are prepended to the
// next picture, and access unit delimiters are dropped.
func TestFeedCarriesParameterSetsAndDropsAUD(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler("key-for-tests")
	pub := newPublication(t, h)
	f := ingest.NewFeed(pub, []*media.Track{{Kind: media.Video, Codec: media.H264, SPS: clip.SPS, PPS: clip.PPS}})
	if err := f.TryStart(); err != nil || !f.Started() {
		t.Fatalf("TryStart with SPS/PPS: started=%v err=%v", f.Started(), err)
	}
	if err := f.WriteVideo(0, 0, 0, [][]byte{clip.SPS, clip.PPS}); err != nil {
		t.Fatal(err)
	}
	if n := len(pub.Units()); n != 0 {
		t.Fatalf("parameter sets alone produced %d units", n)
	}
	aud := []byte{9, 0xf0}
	var idr []byte
	for _, n := range clip.VideoSamples()[0].AU {
		if n[0]&0x1f == 5 {
			idr = n
		}
	}
	if err := f.WriteVideo(0, 0, 0, [][]byte{aud, idr}); err != nil {
		t.Fatal(err)
	}
	u := pub.WaitUnits(t, 1, wait)[0]
	if len(u.NALUs) != 3 || !bytes.Equal(u.NALUs[0], clip.SPS) || !bytes.Equal(u.NALUs[1], clip.PPS) ||
		!bytes.Equal(u.NALUs[2], idr) || !u.Key {
		t.Errorf("unit NALU types %v key %v, want [7 8 5] key", naluTypes(u.NALUs), u.Key)
	}
}

func naluTypes(nalus [][]byte) []byte {
	out := make([]byte, len(nalus))
	for i, n := range nalus {
		out[i] = n[0] & 0x1f
	}
	return out
}

// A stream that never sends parameter sets is cut, not buffered forever.
func TestFeedBoundsPendingUnits(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler("key-for-tests")
	pub := newPublication(t, h)
	f := ingest.NewFeed(pub, []*media.Track{{Kind: media.Video, Codec: media.H264}})
	slice := clip.VideoSamples()[1].AU
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		d := time.Duration(i) * 40 * time.Millisecond
		err = f.WriteVideo(0, d, d, slice)
	}
	if !errors.Is(err, ingest.ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported once the pending buffer is full", err)
	}
}

// An error from the publication ends the feed.
func TestFeedReturnsWriteErrors(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler("key-for-tests")
	h.WriteErr = errors.New("consumer gone")
	pub := newPublication(t, h)
	f := ingest.NewFeed(pub, []*media.Track{aacTrack(t, clip)})
	if err := f.WriteAudio(0, 0, clip.AudioSamples()[0].Frame); !errors.Is(err, h.WriteErr) {
		t.Fatalf("err = %v, want the publication's error", err)
	}
}
