package edge

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// defaultGuardOptions are the guard's options from the built-in security
// settings, as internal/app converts them (the edge cannot import app).
func defaultGuardOptions() httpguard.Options {
	return httpguard.Options{
		Unlimited: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
		RateLimits: map[httpguard.Class]httpguard.RateLimit{
			httpguard.ClassAPI:    {Rate: 20, Burst: 40},
			httpguard.ClassUpload: {Rate: 20, Burst: 100},
			httpguard.ClassMedia:  {Rate: 200, Burst: 400},
		},
		RateLimitClients:    100_000,
		MaxConnections:      10000,
		MaxConnectionsPerIP: 256,
		ReadHeaderTimeout:   10 * time.Second,
		IdleTimeout:         2 * time.Minute,
		ProgressTimeout:     time.Minute,
		HSTSMaxAge:          365 * 24 * time.Hour,
		MaxHeaderBytes:      64 << 10,
		MaxJSONBody:         1 << 20,
	}
}

// serveGuarded serves te's edge behind a front door as `osprey serve`
// (edge.enabled) and `osprey edge` do: guard.Wrap as the handler,
// guard.Server and guard.Listener. sendBuffer, when not 0, sets the
// accepted connections' send buffer. It returns the address.
func serveGuarded(t *testing.T, te *testEdge, o httpguard.Options, sendBuffer int) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	g, err := httpguard.New(o, log)
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if sendBuffer > 0 {
		ln = sendBufferListener{ln, sendBuffer}
	}
	srv := g.Server(g.Wrap(func(*http.Request) httpguard.Class { return httpguard.ClassMedia }, te.Edge), log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(g.Listener(ln, nil)) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serving: %v", err)
		}
		g.Close()
	})
	return ln.Addr().String()
}

// sendBufferListener sets the send buffer of the connections it accepts.
type sendBufferListener struct {
	net.Listener
	size int
}

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(l.size)
	}
	return c, err
}

// pacedOrigin serves, with no Content-Length, paced blocks of 8 KiB
// each flushed after a pause longer than the front door's throttle on
// moving deadlines (1 s), then fast the rest of size. It starts once gate
// is closed, and stops early when the test ends.
func pacedOrigin(t *testing.T, paced, size int, gate <-chan struct{}) (*testOrigin, [32]byte) {
	block := payload(8<<10, 7)
	body := bytes.Repeat(block, size/len(block)+1)[:size]
	want := sha256.Sum256(body)
	stop := make(chan struct{})
	o := newTestOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Content-Type", "video/mp4")
		<-gate
		rest := body
		for range paced {
			if _, err := w.Write(rest[:len(block)]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			rest = rest[len(block):]
			select {
			case <-time.After(1100 * time.Millisecond):
			case <-stop:
				return
			}
		}
		w.Write(rest)
	})
	t.Cleanup(func() { close(stop) }) // before the origin's Close, which waits for the handler
	return o, want
}

// Review of issue 9: the edge's stall limit and the front door's progress
// deadline both set the viewer's write deadline, and behind the guard the
// guard's won, so a stalled viewer held a windowed flight, and every other
// viewer on it, for progress_timeout (here 10 minutes) instead of the stall
// limit. The guard now owns the deadline and takes the edge's limit: the
// stalled viewer is cut after about 10 s (not before), and the reading
// viewer gets the whole body.
func TestStalledViewerIsCutBehindTheFrontDoor(t *testing.T) {
	t.Run("paced origin", func(t *testing.T) {
		// Every write to the stalled viewer is one paced block, so the
		// write that blocks comes more than a second after the last one:
		// the guard moves the deadline before it, which used to replace
		// the edge's. Small buffers make it block within the paced part;
		// the flight is windowed after 16 KiB.
		gate := make(chan struct{})
		origin, want := pacedOrigin(t, 12, 2<<20, gate)
		testStalledViewerBehindTheFrontDoor(t, origin, want, 2<<20, gate, 16<<10, 4<<10)
	})
	t.Run("fast origin", func(t *testing.T) {
		// Loopback's autotuned buffers, 32 MiB at full speed, windowed
		// after 1 MiB.
		gate := make(chan struct{})
		origin, want := chunkedOrigin(t, 32<<20, gate)
		testStalledViewerBehindTheFrontDoor(t, origin, want, 32<<20, gate, 1<<20, 0)
	})
}

func testStalledViewerBehindTheFrontDoor(t *testing.T, origin *testOrigin, want [32]byte, size int64, gate chan struct{}, maxObject int64, sendBuffer int) {
	var open sync.Once
	t.Cleanup(func() { open.Do(func() { close(gate) }) })
	// OriginTimeout 500 ms: the stall limit is its floor, 10 s.
	te := newTestEdge(t, Config{MaxObjectSize: maxObject, OriginTimeout: 500 * time.Millisecond}, origin.URL)
	limit := te.stallLimit()
	o := defaultGuardOptions()
	o.ProgressTimeout = 10 * time.Minute
	addr := serveGuarded(t, te, o, sendBuffer)

	// The stalled viewer: sends its request, never reads the answer.
	stalled, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stalled.Close() })
	if tc, ok := stalled.(*net.TCPConn); ok {
		tc.SetReadBuffer(4 << 10)
	}
	sent := time.Now()
	io.WriteString(stalled, "GET /big.mp4 HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
	waitFor(t, 10*time.Second, "the stalled viewer's flight", func() bool {
		te.flightsMu.Lock()
		defer te.flightsMu.Unlock()
		return len(te.flights) == 1
	})

	type result struct {
		status int
		n      int64
		sum    [32]byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.status, r.n, r.sum, r.err = streamSum("http://"+addr+"/big.mp4", "Accept-Encoding", "identity")
		done <- r
	}()
	waitFor(t, 10*time.Second, "the reading viewer to join", func() bool { return te.joined("/big.mp4") == 1 })
	open.Do(func() { close(gate) })
	start := time.Now()
	select {
	case r := <-done:
		took := time.Since(start)
		t.Logf("the reading viewer finished %v after the origin started (stall limit %v)", took.Round(time.Millisecond), limit)
		if r.err != nil || r.status != 200 || r.n != size || r.sum != want {
			t.Fatalf("the reading viewer: status %d, %d of %d bytes, err %v", r.status, r.n, size, r.err)
		}
		// The stalled viewer's first byte was written after its request;
		// the guard moves deadlines at most once a second.
		if cut := time.Since(sent); cut < limit-time.Second {
			t.Errorf("the stalled viewer was cut %v after its request, before the stall limit %v", cut, limit)
		}
	case <-time.After(limit + 30*time.Second):
		t.Fatalf("the reading viewer is still held by the stalled one %v after the origin started (stall limit %v)", time.Since(start).Round(time.Second), limit)
	}
	if n := origin.count.Load(); n != 1 {
		t.Errorf("origin requests = %d, want 1", n)
	}
}
