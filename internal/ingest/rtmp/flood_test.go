package rtmp

import (
	"context"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/handshake"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/ingesttest"
)

// otherIP is a second loopback address (Linux routes all of 127/8 to lo),
// standing for a publisher on another host than the flood.
var otherIP = net.IPv4(127, 0, 0, 2)

// dialFrom is dial with the client bound to local.
func dialFrom(t *testing.T, local net.IP, rawURL string, clip *ingesttest.Clip) (*publisher, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}}
	c := &gortmplib.Client{URL: u, Publish: true, DialContext: d.DialContext}
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	t.Cleanup(c.Close)
	p := &publisher{c: c, video: &gortmplib.Track{Codec: &codecs.H264{SPS: clip.SPS, PPS: clip.PPS}}}
	tracks := []*gortmplib.Track{p.video}
	if clip.Audio != nil {
		p.audio = &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: clip.Audio}}
		tracks = append(tracks, p.audio)
	}
	_ = c.NetConn().SetDeadline(time.Now().Add(wait))
	p.w = &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := p.w.Initialize(); err != nil {
		return nil, err
	}
	return p, nil
}

// An idle flood from one address, far more sockets than one host may hold,
// does not lock a publisher on another address out: with the default
// configuration the flood is held to the per-address cap and the publish
// goes through while the flood's sockets are open on the client side.
// (Before the front door, 64 idle sockets filled the server.)
func TestIdleFloodFromOneIPDoesNotLockOthersOut(t *testing.T) {
	clip := ingesttest.H264Clip(t)
	h := ingesttest.NewHandler(testKey)
	s, _ := startServer(t, h, Config{})

	const flood = 200
	for range flood {
		dialTCP(t, s) // from 127.0.0.1, says nothing, stays open
	}
	p, err := dialFrom(t, otherIP, url4(s, "/live/"+testKey), clip)
	if err != nil {
		t.Fatalf("publish from %s next to %d idle sockets: %v", otherIP, flood, err)
	}
	if err := p.send(clip, time.Second); err != nil {
		t.Fatal(err)
	}
	pub := h.NextPublication(t, wait)
	pub.WaitUnits(t, len(clip.Samples), wait)
	if got := pub.Req.RemoteAddr.(*net.TCPAddr).IP; !got.Equal(otherIP) {
		t.Errorf("publisher address %s, want %s", got, otherIP)
	}
	if n, limit := s.door.Len(), s.cfg.Front.MaxConnsPerIP+1; n > limit {
		t.Errorf("server holds %d connections, want at most %d (the flood's share and the publisher)", n, limit)
	}
}

// stallHandler never decides: Publish returns only when its context ends.
type stallHandler struct{ calls chan struct{} }

func (h stallHandler) Publish(ctx context.Context, _ ingest.Request) (ingest.Publication, error) {
	h.calls <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// The handshake deadline covers everything before publishing: a half
// handshake, a complete handshake followed by silence, and a publish whose
// stream key check never ends are all closed at the deadline.
func TestHandshakeDeadlineCoversPublish(t *testing.T) {
	const deadline = 700 * time.Millisecond
	cases := []struct {
		name string
		run  func(t *testing.T, s *Server) net.Conn // returns the client's socket
	}{
		{"half handshake", func(t *testing.T, s *Server) net.Conn {
			c := dialTCP(t, s)
			_, _ = c.Write(append([]byte{3}, make([]byte, 700)...)) // C0 and half of C1
			return c
		}},
		{"handshake then silence", func(t *testing.T, s *Server) net.Conn {
			c := dialTCP(t, s)
			_ = c.SetDeadline(time.Now().Add(wait))
			if _, _, err := handshake.DoClient(c, false, false); err != nil {
				t.Fatal(err)
			}
			_ = c.SetDeadline(time.Time{})
			return c
		}},
		{"stream key check never ends", func(t *testing.T, s *Server) net.Conn {
			nc := make(chan net.Conn, 1)
			u, _ := url.Parse(url4(s, "/live/"+testKey))
			dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					nc <- c
				}
				return c, err
			}
			c := &gortmplib.Client{URL: u, Publish: true, DialContext: dialer}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			t.Cleanup(cancel)
			go func() {
				if c.Initialize(ctx) == nil {
					c.Close()
				}
			}()
			return <-nc
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := stallHandler{calls: make(chan struct{}, 1)}
			cfg := fastConfig()
			cfg.Front.HandshakeTimeout = deadline
			s, _ := startServer(t, h, cfg)
			start := time.Now()
			c := tc.run(t, s)
			assertClosedByServer(t, c)
			if d := time.Since(start); d < deadline-50*time.Millisecond || d > deadline+time.Second {
				t.Errorf("closed after %s, want about %s", d, deadline)
			}
			waitDoorEmpty(t, s)
		})
	}
}

// waitDoorEmpty waits until the server holds no connection.
func waitDoorEmpty(t *testing.T, s *Server) {
	t.Helper()
	until := time.Now().Add(wait)
	for s.door.Len() != 0 {
		if time.Now().After(until) {
			t.Fatalf("server still holds %d connections", s.door.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
