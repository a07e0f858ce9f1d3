package srt

import (
	"bufio"
	"bytes"
	"log/slog"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mcodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
	gosrt "github.com/datarhei/gosrt"
	"github.com/datarhei/gosrt/circular"
	"github.com/datarhei/gosrt/packet"

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
		Front:        front.Config{IdleTimeout: 2 * time.Second},
		StartTimeout: 2 * time.Second,
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

// dial opens an SRT caller connection with the given stream id.
func dial(t *testing.T, s *Server, streamID string) (gosrt.Conn, error) {
	t.Helper()
	conf := gosrt.DefaultConfig()
	conf.StreamId = streamID
	c, err := gosrt.Dial("srt", s.Addr().String(), conf)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, nil
}

// rejection is how gosrt's Dial reports a rejection code.
func rejection(r gosrt.RejectionReason) string {
	return "connection rejected: " + packet.HandshakeType(r).String()
}

// publisher muxes the test clip into MPEG-TS over an SRT connection, one
// SRT packet (at most 7 TS packets) per write.
type publisher struct {
	conn         gosrt.Conn
	bw           *bufio.Writer
	w            *mpegts.Writer
	video, audio *mpegts.Track
}

func newPublisher(t *testing.T, conn gosrt.Conn, clip *ingesttest.Clip) *publisher {
	t.Helper()
	p := &publisher{conn: conn, bw: bufio.NewWriterSize(conn, 7*188)}
	switch clip.Codec {
	case media.H264:
		p.video = &mpegts.Track{Codec: &mcodecs.H264{}}
	case media.H265:
		p.video = &mpegts.Track{Codec: &mcodecs.H265{}}
	}
	tracks := []*mpegts.Track{p.video}
	if clip.Audio != nil {
		p.audio = &mpegts.Track{Codec: &mcodecs.MPEG4Audio{Config: *clip.Audio}}
		tracks = append(tracks, p.audio)
	}
	p.w = &mpegts.Writer{W: p.bw, Tracks: tracks}
	if err := p.w.Initialize(); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustPublish(t *testing.T, s *Server, streamID string, clip *ingesttest.Clip) *publisher {
	t.Helper()
	c, err := dial(t, s, streamID)
	if err != nil {
		t.Fatalf("dialing with streamid %q: %v", streamID, err)
	}
	return newPublisher(t, c, clip)
}

// mod33 wraps a 90 kHz time to the 33 bits MPEG-TS carries.
func mod33(ticks int64) int64 { return ticks & (1<<33 - 1) }

// send writes the clip with base (90 kHz) added to its timestamps, two AAC
// frames per PES (the listener must split them).
func (p *publisher) send(clip *ingesttest.Clip, base int64) error {
	var pendingAudio [][]byte
	var pendingPTS int64
	flushAudio := func() error {
		if len(pendingAudio) == 0 {
			return nil
		}
		err := p.w.WriteMPEG4Audio(p.audio, mod33(pendingPTS), pendingAudio)
		pendingAudio = nil
		return err
	}
	for _, s := range clip.Samples {
		var err error
		switch {
		case !s.Video:
			if len(pendingAudio) == 0 {
				pendingPTS = base + ingesttest.ToTicks(s.PTS)
			}
			pendingAudio = append(pendingAudio, s.Frame)
			if len(pendingAudio) == 2 {
				err = flushAudio()
			}
		case clip.Codec == media.H265:
			err = p.w.WriteH265(p.video, mod33(base+ingesttest.ToTicks(s.PTS)), mod33(base+ingesttest.ToTicks(s.DTS)), s.AU)
		default:
			err = p.w.WriteH264(p.video, mod33(base+ingesttest.ToTicks(s.PTS)), mod33(base+ingesttest.ToTicks(s.DTS)), s.AU)
		}
		if err != nil {
			return err
		}
		if err := p.bw.Flush(); err != nil {
			return err
		}
	}
	if err := flushAudio(); err != nil {
		return err
	}
	return p.bw.Flush()
}

// near reports whether two durations differ by at most a microsecond
// (90 kHz -> ns conversions round).
func near(a, b time.Duration) bool {
	return math.Abs(float64(a-b)) <= float64(time.Microsecond)
}

// assertClosedByServer fails unless the server shuts the connection down soon.
func assertClosedByServer(t *testing.T, c gosrt.Conn) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := c.Read(buf); err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case <-done: // io.EOF or gosrt's "client closed", depending on timing
	case <-time.After(wait):
		_ = c.Close() // unblocks the reader
		<-done
		t.Fatalf("connection still open after %s", wait)
	}
}

// induction builds the first handshake packet of an SRT caller.
func induction(t *testing.T, local, remote net.Addr, socketID uint32) []byte {
	t.Helper()
	p := packet.NewPacket(remote)
	p.Header().IsControlPacket = true
	p.Header().ControlType = packet.CTRLTYPE_HANDSHAKE
	cif := &packet.CIFHandshake{
		IsRequest:                   true,
		Version:                     4,
		ExtensionField:              2,
		InitialPacketSequenceNumber: circular.New(0, packet.MAX_SEQUENCENUMBER),
		MaxTransmissionUnitSize:     1500,
		MaxFlowWindowSize:           25600,
		HandshakeType:               packet.HSTYPE_INDUCTION,
		SRTSocketId:                 socketID,
	}
	cif.PeerIP.FromNetAddr(local)
	if err := p.MarshalCIF(cif); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.Marshal(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sessions returns how many connections the server tracks, pending or live.
func sessions(s *Server) int { return s.door.Len() }

func noFullKey(t *testing.T, line string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(line, k) {
			t.Errorf("log line contains a full key: %s", line)
		}
	}
}
