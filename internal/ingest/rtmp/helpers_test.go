package rtmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/front"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
	"github.com/ospreyvideo/osprey/internal/media"
)

const (
	testKey = "sk_live_0123456789abcdef"
	wait    = 5 * time.Second
)

// fastConfig keeps timeouts short so robustness tests run quickly.
func fastConfig() Config {
	return Config{
		Front:        front.Config{HandshakeTimeout: 800 * time.Millisecond, IdleTimeout: 800 * time.Millisecond},
		StartTimeout: 2 * time.Second,
		WriteTimeout: time.Second,
	}
}

func startServer(t *testing.T, h ingest.Handler, cfg Config) (*Server, *ingesttest.LogSink) {
	t.Helper()
	log, sink := ingesttest.NewLogger()
	return startServerLog(t, h, cfg, log), sink
}

func startServerLog(t *testing.T, h ingest.Handler, cfg Config, log *slog.Logger) *Server {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	s := New(cfg, h, log)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// publisher is a gortmplib client publishing the test clip.
type publisher struct {
	c            *gortmplib.Client
	w            *gortmplib.Writer
	video, audio *gortmplib.Track
}

// dial connects and publishes to rawURL, announcing the clip's tracks.
func dial(t *testing.T, rawURL string, clip *ingesttest.Clip) (*publisher, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := &gortmplib.Client{URL: u, Publish: true}
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	p := &publisher{c: c}
	t.Cleanup(c.Close)
	var tracks []*gortmplib.Track
	switch clip.Codec {
	case media.H264:
		p.video = &gortmplib.Track{Codec: &codecs.H264{SPS: clip.SPS, PPS: clip.PPS}}
	case media.H265:
		p.video = &gortmplib.Track{Codec: &codecs.H265{VPS: clip.VPS, SPS: clip.SPS, PPS: clip.PPS}}
	}
	tracks = append(tracks, p.video)
	if clip.Audio != nil {
		p.audio = &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: clip.Audio}}
		tracks = append(tracks, p.audio)
	}
	_ = c.NetConn().SetDeadline(time.Now().Add(wait))
	p.w = &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := p.w.Initialize(); err != nil {
		return nil, fmt.Errorf("writing tracks: %w", err)
	}
	return p, nil
}

func mustDial(t *testing.T, rawURL string, clip *ingesttest.Clip) *publisher {
	t.Helper()
	p, err := dial(t, rawURL, clip)
	if err != nil {
		t.Fatalf("publishing to %s: %v", rawURL, err)
	}
	return p
}

// send writes the clip's samples with base added to their timestamps.
func (p *publisher) send(clip *ingesttest.Clip, base time.Duration) error {
	for _, s := range clip.Samples {
		var err error
		switch {
		case s.Video && clip.Codec == media.H265:
			err = p.w.WriteH265(p.video, base+s.PTS, base+s.DTS, s.AU)
		case s.Video:
			err = p.w.WriteH264(p.video, base+s.PTS, base+s.DTS, s.AU)
		default:
			err = p.w.WriteMPEG4Audio(p.audio, base+s.PTS, s.Frame)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unpublish ends the stream the way OBS and ffmpeg do.
func (p *publisher) unpublish() error {
	for i, name := range []string{"FCUnpublish", "deleteStream"} {
		err := p.c.Write(&message.CommandAMF0{ChunkStreamID: 3, Name: name, CommandID: 6 + i, Arguments: []any{nil, float64(1)}})
		if err != nil {
			return err
		}
	}
	return nil
}

func url4(s *Server, path string) string {
	return "rtmp://" + s.Addr().String() + path
}

// truncMS truncates to whole milliseconds, as RTMP timestamps do.
func truncMS(d time.Duration) time.Duration { return d.Truncate(time.Millisecond) }

// playClient tries to play rawURL.
func playClient(t *testing.T, rawURL string) error {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := &gortmplib.Client{URL: u, Publish: false}
	if err := c.Initialize(ctx); err != nil {
		return err
	}
	c.Close()
	return nil
}

// publishVP9 publishes 2.4 s of (fake) VP9 frames, which Osprey cannot carry.
func publishVP9(t *testing.T, rawURL string) error {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c := &gortmplib.Client{URL: u, Publish: true}
	if err := c.Initialize(ctx); err != nil {
		return err
	}
	t.Cleanup(c.Close)
	track := &gortmplib.Track{Codec: &codecs.VP9{}}
	w := &gortmplib.Writer{Conn: c, Tracks: []*gortmplib.Track{track}}
	if err := w.Initialize(); err != nil {
		return err
	}
	for i := range 60 {
		// the server hangs up once it has seen the codec; later writes may fail
		_ = w.WriteVP9(track, time.Duration(i)*40*time.Millisecond, []byte{0x82, 0x49, 0x83, 0x42, 0x00})
	}
	return nil
}

// assertClosedByServer fails unless the server closes nc soon.
func assertClosedByServer(t *testing.T, nc net.Conn) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection still open after %s", wait)
		}
		return // EOF or reset: closed
	}
}
