package srt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
)

// checkClipUnits compares delivered units with the clip sent (times on the
// session timeline, starting at the clip's first video DTS).
func checkClipUnits(t *testing.T, clip *ingesttest.Clip, units []ingesttest.Unit, videoTrack int) {
	t.Helper()
	vs, as := clip.VideoSamples(), clip.AudioSamples()
	var gotV, gotA []ingesttest.Unit
	for _, u := range units {
		if u.Track == videoTrack {
			gotV = append(gotV, u)
		} else {
			gotA = append(gotA, u)
		}
	}
	if len(gotV) != len(vs) || len(gotA) != len(as) {
		t.Fatalf("got %d video and %d audio units, want %d and %d", len(gotV), len(gotA), len(vs), len(as))
	}
	if gotV[0].DTS != 0 {
		t.Errorf("first video DTS = %v, want 0", gotV[0].DTS)
	}
	for i, u := range gotV {
		wantKey := i%25 == 0 // both clips: -g/keyint 25
		if !near(u.DTS, vs[i].DTS) || !near(u.PTS, vs[i].PTS) || u.Key != wantKey {
			t.Errorf("video unit %d: pts %v dts %v key %v, want pts %v dts %v key %v", i, u.PTS, u.DTS, u.Key, vs[i].PTS, vs[i].DTS, wantKey)
		}
		for _, n := range u.NALUs {
			if len(n) == 0 || bytes.HasPrefix(n, []byte{0, 0, 1}) {
				t.Fatalf("video unit %d has an empty NALU or a start code", i)
			}
		}
	}
	for i, u := range gotA {
		if !near(u.PTS, as[i].PTS) || u.DTS != u.PTS || !u.Key || !bytes.Equal(u.Data, as[i].Frame) {
			t.Errorf("audio unit %d: pts %v dts %v key %v, want pts=dts=%v, key, the clip's frame", i, u.PTS, u.DTS, u.Key, as[i].PTS)
		}
	}
}

// A gosrt caller sending MPEG-TS with H.264 + AAC (two AAC frames per PES):
// tracks come from the PMT and the in-band SPS, units are on a timeline
// starting at 0, and an SRT shutdown ends the publication with a nil cause.
func TestPublishH264AAC(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())

	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 10*90000); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	if pub.Req.Protocol != "srt" || pub.Req.StreamKey != testKey || pub.Req.RemoteAddr == nil {
		t.Errorf("request = %+v, want srt, the key and a remote address", pub.Req)
	}
	tracks := pub.WaitStarted(t, wait)
	if len(tracks) != 2 {
		t.Fatalf("got %d tracks, want 2", len(tracks))
	}
	v, a := tracks[0], tracks[1]
	if v.Kind != media.Video || v.Codec != media.H264 || v.Width != 320 || v.Height != 240 ||
		!bytes.Equal(v.SPS, clip.SPS) || !bytes.Equal(v.PPS, clip.PPS) {
		t.Errorf("video track = %v, want h264 320x240 with the clip's SPS/PPS", v)
	}
	wantConf, _ := clip.Audio.Marshal()
	if a.Kind != media.Audio || a.Codec != media.AAC || a.SampleRate != 48000 || a.Channels != 2 || !bytes.Equal(a.AudioConfig, wantConf) {
		t.Errorf("audio track = %v config %x, want aac 48000Hz 2ch config %x", a, a.AudioConfig, wantConf)
	}
	// the MPEG-TS demuxer holds the last video PES until the next one or the end
	pub.WaitUnits(t, len(clip.Samples)-1, wait)
	if err := p.conn.Close(); err != nil {
		t.Fatal(err)
	}
	if cause := pub.WaitClosed(t, wait); cause != nil {
		t.Errorf("cause = %v, want nil after an SRT shutdown", cause)
	}
	checkClipUnits(t, clip, pub.Units(), 0)
	pub.CheckContract(t)
}

// H.265 without audio: VPS/SPS/PPS and size from the in-band parameter sets.
func TestPublishH265(t *testing.T) {
	clip := ingesttest.H265Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 90000); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples)-1, wait)
	_ = p.conn.Close()
	pub.WaitClosed(t, wait)
	tracks := pub.WaitStarted(t, wait)
	if len(tracks) != 1 || tracks[0].String() != "h265 256x144" ||
		!bytes.Equal(tracks[0].VPS, clip.VPS) || !bytes.Equal(tracks[0].SPS, clip.SPS) || !bytes.Equal(tracks[0].PPS, clip.PPS) {
		t.Fatalf("tracks = %v, want one h265 256x144 track with the clip's parameter sets", tracks)
	}
	checkClipUnits(t, clip, pub.Units(), 0)
}

// Timestamps crossing the 33-bit MPEG-TS wrap stay continuous.
func TestTimestampWrap(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 1<<33-90000); err != nil { // wraps one second in
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples)-1, wait)
	_ = p.conn.Close()
	pub.WaitClosed(t, wait)
	checkClipUnits(t, clip, pub.Units(), 0)
}

// Accepted stream id forms.
func TestStreamIDForms(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	for _, sid := range []string{
		"publish:" + testKey,
		"#!::r=" + testKey + ",m=publish",
		"#!::m=publish,r=" + testKey,
		"#!::u=alice,r=" + testKey + ",m=publish,s=abc",
	} {
		t.Run(sid, func(t *testing.T) {
			p := mustPublish(t, s, sid, clip)
			pub := h.NextPublication(t, wait)
			if pub.Req.StreamKey != testKey {
				t.Errorf("key = %q, want %q", pub.Req.StreamKey, testKey)
			}
			_ = p.conn.Close()
			pub.WaitClosed(t, wait)
		})
	}
}

// Refused publishers get the matching SRT rejection code during the
// handshake, never a publication, and a Warn log line with their address.
func TestRefusedPublishers(t *testing.T) {
	tests := []struct {
		name     string
		streamID string
		code     gosrt.RejectionReason
		reason   string
		consults bool // whether Handler.Publish is consulted
	}{
		{"wrong key", "publish:sk_wrong_key_000000", gosrt.REJX_UNAUTHORIZED, "unknown stream key", true},
		{"wrong key, access control form", "#!::r=sk_wrong_key_000000,m=publish", gosrt.REJX_UNAUTHORIZED, "unknown stream key", true},
		{"mode defaults to request", "#!::r=" + testKey, gosrt.REJX_BAD_MODE, `mode \"request\" is not supported`, false},
		{"play mode", "#!::r=" + testKey + ",m=request", gosrt.REJX_BAD_MODE, `mode \"request\" is not supported`, false},
		{"read prefix", "read:" + testKey, gosrt.REJX_BAD_MODE, `mode \"read\" is not supported`, false},
		{"bare key", testKey, gosrt.REJX_BAD_REQUEST, "unrecognised streamid", false},
		{"no streamid", "", gosrt.REJX_BAD_REQUEST, "missing streamid", false},
		{"empty key", "publish:", gosrt.REJX_BAD_REQUEST, "missing stream key", false},
	}
	clip := ingesttest.H264Clip(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ingesttest.NewHandler(testKey)
			s, logs := startServer(t, h, fastConfig())
			_, err := dial(t, s, tt.streamID)
			if err == nil || !strings.Contains(err.Error(), rejection(tt.code)) {
				t.Fatalf("dial error = %v, want %q", err, rejection(tt.code))
			}
			line := logs.WaitLine(t, wait, "level=WARN", "refused publisher", "proto=srt", "remote=127.0.0.1:", tt.reason)
			noFullKey(t, line, testKey, "sk_wrong_key_000000")
			if got := len(h.Requests()) > 0; got != tt.consults {
				t.Errorf("handler consulted = %v, want %v", got, tt.consults)
			}
			// The refusal is logged before its session is forgotten.
			for deadline := time.Now().Add(wait); sessions(s) != 0 && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			if h.Published() != 0 || sessions(s) != 0 {
				t.Errorf("publications %d, sessions %d after a refusal", h.Published(), sessions(s))
			}
			mustPublish(t, s, "publish:"+testKey, clip)
			h.NextPublication(t, wait)
		})
	}
}

// A second publisher on a live channel is refused with REJX_CONFLICT; the
// first one keeps publishing.
func TestBusyChannelRefused(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	first := mustPublish(t, s, "publish:"+testKey, clip)
	if err := first.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, 1, wait)
	if _, err := dial(t, s, "publish:"+testKey); err == nil || !strings.Contains(err.Error(), rejection(gosrt.REJX_CONFLICT)) {
		t.Fatalf("second dial error = %v, want %q", err, rejection(gosrt.REJX_CONFLICT))
	}
	logs.WaitLine(t, wait, "level=WARN", "refused publisher", "remote=127.0.0.1:", "already has a publisher")
	if err := first.send(clip, 2*90000); err != nil {
		t.Fatal(err)
	}
	pub.WaitUnits(t, 2*len(clip.Samples)-1, wait)
	if pub.Closed() {
		t.Fatalf("first publication closed: %v", pub.Cause())
	}
}

// Encrypted callers are refused: Osprey has no passphrase to give gosrt.
func TestEncryptedRefused(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	conf := gosrt.DefaultConfig()
	conf.StreamId = "publish:" + testKey
	conf.Passphrase = "a passphrase of some length"
	_, err := gosrt.Dial("srt", s.Addr().String(), conf)
	if err == nil || !strings.Contains(err.Error(), rejection(gosrt.REJ_UNSECURE)) {
		t.Fatalf("dial error = %v, want %q", err, rejection(gosrt.REJ_UNSECURE))
	}
	logs.WaitLine(t, wait, "level=WARN", "refused publisher", "passphrase")
	if len(h.Requests()) != 0 {
		t.Error("handler consulted for an encrypted caller")
	}
}

// Publishers beyond MaxConns are refused with REJX_OVERLOAD.
func TestMaxConns(t *testing.T) {
	h := ingesttest.NewHandler(testKey, "sk_other_key_0000000")
	cfg := fastConfig()
	cfg.Front.MaxConns = 1
	cfg.Front.IdleTimeout = 5 * time.Second
	s, logs := startServer(t, h, cfg)
	if _, err := dial(t, s, "publish:"+testKey); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait)
	if _, err := dial(t, s, "publish:sk_other_key_0000000"); err == nil || !strings.Contains(err.Error(), rejection(gosrt.REJX_OVERLOAD)) {
		t.Fatalf("dial error = %v, want %q", err, rejection(gosrt.REJX_OVERLOAD))
	}
	logs.WaitLine(t, wait, "level=WARN", "too many connections", "remote=127.0.0.1:")
}

// An error from WriteUnit ends the session and the SRT connection.
func TestWriteErrorEndsSession(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	h.WriteErr = errors.New("transcoder gone")
	s, _ := startServer(t, h, fastConfig())
	p := mustPublish(t, s, "publish:"+testKey, clip)
	_ = p.send(clip, 0)
	pub := h.NextPublication(t, wait)
	if cause := pub.WaitClosed(t, wait); !errors.Is(cause, h.WriteErr) {
		t.Errorf("cause = %v, want the WriteUnit error", cause)
	}
	if n := len(pub.Units()); n != 1 {
		t.Errorf("got %d units after the first WriteUnit failed, want 1", n)
	}
	assertClosedByServer(t, p.conn)
}

// Bytes that are not MPEG-TS end the session with ErrUnsupported.
func TestNotMPEGTS(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	c, err := dial(t, s, "publish:"+testKey)
	if err != nil {
		t.Fatal(err)
	}
	flv := append([]byte("FLV\x01\x05\x00\x00\x00\x09"), bytes.Repeat([]byte{0x12, 0x34}, 1000)...)
	if _, err := c.Write(flv); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	cause := pub.WaitClosed(t, wait)
	if !errors.Is(cause, ingest.ErrUnsupported) || !strings.Contains(cause.Error(), "not MPEG-TS") {
		t.Errorf("cause = %v, want ErrUnsupported: not MPEG-TS", cause)
	}
	logs.WaitLine(t, wait, "level=WARN", "publication ended", "remote=127.0.0.1:", "not MPEG-TS")
	pub.CheckContract(t)
	assertClosedByServer(t, c)
}

// MPEG-TS with a codec Osprey cannot carry (MP2 audio) is refused by name.
func TestUnsupportedCodec(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	c, err := dial(t, s, "publish:"+testKey)
	if err != nil {
		t.Fatal(err)
	}
	mp2 := ffmpegTS(t, "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "0.5", "-c:a", "mp2")
	for len(mp2) > 0 {
		n := min(len(mp2), 1316)
		if _, err := c.Write(mp2[:n]); err != nil {
			break
		}
		mp2 = mp2[n:]
	}
	pub := h.NextPublication(t, wait)
	if cause := pub.WaitClosed(t, wait); !errors.Is(cause, ingest.ErrUnsupported) || !strings.Contains(cause.Error(), "MPEG-1 audio") {
		t.Errorf("cause = %v, want ErrUnsupported naming MPEG-1 audio", cause)
	}
}

// MPEG-TS with H.264 and Opus (as ffmpeg muxes it).
func TestPublishOpus(t *testing.T) {
	ts := ffmpegTS(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "libopus")
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	c, err := dial(t, s, "publish:"+testKey)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(ts); off += 1316 {
		if _, err := c.Write(ts[off:min(off+1316, len(ts))]); err != nil {
			t.Fatal(err)
		}
	}
	pub := h.NextPublication(t, wait)
	tracks := pub.WaitStarted(t, wait)
	if len(tracks) != 2 || tracks[0].String() != "h264 320x240" || tracks[1].String() != "opus 48000Hz 1ch" {
		t.Fatalf("tracks = %v, want [h264 320x240, opus 48000Hz 1ch]", tracks)
	}
	// 25 video and 50 audio units were sent; wait for most of them before
	// closing, since gosrt drops what it still buffers at a close.
	pub.WaitUnits(t, 70, wait)
	_ = c.Close()
	pub.WaitClosed(t, wait)
	var prev time.Duration = -1
	var n int
	for _, u := range pub.Units() {
		if u.Track != 1 {
			continue
		}
		if prev >= 0 && !near(u.PTS-prev, 20*time.Millisecond) {
			t.Errorf("opus unit %d: pts %v after %v, want 20 ms steps", n, u.PTS, prev)
		}
		prev = u.PTS
		n++
	}
	if n < 40 {
		t.Errorf("got %d opus units from 1 s, want about 50", n)
	}
}
