package srt

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"
	"github.com/datarhei/gosrt/packet"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
)

// rawCaller is an SRT caller driven packet by packet from a UDP socket
// bound to a chosen local address (gosrt's Dial cannot bind one).
type rawCaller struct {
	conn     *net.UDPConn
	server   net.Addr
	socketID uint32
}

func newRawCaller(t *testing.T, local net.IP, s *Server, socketID uint32) *rawCaller {
	t.Helper()
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: local}, s.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &rawCaller{conn: c, server: s.Addr(), socketID: socketID}
}

// read returns the next handshake the listener sends.
func (rc *rawCaller) read(t *testing.T) *packet.CIFHandshake {
	t.Helper()
	buf := make([]byte, 1500)
	_ = rc.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, err := rc.conn.Read(buf)
		if err != nil {
			t.Fatalf("no handshake from the listener: %v", err)
		}
		p, err := packet.NewPacketFromData(rc.server, buf[:n])
		if err != nil || !p.Header().IsControlPacket || p.Header().ControlType != packet.CTRLTYPE_HANDSHAKE {
			continue
		}
		cif := &packet.CIFHandshake{}
		if err := p.UnmarshalCIF(cif); err != nil {
			t.Fatalf("handshake from the listener: %v", err)
		}
		return cif
	}
}

// conclude sends an induction, reads the listener's answer and sends the
// conclusion with streamID; the listener's answer to it comes to a later read.
func (rc *rawCaller) conclude(t *testing.T, streamID string) {
	t.Helper()
	if _, err := rc.conn.Write(induction(t, rc.conn.LocalAddr(), rc.server, rc.socketID)); err != nil {
		t.Fatal(err)
	}
	cif := rc.read(t)
	cif.IsRequest = true
	cif.HandshakeType = packet.HSTYPE_CONCLUSION
	cif.MaxTransmissionUnitSize = 1500
	cif.MaxFlowWindowSize = 25600
	cif.SRTSocketId = rc.socketID
	cif.PeerIP.FromNetAddr(rc.conn.LocalAddr())
	cif.HasHS = true
	cif.SRTHS = &packet.CIFHandshakeExtension{
		SRTVersion: gosrt.SRT_VERSION,
		SRTFlags: packet.CIFHandshakeExtensionFlags{
			TSBPDSND: true, TSBPDRCV: true, CRYPT: true, TLPKTDROP: true, PERIODICNAK: true, REXMITFLG: true,
		},
		RecvTSBPDDelay: 120,
		SendTSBPDDelay: 120,
	}
	cif.HasSID = true
	cif.StreamId = streamID
	p := packet.NewPacket(rc.server)
	p.Header().IsControlPacket = true
	p.Header().ControlType = packet.CTRLTYPE_HANDSHAKE
	if err := p.MarshalCIF(cif); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Marshal(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.conn.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
}

// stallingHandler holds Publish for keys starting with "stall" until its
// context ends; other keys go to the fake handler.
type stallingHandler struct {
	*ingesttest.Handler
	stalled chan string
}

func (h *stallingHandler) Publish(ctx context.Context, req ingest.Request) (ingest.Publication, error) {
	if strings.HasPrefix(req.StreamKey, "stall") {
		h.stalled <- req.StreamKey
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.Handler.Publish(ctx, req)
}

// waitStalled waits for a request to enter Publish.
func (h *stallingHandler) waitStalled(t *testing.T) {
	t.Helper()
	select {
	case <-h.stalled:
	case <-time.After(wait):
		t.Fatal("no request reached the handler")
	}
}

// Connection requests from one address beyond the per-address cap are
// refused at once with REJX_OVERLOAD while the first ones are still being
// authenticated; a publisher from another address gets in meanwhile.
func TestPerIPCap(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := &stallingHandler{Handler: ingesttest.NewHandler(testKey), stalled: make(chan string, 16)}
	cfg := fastConfig()
	cfg.Front.MaxConnsPerIP = 2
	cfg.AuthTimeout = 3 * time.Second // longer than the test: the stalled requests stay pending
	s, logs := startServer(t, h, cfg)
	flood := net.IPv4(127, 0, 0, 2)

	for i := range 2 {
		rc := newRawCaller(t, flood, s, uint32(100+i))
		rc.conclude(t, "publish:stall"+string(rune('a'+i)))
		h.waitStalled(t) // pending in the handler
	}
	over := newRawCaller(t, flood, s, 200)
	over.conclude(t, "publish:stallc")
	if got := over.read(t).HandshakeType; got != packet.HandshakeType(gosrt.REJX_OVERLOAD) {
		t.Fatalf("third request from one address answered %s, want REJX_OVERLOAD", got)
	}
	logs.WaitLine(t, wait, "level=WARN", "refused connection", "remote=127.0.0.2:", "max 2 per address")

	p := mustPublish(t, s, "publish:"+testKey, clip) // from 127.0.0.1
	if err := p.send(clip, 0); err != nil {
		t.Fatal(err)
	}
	h.NextPublication(t, wait).WaitUnits(t, len(clip.Samples)-1, wait)
	if n := sessions(s); n != 3 {
		t.Errorf("server tracks %d sessions, want 3 (two pending, one publisher)", n)
	}
	select {
	case k := <-h.stalled:
		t.Errorf("request %q over the cap reached the handler", k)
	default:
	}
}

// A connection request whose stream key check outlasts the handshake
// deadline is rejected then, and its place is freed.
func TestHandshakeDeadline(t *testing.T) {
	h := &stallingHandler{Handler: ingesttest.NewHandler(testKey), stalled: make(chan string, 1)}
	cfg := fastConfig()
	cfg.Front.HandshakeTimeout = time.Second
	cfg.AuthTimeout = time.Minute
	s, _ := startServer(t, h, cfg)
	rc := newRawCaller(t, net.IPv4(127, 0, 0, 1), s, 300)
	start := time.Now()
	rc.conclude(t, "publish:stall")
	h.waitStalled(t)
	if got := rc.read(t).HandshakeType; got != packet.HandshakeType(gosrt.REJX_ISE) {
		t.Fatalf("answer %s, want REJX_ISE", got)
	}
	if d := time.Since(start); d < cfg.Front.HandshakeTimeout-50*time.Millisecond || d > cfg.Front.HandshakeTimeout+time.Second {
		t.Errorf("rejected after %s, want about %s", d, cfg.Front.HandshakeTimeout)
	}
	waitSessions(t, s, 0)
}

// Silent conclusions (a valid-looking handshake, then nothing) from many
// sockets of one address hold at most the per-address cap and are dropped
// at the idle deadline once accepted.
func TestIdleFloodAfterHandshake(t *testing.T) {
	keys := []string{"sk_flood_key_0000001", "sk_flood_key_0000002", "sk_flood_key_0000003", "sk_flood_key_0000004"}
	h := ingesttest.NewHandler(append(keys, testKey)...)
	cfg := fastConfig()
	cfg.Front.MaxConnsPerIP = 2
	cfg.Front.IdleTimeout = 700 * time.Millisecond
	s, _ := startServer(t, h, cfg)
	answers := make([]packet.HandshakeType, len(keys))
	for i, k := range keys {
		rc := newRawCaller(t, net.IPv4(127, 0, 0, 2), s, uint32(400+i))
		rc.conclude(t, "publish:"+k)
		answers[i] = rc.read(t).HandshakeType
	}
	accepted := 0
	for _, a := range answers {
		if a == packet.HSTYPE_CONCLUSION {
			accepted++
		} else if a != packet.HandshakeType(gosrt.REJX_OVERLOAD) {
			t.Errorf("answer %s, want CONCLUSION or REJX_OVERLOAD", a)
		}
	}
	if accepted != 2 {
		t.Errorf("%d of %d silent callers accepted, want 2", accepted, len(keys))
	}
	waitSessions(t, s, 0) // the idle deadline frees them
	if _, err := dial(t, s, "publish:"+testKey); err != nil {
		t.Fatalf("publisher after the flood: %v", err)
	}
}

func waitSessions(t *testing.T, s *Server, n int) {
	t.Helper()
	until := time.Now().Add(wait)
	for sessions(s) != n {
		if time.Now().After(until) {
			t.Fatalf("server tracks %d sessions, want %d", sessions(s), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
