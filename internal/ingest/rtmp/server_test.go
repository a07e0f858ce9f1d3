package rtmp

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
)

// A gortmplib publisher with H.264 + AAC, timestamps starting at 5 s: the
// handler gets the tracks and every unit on a timeline starting at 0, and a
// clean unpublish closes the publication with a nil cause.
func TestPublishH264AAC(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())

	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	const base = 5 * time.Second
	if err := p.send(clip, base); err != nil {
		t.Fatal(err)
	}

	pub := h.NextPublication(t, wait)
	if pub.Req.Protocol != "rtmp" || pub.Req.StreamKey != testKey || pub.Req.RemoteAddr == nil {
		t.Errorf("request = %+v, want rtmp, the key and a remote address", pub.Req)
	}
	tracks := pub.WaitStarted(t, wait)
	if len(tracks) != 2 {
		t.Fatalf("got %d tracks, want 2", len(tracks))
	}
	v, a := tracks[0], tracks[1]
	if v.Kind != media.Video || v.Codec != media.H264 || v.Width != 320 || v.Height != 240 ||
		!bytes.Equal(v.SPS, clip.SPS) || !bytes.Equal(v.PPS, clip.PPS) {
		t.Errorf("video track = %v (SPS %d bytes, PPS %d bytes), want h264 320x240 with the clip's parameter sets", v, len(v.SPS), len(v.PPS))
	}
	if a.Kind != media.Audio || a.Codec != media.AAC || a.SampleRate != 48000 || a.Channels != 2 || len(a.AudioConfig) == 0 {
		t.Errorf("audio track = %v config %x, want aac 48000Hz 2ch", a, a.AudioConfig)
	}

	vs, as := clip.VideoSamples(), clip.AudioSamples()
	units := pub.WaitUnits(t, len(vs)+len(as), wait)
	var gotV, gotA []ingesttest.Unit
	for _, u := range units {
		if u.Track == 0 {
			gotV = append(gotV, u)
		} else {
			gotA = append(gotA, u)
		}
	}
	if len(gotV) != len(vs) || len(gotA) != len(as) {
		t.Fatalf("got %d video and %d audio units, want %d and %d", len(gotV), len(gotA), len(vs), len(as))
	}
	for i, u := range gotV {
		wantDTS := truncMS(vs[i].DTS)
		wantPTS := wantDTS + truncMS(vs[i].PTS-vs[i].DTS)
		wantKey := i%25 == 0 // -g 25
		if u.DTS != wantDTS || u.PTS != wantPTS || u.Key != wantKey {
			t.Errorf("video unit %d: pts %v dts %v key %v, want pts %v dts %v key %v", i, u.PTS, u.DTS, u.Key, wantPTS, wantDTS, wantKey)
		}
		for _, n := range u.NALUs {
			if len(n) == 0 || n[0]&0x1f == 9 || bytes.HasPrefix(n, []byte{0, 0, 1}) {
				t.Fatalf("video unit %d has an empty NALU, an AUD or a start code", i)
			}
		}
	}
	if gotV[0].DTS != 0 {
		t.Errorf("first DTS = %v, want 0", gotV[0].DTS)
	}
	for i, u := range gotA {
		want := truncMS(as[i].PTS)
		if u.PTS != want || u.DTS != want || !u.Key || !bytes.Equal(u.Data, as[i].Frame) {
			t.Errorf("audio unit %d: pts %v dts %v key %v, want pts=dts=%v, key, the clip's frame", i, u.PTS, u.DTS, u.Key, want)
		}
	}

	if err := p.unpublish(); err != nil {
		t.Fatal(err)
	}
	if cause := pub.WaitClosed(t, wait); cause != nil {
		t.Errorf("cause = %v, want nil after deleteStream", cause)
	}
	pub.CheckContract(t)
}

// Enhanced RTMP H.265: VPS/SPS/PPS and size from the sequence start.
func TestPublishH265(t *testing.T) {
	clip := ingesttest.H265Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())

	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	// gortmplib's reader detects tracks over 2 s of frames: send the 1 s clip 3 times
	for pass := range 3 {
		if err := p.send(clip, time.Duration(3+pass)*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	pub := h.NextPublication(t, wait)
	tracks := pub.WaitStarted(t, wait)
	if len(tracks) != 1 || tracks[0].Codec != media.H265 || tracks[0].Width != 256 || tracks[0].Height != 144 ||
		!bytes.Equal(tracks[0].VPS, clip.VPS) || !bytes.Equal(tracks[0].SPS, clip.SPS) || !bytes.Equal(tracks[0].PPS, clip.PPS) {
		t.Fatalf("tracks = %v, want one h265 256x144 track with the clip's parameter sets", tracks)
	}
	vs := clip.VideoSamples()
	units := pub.WaitUnits(t, 3*len(vs), wait)
	for i, u := range units {
		s := vs[i%len(vs)]
		wantDTS := time.Duration(i/len(vs))*time.Second + truncMS(s.DTS)
		wantPTS := wantDTS + truncMS(s.PTS-s.DTS)
		if u.DTS != wantDTS || u.PTS != wantPTS || u.Key != (i%len(vs) == 0) {
			t.Errorf("unit %d: pts %v dts %v key %v, want pts %v dts %v key %v", i, u.PTS, u.DTS, u.Key, wantPTS, wantDTS, i%len(vs) == 0)
		}
	}
	p.c.Close()
	if cause := pub.WaitClosed(t, wait); cause != nil {
		t.Errorf("cause = %v, want nil on EOF", cause)
	}
	pub.CheckContract(t)
}

// The key may come in the path (ffmpeg, gortmplib) or as the publish name
// after the app (OBS), with or without a query string.
func TestStreamKeyForms(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	for _, path := range []string{
		"/live/" + testKey,
		"/live/" + testKey + "?token=abc&x=1",
		"/live#" + testKey,             // app "live", publish name = key (OBS)
		"/live#" + testKey + "?bw=900", // OBS key with a query
	} {
		t.Run(path, func(t *testing.T) {
			p := mustDial(t, url4(s, path), clip)
			pub := h.NextPublication(t, wait)
			if pub.Req.StreamKey != testKey {
				t.Errorf("key = %q, want %q", pub.Req.StreamKey, testKey)
			}
			p.c.Close()
			pub.WaitClosed(t, wait)
		})
	}
}

// Refused publishers: the client's publish fails, the handler never hands
// out a publication, and a Warn line names the remote address and reason
// but not the key.
func TestRefusedPublishers(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	tests := []struct {
		name        string
		path        string
		callsPublic bool // whether Handler.Publish is consulted
		reason      string
	}{
		{"wrong key", "/live/sk_wrong_key_000000", true, "unknown stream key"},
		{"other app", "/other/" + testKey, false, "unknown application"},
		{"missing key", "/live", false, "missing stream key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ingesttest.NewHandler(testKey)
			s, logs := startServer(t, h, fastConfig())
			_, err := dial(t, url4(s, tt.path), clip)
			if err == nil {
				t.Fatal("publish accepted")
			}
			line := logs.WaitLine(t, wait, "level=WARN", "refused publisher", "proto=rtmp", "remote=127.0.0.1:", tt.reason)
			if strings.Contains(line, testKey) || strings.Contains(line, "sk_wrong_key_000000") {
				t.Errorf("log line contains a full key: %s", line)
			}
			if got := len(h.Requests()) > 0; got != tt.callsPublic {
				t.Errorf("handler consulted = %v, want %v", got, tt.callsPublic)
			}
			if h.Published() != 0 {
				t.Errorf("handler accepted %d publications", h.Published())
			}
			// the server is still fine
			mustDial(t, url4(s, "/live/"+testKey), clip)
			h.NextPublication(t, wait)
		})
	}
}

// A second publisher on a live channel is refused with ErrBusy; the first
// one keeps publishing.
func TestBusyChannelRefused(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())

	first := mustDial(t, url4(s, "/live/"+testKey), clip)
	pub := h.NextPublication(t, wait)
	if _, err := dial(t, url4(s, "/live/"+testKey), clip); err == nil {
		t.Fatal("second publisher accepted")
	}
	logs.WaitLine(t, wait, "level=WARN", "refused publisher", "remote=127.0.0.1:", "already has a publisher")
	if err := first.send(clip, time.Second); err != nil {
		t.Fatalf("first publisher broken by the second: %v", err)
	}
	pub.WaitUnits(t, len(clip.Samples), wait)
	if pub.Closed() {
		t.Fatalf("first publication closed: %v", pub.Cause())
	}
}

// Play requests are refused: Osprey serves playback over HLS/DASH.
func TestPlayRefused(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	if err := playClient(t, url4(s, "/live/"+testKey)); err == nil {
		t.Fatal("play accepted")
	}
	logs.WaitLine(t, wait, "level=WARN", "refused RTMP play request", "remote=127.0.0.1:")
	if len(h.Requests()) != 0 {
		t.Errorf("handler consulted for a play request")
	}
}

// Codecs Osprey cannot carry end the publication with ErrUnsupported.
func TestUnsupportedCodecRefused(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	if err := publishVP9(t, url4(s, "/live/"+testKey)); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	cause := pub.WaitClosed(t, wait)
	if !errors.Is(cause, ingest.ErrUnsupported) || !strings.Contains(cause.Error(), "VP9") {
		t.Errorf("cause = %v, want ErrUnsupported naming VP9", cause)
	}
	logs.WaitLine(t, wait, "level=WARN", "publication ended", "VP9")
	pub.CheckContract(t)
}

// An error from WriteUnit ends the connection.
func TestWriteErrorEndsSession(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	h.WriteErr = errors.New("transcoder gone")
	s, _ := startServer(t, h, fastConfig())
	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	_ = p.send(clip, time.Second)
	pub := h.NextPublication(t, wait)
	if cause := pub.WaitClosed(t, wait); !errors.Is(cause, h.WriteErr) {
		t.Errorf("cause = %v, want the WriteUnit error", cause)
	}
	if n := len(pub.Units()); n != 1 {
		t.Errorf("got %d units after the first WriteUnit failed, want 1", n)
	}
	assertClosedByServer(t, p.c.NetConn())
}

// A publisher whose clock goes back mid-stream still yields strictly
// increasing DTS per track.
func TestTimestampReset(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	if err := p.send(clip, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.send(clip, 0); err != nil { // encoder restarted its clock
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	units := pub.WaitUnits(t, 2*len(clip.Samples), wait)
	last := map[int]time.Duration{0: -1, 1: -1}
	for i, u := range units {
		if u.DTS <= last[u.Track] || u.PTS < u.DTS {
			t.Fatalf("unit %d (track %d): dts %v after %v, pts %v", i, u.Track, u.DTS, last[u.Track], u.PTS)
		}
		last[u.Track] = u.DTS
	}
	if end := last[0]; end < 3900*time.Millisecond || end > 4100*time.Millisecond {
		t.Errorf("last video DTS = %v, want about 4 s (two 2 s passes, no hole, no overlap)", end)
	}
}

// Enhanced RTMP Opus audio next to H.264.
func TestPublishOpus(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())

	u, _ := url.Parse(url4(s, "/live/"+testKey))
	c := &gortmplib.Client{URL: u, Publish: true}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.Initialize(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	video := &gortmplib.Track{Codec: &codecs.H264{SPS: clip.SPS, PPS: clip.PPS}}
	audio := &gortmplib.Track{Codec: &codecs.Opus{IDHeader: &opus.IDHeader{Version: 1, ChannelCount: 2, PreSkip: 312, InputSampleRate: 48000}}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{video, audio}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	const base = time.Second
	packet := []byte{0xf8, 0xff, 0xfe} // TOC: CELT fullband 20 ms, one frame
	next := time.Duration(0)
	for _, smp := range clip.VideoSamples() {
		for ; next < smp.DTS; next += 20 * time.Millisecond { // audio after the video it follows
			if err := w.WriteOpus(audio, base+next, packet); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.WriteH264(video, base+smp.PTS, base+smp.DTS, smp.AU); err != nil {
			t.Fatal(err)
		}
	}
	pub := h.NextPublication(t, wait)
	tracks := pub.WaitStarted(t, wait)
	if len(tracks) != 2 || tracks[1].String() != "opus 48000Hz 2ch" {
		t.Fatalf("tracks = %v, want h264 and opus 48000Hz 2ch", tracks)
	}
	sent := int(next / (20 * time.Millisecond))
	units := pub.WaitUnits(t, len(clip.VideoSamples())+sent, wait)
	var i time.Duration
	for _, u := range units {
		if u.Track != 1 {
			continue
		}
		if u.PTS != i*20*time.Millisecond || !bytes.Equal(u.Data, packet) {
			t.Errorf("opus unit %d: pts %v, want %v", i, u.PTS, i*20*time.Millisecond)
		}
		i++
	}
}
