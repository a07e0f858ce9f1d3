package rtmp

import (
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/handshake"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
)

func dialTCP(t *testing.T, s *Server) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Random bytes, before and after a valid handshake, never crash or block
// the server, never reach the handler, and a valid publish works right after.
func TestGarbageOnTCPPort(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}

	var conns []net.Conn
	for i := range 60 {
		c := dialTCP(t, s)
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(wait))
		switch i % 4 {
		case 0: // pure noise
			_, _ = c.Write(random(1 + rng.IntN(8000)))
		case 1: // plain-handshake version byte, then noise
			_, _ = c.Write(append([]byte{3}, random(1+rng.IntN(5000))...))
		case 2: // encrypted-handshake version byte, then noise
			_, _ = c.Write(append([]byte{6}, random(1+rng.IntN(5000))...))
		case 3: // a valid handshake, then noise as RTMP chunks
			if _, _, err := handshake.DoClient(c, false, false); err != nil {
				t.Fatalf("handshake: %v", err)
			}
			_, _ = c.Write(random(1 + rng.IntN(20000)))
		}
		if i%2 == 0 {
			_ = c.Close() // half of them hang up, half stay open
		}
	}

	start := time.Now()
	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	if err := p.send(clip, time.Second); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples), wait)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("valid publish took %s next to garbage connections", d)
	}
	if n := len(h.Requests()); n != 1 {
		t.Errorf("handler consulted %d times, want once (the valid publisher)", n)
	}
	for _, c := range conns {
		assertClosedByServer(t, c)
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("a connection panicked:\n%s", logs.String())
	}
}

// A connection that says nothing is closed at the handshake deadline and does
// not hold up other publishers meanwhile.
func TestHalfOpenConnectionClosed(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	cfg := fastConfig()
	s, _ := startServer(t, h, cfg)

	start := time.Now()
	idle := dialTCP(t, s)
	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	if err := p.send(clip, time.Second); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples), wait)
	if d := time.Since(start); d > cfg.Front.HandshakeTimeout {
		t.Errorf("publish took %s, longer than the idle connection's timeout", d)
	}

	assertClosedByServer(t, idle)
	if d := time.Since(start); d < cfg.Front.HandshakeTimeout-100*time.Millisecond || d > cfg.Front.HandshakeTimeout+time.Second {
		t.Errorf("idle connection closed after %s, want about %s", d, cfg.Front.HandshakeTimeout)
	}
}

// A sender trickling bytes is dropped at its deadline and never delays a
// healthy publisher.
func TestSlowSenderDoesNotBlockOthers(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	cfg := fastConfig()
	s, _ := startServer(t, h, cfg)

	slow := dialTCP(t, s)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b := []byte{3}
		for {
			if _, err := slow.Write(b); err != nil {
				return
			}
			b[0] = 0x42
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	if err := p.send(clip, time.Second); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples), wait)
	if d := time.Since(start); d > time.Second {
		t.Errorf("publish next to a slow sender took %s", d)
	}
	assertClosedByServer(t, slow)
}

// A publisher that goes silent mid-stream is cut after the idle timeout, with
// ErrTimeout.
func TestStalledPublisherTimesOut(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	cfg := fastConfig()
	s, logs := startServer(t, h, cfg)

	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	if err := p.send(clip, time.Second); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples), wait)
	stalled := time.Now()
	cause := pub.WaitClosed(t, wait)
	if !errors.Is(cause, ingest.ErrTimeout) {
		t.Errorf("cause = %v, want ErrTimeout", cause)
	}
	if d := time.Since(stalled); d > cfg.Front.IdleTimeout+time.Second {
		t.Errorf("stalled publisher cut after %s, want about %s", d, cfg.Front.IdleTimeout)
	}
	logs.WaitLine(t, wait, "level=WARN", "publication ended", "remote=127.0.0.1:", "timed out")
	pub.CheckContract(t)
}

// Connections beyond MaxConns are closed at once.
func TestMaxConns(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	cfg := fastConfig()
	cfg.Front.HandshakeTimeout = 3 * time.Second
	cfg.Front.MaxConns = 2
	s, logs := startServer(t, h, cfg)
	dialTCP(t, s)
	dialTCP(t, s)
	time.Sleep(50 * time.Millisecond) // let the server register both
	extra := dialTCP(t, s)
	start := time.Now()
	assertClosedByServer(t, extra)
	if d := time.Since(start); d > time.Second {
		t.Errorf("connection over the limit closed after %s, want at once", d)
	}
	logs.WaitLine(t, wait, "level=WARN", "too many connections", "remote=127.0.0.1:")
}

// Close with a live publication, a half-open connection and one in the
// middle of the handshake returns promptly, ends the publication with
// ErrServerClosed and leaves no goroutine behind.
func TestCloseWithLiveSessions(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	before := runtime.NumGoroutine()

	h := ingesttest.NewHandler(testKey)
	log, _ := ingesttest.NewLogger()
	cfg := fastConfig()
	cfg.Front.HandshakeTimeout, cfg.Front.IdleTimeout = 30*time.Second, 30*time.Second
	cfg.Addr = "127.0.0.1:0"
	s := New(cfg, h, log)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	p := mustDial(t, url4(s, "/live/"+testKey), clip)
	if err := p.send(clip, time.Second); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, 1, wait)
	idle := dialTCP(t, s)
	mid := dialTCP(t, s)
	_, _ = mid.Write([]byte{3, 0, 0, 0})

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s", d)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if !pub.Closed() || !errors.Is(pub.Cause(), ingest.ErrServerClosed) {
		t.Errorf("publication closed=%v cause=%v, want ErrServerClosed", pub.Closed(), pub.Cause())
	}
	pub.CheckContract(t)
	for _, c := range []net.Conn{p.c.NetConn(), idle, mid} {
		assertClosedByServer(t, c)
		_ = c.Close()
	}
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
	ingesttest.WaitGoroutines(t, before, 3*time.Second)
}

// The real ffmpeg CLI as publisher, ending on its own.
func TestFFmpegPublisher(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, Config{})
	video, audio := ingesttest.FFmpegPublish(t, h, "flv", url4(s, "/live/"+testKey), wait)
	if video < 85 || audio < 120 {
		t.Errorf("got %d video and %d audio units from 3 s, want about 90 and 129", video, audio)
	}
}

// Random media messages after a valid publish end the session cleanly (no
// panic, one Close) and never disturb the server.
func TestGarbageMediaMessages(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, logs := startServer(t, h, fastConfig())
	rng := rand.New(rand.NewPCG(7, 11))
	for i := range 40 {
		p := mustDial(t, url4(s, "/live/"+testKey), clip)
		pub := h.NextPublication(t, wait)
		if i%2 == 0 {
			if err := p.send(clip, time.Second); err != nil {
				t.Fatal(err)
			}
		}
		nc := p.c.NetConn()
		ts := 1000
		for range 200 {
			n := rng.IntN(60)
			typ := []byte{8, 9, 18, 20}[rng.IntN(4)]
			body := make([]byte, n)
			for k := range body {
				body[k] = byte(rng.UintN(256))
			}
			if n > 0 && rng.IntN(2) == 0 { // plausible FLV / Enhanced RTMP headers
				switch typ {
				case 9:
					body[0] = []byte{0x17, 0x27, 0x1c, 0x90, 0x91, 0x93, 0x96, 0x9f}[rng.IntN(8)]
				case 8:
					body[0] = []byte{0xaf, 0x9f, 0x2f, 0x9d}[rng.IntN(4)]
				}
			}
			ts += rng.IntN(300)
			// chunk type 0 on chunk stream 6, message stream 1
			hdr := []byte{0x06, byte(ts >> 16), byte(ts >> 8), byte(ts), byte(n >> 16), byte(n >> 8), byte(n), typ, 1, 0, 0, 0}
			if _, err := nc.Write(append(hdr, body...)); err != nil {
				break
			}
		}
		p.c.Close()
		pub.WaitClosed(t, wait)
		pub.CheckContract(t)
	}
	if strings.Contains(logs.String(), "panic") {
		t.Errorf("a session panicked:\n%s", logs.String())
	}
}
