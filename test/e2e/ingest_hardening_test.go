package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/datarhei/gosrt/circular"
	"github.com/datarhei/gosrt/packet"
)

// ingestAttackerIP is the address every flood comes from: a second loopback
// address (Linux routes all of 127/8 to lo). Publishers and players use
// 127.0.0.1.
var ingestAttackerIP = net.IPv4(127, 0, 0, 2)

// ingestPerIPCap is the default ingest.max_connections_per_ip.
const ingestPerIPCap = 16

// ingestFlood runs attack loops from ingestAttackerIP until stop, and
// counts what they did so the test can check they really ran.
type ingestFlood struct {
	t      *testing.T
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	dials, datagrams atomic.Int64
}

func newIngestFlood(t *testing.T) *ingestFlood {
	ctx, cancel := context.WithCancel(context.Background())
	f := &ingestFlood{t: t, ctx: ctx, cancel: cancel}
	t.Cleanup(f.stop)
	return f
}

func (f *ingestFlood) stop() {
	f.cancel()
	f.wg.Wait()
}

func (f *ingestFlood) run(loop func()) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		loop()
	}()
}

// pause waits d, or returns false once the flood stops.
func (f *ingestFlood) pause(d time.Duration) bool {
	select {
	case <-f.ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// dialTCP connects from the attacker's address; nil when refused.
func (f *ingestFlood) dialTCP(addr string) net.Conn {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ingestAttackerIP}, Timeout: time.Second}
	c, err := d.DialContext(f.ctx, "tcp", addr)
	if err != nil {
		return nil
	}
	f.dials.Add(1)
	return c
}

// idleSockets keeps n silent TCP connections open to addr, dialling again
// each one the server closes, like an attacker that never lets go.
func (f *ingestFlood) idleSockets(addr string, n int) {
	for range n {
		f.run(func() {
			for f.ctx.Err() == nil {
				c := f.dialTCP(addr)
				if c == nil {
					f.pause(100 * time.Millisecond)
					continue
				}
				stop := context.AfterFunc(f.ctx, func() { _ = c.Close() })
				_, _ = io.Copy(io.Discard, c) // until the server (or stop) closes it
				stop()
				_ = c.Close()
				f.pause(50 * time.Millisecond)
			}
		})
	}
}

// trickle opens a connection to addr and writes msg one byte per second,
// again and again, like a slowloris.
func (f *ingestFlood) trickle(addr string, msg []byte) {
	f.run(func() {
		for f.ctx.Err() == nil {
			c := f.dialTCP(addr)
			if c == nil {
				f.pause(100 * time.Millisecond)
				continue
			}
			for i := 0; f.ctx.Err() == nil; i++ {
				if _, err := c.Write(msg[i%len(msg) : i%len(msg)+1]); err != nil {
					break // the server hung up: start over
				}
				f.pause(time.Second)
			}
			_ = c.Close()
		}
	})
}

// garbageTCP connects to addr every interval and sends a burst: random
// bytes, or prefix then random bytes; half the connections stay open.
func (f *ingestFlood) garbageTCP(addr string, prefix []byte, interval time.Duration) {
	f.run(func() {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
		var open []net.Conn
		defer func() {
			for _, c := range open {
				_ = c.Close()
			}
		}()
		for i := 0; f.pause(interval); i++ {
			c := f.dialTCP(addr)
			if c == nil {
				continue
			}
			b := make([]byte, 1+rng.IntN(4096))
			for k := range b {
				b[k] = byte(rng.UintN(256))
			}
			if i%2 == 0 && prefix != nil {
				b = append(append([]byte(nil), prefix...), b...)
			}
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(b)
			if i%2 == 0 {
				_ = c.Close()
				continue
			}
			open = append(open, c)
			if len(open) > 32 {
				_ = open[0].Close()
				open = open[1:]
			}
		}
	})
}

// udp returns a UDP socket from the attacker's address to addr, or nil.
func (f *ingestFlood) udp(addr string) *net.UDPConn {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: ingestAttackerIP}, ua)
	if err != nil {
		return nil
	}
	return c
}

// garbageSRT sends random datagrams to addr, a third shaped like SRT
// handshakes (control bit, handshake type, destination socket 0).
func (f *ingestFlood) garbageSRT(addr string) {
	c := f.udp(addr)
	if c == nil {
		f.t.Fatalf("no UDP socket from %s to %s", ingestAttackerIP, addr)
	}
	f.run(func() {
		defer c.Close()
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
		for i := 0; f.pause(5 * time.Millisecond); i++ {
			b := make([]byte, 16+rng.IntN(1400))
			for k := range b {
				b[k] = byte(rng.UintN(256))
			}
			if i%3 == 0 {
				b[0], b[1] = 0x80, 0x00 // control packet, handshake
				copy(b[12:16], []byte{0, 0, 0, 0})
			}
			if _, err := c.Write(b); err == nil {
				f.datagrams.Add(1)
			}
		}
	})
}

// ingestSRTHandshake builds a caller handshake packet to server.
func ingestSRTHandshake(local, server net.Addr, cif *packet.CIFHandshake) []byte {
	p := packet.NewPacket(server)
	p.Header().IsControlPacket = true
	p.Header().ControlType = packet.CTRLTYPE_HANDSHAKE
	cif.IsRequest = true
	cif.PeerIP.FromNetAddr(local)
	var buf bytes.Buffer
	if p.MarshalCIF(cif) != nil || p.Marshal(&buf) != nil {
		return nil
	}
	return buf.Bytes()
}

// srtInductions opens a new UDP socket every interval, sends a valid SRT
// induction, reads the listener's answer (its SYN cookie), and, every other
// time, a conclusion with a made-up stream id; then it goes silent.
func (f *ingestFlood) srtInductions(addr string) {
	f.run(func() {
		var socks []*net.UDPConn
		defer func() {
			for _, c := range socks {
				_ = c.Close()
			}
		}()
		for i := uint32(1); f.pause(50 * time.Millisecond); i++ {
			c := f.udp(addr)
			if c == nil {
				continue
			}
			socks = append(socks, c)
			ind := &packet.CIFHandshake{
				Version: 4, ExtensionField: 2, MaxTransmissionUnitSize: 1500, MaxFlowWindowSize: 25600,
				InitialPacketSequenceNumber: circular.New(0, packet.MAX_SEQUENCENUMBER),
				HandshakeType:               packet.HSTYPE_INDUCTION, SRTSocketId: 7000 + i,
			}
			if _, err := c.Write(ingestSRTHandshake(c.LocalAddr(), c.RemoteAddr(), ind)); err != nil {
				continue
			}
			f.datagrams.Add(1)
			if i%2 == 1 {
				continue // induction, then silence
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			buf := make([]byte, 1500)
			n, err := c.Read(buf)
			if err != nil {
				continue
			}
			p, err := packet.NewPacketFromData(c.RemoteAddr(), buf[:n])
			if err != nil {
				continue
			}
			answer := &packet.CIFHandshake{}
			if p.UnmarshalCIF(answer) != nil {
				continue
			}
			answer.HandshakeType = packet.HSTYPE_CONCLUSION
			answer.SRTSocketId = 7000 + i
			answer.MaxTransmissionUnitSize, answer.MaxFlowWindowSize = 1500, 25600
			answer.HasHS = true
			answer.SRTHS = &packet.CIFHandshakeExtension{
				SRTVersion: 0x010402,
				SRTFlags: packet.CIFHandshakeExtensionFlags{
					TSBPDSND: true, TSBPDRCV: true, CRYPT: true, TLPKTDROP: true, PERIODICNAK: true, REXMITFLG: true,
				},
				RecvTSBPDDelay: 120, SendTSBPDDelay: 120,
			}
			answer.HasSID = true
			answer.StreamId = "publish:not-a-key-" + strings.Repeat("x", int(i%40))
			_, _ = c.Write(ingestSRTHandshake(c.LocalAddr(), c.RemoteAddr(), answer))
			if len(socks) > 64 {
				_ = socks[0].Close()
				socks = socks[1:]
			}
		}
	})
}

// ingestClosedWithin counts the connections of conns the peer closes within d.
func ingestClosedWithin(conns []net.Conn, d time.Duration) int {
	var closed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for _, c := range conns {
		wg.Add(1)
		go func() { // one reader each: a read past its deadline never sees EOF
			defer wg.Done()
			_ = c.SetReadDeadline(deadline)
			buf := make([]byte, 64)
			for {
				_, err := c.Read(buf)
				if err == nil {
					continue
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					closed.Add(1)
				}
				return
			}
		}()
	}
	wg.Wait()
	return int(closed.Load())
}

// Garbage, half handshakes, slow senders and idle floods from one address on
// the RTMP, SRT and HTTP ports at once: the floods hold no more than their
// share, and a publisher from another address goes live over RTMP, then
// SRT, and is played over HLS while every flood is still running.
func TestIngestFloodsThenPublishAndPlay(t *testing.T) {
	s := startOsprey(t)
	rtmpCh := s.createChannel("flooded rtmp")
	srtCh := s.createChannel("flooded srt")
	httpAddr := strings.TrimPrefix(s.httpBase, "http://")

	// One wave of idle RTMP sockets first: all but the per-address cap are
	// closed at once (before the front door, 64 of them filled the port).
	f := newIngestFlood(t)
	var wave []net.Conn
	for range 4 * ingestPerIPCap {
		if c := f.dialTCP(s.rtmpAddr); c != nil {
			wave = append(wave, c)
		}
	}
	if got, want := ingestClosedWithin(wave, time.Second), len(wave)-ingestPerIPCap; got < want {
		t.Errorf("the server closed %d of %d idle sockets from one address at once, want at least %d", got, len(wave), want)
	}
	for _, c := range wave {
		_ = c.Close()
	}

	// Then every attack at once, for the rest of the test.
	rtmpC0 := []byte{3}                                        // RTMP version byte: a handshake that never ends
	f.idleSockets(s.rtmpAddr, 3*ingestPerIPCap)                // idle flood
	f.garbageTCP(s.rtmpAddr, rtmpC0, 100*time.Millisecond)     // random bytes and half handshakes
	f.trickle(s.rtmpAddr, append(rtmpC0, make([]byte, 64)...)) // one byte per second
	f.garbageSRT(s.srtAddr)
	f.srtInductions(s.srtAddr)
	f.idleSockets(httpAddr, 48)
	f.garbageTCP(httpAddr, []byte("GET /api/v1/channels HTTP/1.1\r\nHost: x\r\n"), 100*time.Millisecond)
	f.trickle(httpAddr, []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "))
	waitFor(t, 10*time.Second, "the floods to get going", func() bool { return f.dials.Load() > 100 && f.datagrams.Load() > 200 })

	pub := publish(t, rtmpURL(rtmpCh), "flv", "640x360", 20)
	waitLive(t, s, rtmpCh)
	p := ffprobe(t, rtmpCh.Playback.HLS)
	video := 0
	for _, st := range p.Streams {
		if st.CodecType == "video" && st.Width > 0 {
			video++
		}
	}
	if video == 0 {
		t.Errorf("ffprobe reads no video from the HLS of the flooded channel: %+v", p)
	}

	srtPub := publish(t, srtURL(srtCh), "mpegts", "640x360", 10)
	waitFor(t, 30*time.Second, "the SRT publisher to go live", func() bool { return s.getChannel(srtCh.ID).State == "live" })
	if err := srtPub.wait(t, 40*time.Second); err != nil {
		t.Fatalf("SRT publisher: %v\n%s", err, srtPub.out)
	}
	if err := pub.wait(t, 40*time.Second); err != nil {
		t.Fatalf("RTMP publisher: %v\n%s", err, pub.out)
	}
	f.stop()

	if err := s.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("osprey died: %v", err)
	}
	refused := false
	for _, rec := range s.logs.find("refused connection") {
		if rec["component"] == "ingest.rtmp" && strings.HasPrefix(rec["remote"].(string), "127.0.0.2:") {
			refused = true
		}
	}
	if !refused {
		t.Error("no refused-connection warning for the RTMP flood from 127.0.0.2")
	}
	for _, l := range s.logs.all() {
		if strings.Contains(l, "panic") {
			t.Errorf("osprey logged a panic: %s", l)
		}
	}
	t.Logf("flood: %d connections, %d datagrams", f.dials.Load(), f.datagrams.Load())
}
