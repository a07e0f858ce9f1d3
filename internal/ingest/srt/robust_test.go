package srt

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
)

// ffmpegTS runs ffmpeg with args and returns the MPEG-TS it writes.
func ffmpegTS(t *testing.T, args ...string) []byte {
	t.Helper()
	args = append(append([]string{"-hide_banner", "-loglevel", "error"}, args...), "-f", "mpegts", "-")
	out, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		t.Fatalf("ffmpeg (required for this test): %v", err)
	}
	return out
}

func udpConn(t *testing.T, s *Server) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Random datagrams, some shaped like SRT control packets, neither crash nor
// block the listener; a valid publish works right after.
func TestRandomDatagrams(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	c := udpConn(t, s)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 5000 {
		b := make([]byte, 1+rng.IntN(1500))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		if len(b) >= 16 {
			switch i % 4 {
			case 1: // control packet, handshake type, destination socket 0: reaches the handshake parser
				binary.BigEndian.PutUint16(b[0:], 0x8000)
				binary.BigEndian.PutUint32(b[12:], 0)
			case 2: // any control packet
				b[0] |= 0x80
			}
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	// The burst overflows the kernel's socket buffer, which drops datagrams
	// whoever sent them, and gosrt's Dial never repeats its first handshake
	// packet (libsrt callers do, every 250 ms). So wait until the listener
	// answers an induction again: it is alive and has drained the noise.
	start := time.Now()
	probe := udpConn(t, s)
	buf := make([]byte, 1500)
	for answered := false; !answered; {
		if time.Since(start) > wait {
			t.Fatal("listener stopped answering inductions")
		}
		_, _ = probe.Write(induction(t, probe.LocalAddr(), s.Addr(), 4242))
		_ = probe.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := probe.Read(buf)
		answered = err == nil && n >= 64
	}
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples)-1, wait)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("valid publish after noise took %s", d)
	}
	if n := len(h.Requests()); n != 1 {
		t.Errorf("handler consulted %d times, want once", n)
	}
}

// A caller that stops after the induction handshake leaves no state behind
// (gosrt answers inductions statelessly with a SYN cookie) and does not hold
// up other publishers.
func TestInductionOnly(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, fastConfig())
	for i := range 50 {
		c := udpConn(t, s)
		if _, err := c.Write(induction(t, c.LocalAddr(), s.Addr(), uint32(1000+i))); err != nil {
			t.Fatal(err)
		}
		if i == 0 { // the listener answers
			_ = c.SetReadDeadline(time.Now().Add(wait))
			buf := make([]byte, 1500)
			if n, err := c.Read(buf); err != nil || n < 64 || buf[0]&0x80 == 0 {
				t.Fatalf("induction answer: %d bytes, err %v", n, err)
			}
		}
	}
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples)-1, wait)
	if n := sessions(s); n != 1 {
		t.Errorf("server tracks %d sessions, want 1 (the publisher)", n)
	}
}

// A caller that completes the handshake and then sends nothing is cut after
// the idle timeout with ErrTimeout, while another publisher is unaffected.
func TestSilentPublisherTimesOut(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey, "sk_other_key_0000000")
	cfg := fastConfig()
	cfg.Front.IdleTimeout = 800 * time.Millisecond
	s, logs := startServer(t, h, cfg)

	start := time.Now()
	silent, err := dial(t, s, "publish:sk_other_key_0000000")
	if err != nil {
		t.Fatal(err)
	}
	silentPub := h.NextPublication(t, wait)

	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples)-1, wait)

	cause := silentPub.WaitClosed(t, wait)
	if !errors.Is(cause, ingest.ErrTimeout) {
		t.Errorf("cause = %v, want ErrTimeout", cause)
	}
	if d := time.Since(start); d < cfg.Front.IdleTimeout-100*time.Millisecond || d > cfg.Front.IdleTimeout+time.Second {
		t.Errorf("silent publisher cut after %s, want about %s", d, cfg.Front.IdleTimeout)
	}
	logs.WaitLine(t, wait, "level=WARN", "publication ended", "remote=127.0.0.1:", "no data for")
	silentPub.CheckContract(t)
	assertClosedByServer(t, silent)
}

// A publisher trickling MPEG-TS too slowly to ever reach a key frame is cut
// at StartTimeout and never delays a healthy publisher.
func TestSlowSenderDoesNotBlockOthers(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey, "sk_other_key_0000000")
	cfg := fastConfig()
	s, _ := startServer(t, h, cfg)

	slow, err := dial(t, s, "publish:sk_other_key_0000000")
	if err != nil {
		t.Fatal(err)
	}
	slowPub := h.NextPublication(t, wait)
	ts := ffmpegTS(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for off := 0; off+188 <= len(ts); off += 188 {
			if _, err := slow.Write(ts[off : off+188]); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples)-1, wait)
	if d := time.Since(start); d > time.Second {
		t.Errorf("publish next to a slow sender took %s", d)
	}
	if cause := slowPub.WaitClosed(t, wait); !errors.Is(cause, ingest.ErrTimeout) {
		t.Errorf("slow sender cause = %v, want ErrTimeout", cause)
	}
}

// A publisher that goes silent mid-stream (keepalives only) is cut after
// the idle timeout with ErrTimeout.
func TestStalledPublisherTimesOut(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	cfg := fastConfig()
	cfg.Front.IdleTimeout = 800 * time.Millisecond
	s, _ := startServer(t, h, cfg)
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples)-1, wait)
	stalled := time.Now()
	if cause := pub.WaitClosed(t, wait); !errors.Is(cause, ingest.ErrTimeout) {
		t.Errorf("cause = %v, want ErrTimeout", cause)
	}
	if d := time.Since(stalled); d > cfg.Front.IdleTimeout+time.Second {
		t.Errorf("stalled publisher cut after %s, want about %s", d, cfg.Front.IdleTimeout)
	}
}

// Close with a live publication and one still authenticating returns
// promptly, ends them with ErrServerClosed and leaves no goroutine behind.
func TestCloseWithLiveSessions(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	before := runtime.NumGoroutine()

	h := ingesttest.NewHandler(testKey)
	log, _ := ingesttest.NewLogger()
	cfg := fastConfig()
	cfg.Front.IdleTimeout, cfg.StartTimeout = 30*time.Second, 30*time.Second
	cfg.Addr = "127.0.0.1:0"
	s := New(cfg, h, log)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	p := mustPublish(t, s, "publish:"+testKey, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, 1, wait)
	noise := udpConn(t, s)
	_, _ = noise.Write(induction(t, noise.LocalAddr(), s.Addr(), 77))

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
	assertClosedByServer(t, p.conn) // the caller got a shutdown
	_ = p.conn.Close()
	_ = noise.Close()
	if err := s.Start(); err == nil {
		t.Error("Start after Close succeeded")
	}
	ingesttest.WaitGoroutines(t, before, 3*time.Second)
}

// The real ffmpeg CLI (libsrt) as publisher, ending with an SRT shutdown.
func TestFFmpegPublisher(t *testing.T) {
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, Config{})
	video, audio := ingesttest.FFmpegPublish(t, h, "mpegts", "srt://"+s.Addr().String()+"?streamid=#!::r="+testKey+",m=publish", wait)
	// The tail of a live SRT stream is lost at shutdown: libsrt does not
	// linger in live mode, gosrt discards its receive buffer (the latency
	// window) on close, and ffmpeg's TS muxer holds audio for up to 0.7 s.
	// Measured: 83 of 90 video and 108 of 129 audio frames.
	if video < 75 || audio < 90 {
		t.Errorf("got %d video and %d audio units from 3 s, want at least 75 and 90 (of 90 and 129)", video, audio)
	}
}

// blackhole is a UDP relay between one caller and the server that can start
// dropping everything, like a peer whose network went away.
type blackhole struct {
	front *net.UDPConn // the caller talks to this
	back  *net.UDPConn // connected to the server
	drop  atomic.Bool
	wg    sync.WaitGroup
}

func newBlackhole(t *testing.T, server net.Addr) *blackhole {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, server.(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{front: front, back: back}
	var caller atomic.Pointer[net.UDPAddr]
	b.wg.Add(2)
	go func() { // caller -> server
		defer b.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			caller.Store(from)
			if !b.drop.Load() {
				_, _ = back.Write(buf[:n])
			}
		}
	}()
	go func() { // server -> caller
		defer b.wg.Done()
		buf := make([]byte, 2048)
		for {
			n, err := back.Read(buf)
			if err != nil {
				return
			}
			if to := caller.Load(); to != nil && !b.drop.Load() {
				_, _ = front.WriteToUDP(buf[:n], to)
			}
		}
	}()
	t.Cleanup(func() {
		_ = front.Close()
		_ = back.Close()
		b.wg.Wait()
	})
	return b
}

// A publisher whose network vanishes (no data, no keepalives, no shutdown)
// is dropped after gosrt's PeerIdleTimeout, and the cause says so.
func TestVanishedPeer(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	cfg := fastConfig()
	cfg.Front.IdleTimeout = 10 * time.Second // must not be what fires
	cfg.PeerIdleTimeout = time.Second
	s, logs := startServer(t, h, cfg)
	bh := newBlackhole(t, s.Addr())

	conf := gosrt.DefaultConfig()
	conf.StreamId = "publish:" + testKey
	conf.PeerIdleTimeout = 30 * time.Second
	c, err := gosrt.Dial("srt", bh.front.LocalAddr().String(), conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p := newPublisher(t, c, clip)
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples)-1, wait)

	bh.drop.Store(true)
	vanished := time.Now()
	cause := pub.WaitClosed(t, wait)
	if !errors.Is(cause, ingest.ErrTimeout) || !strings.Contains(cause.Error(), "no packets from the peer") {
		t.Errorf("cause = %v, want ErrTimeout: no packets from the peer", cause)
	}
	if d := time.Since(vanished); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("vanished peer dropped after %s, want about %s", d, cfg.PeerIdleTimeout)
	}
	logs.WaitLine(t, wait, "level=WARN", "publication ended", "remote=127.0.0.1:", "no packets from the peer")
	pub.CheckContract(t)
}
