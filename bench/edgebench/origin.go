package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	segmentSize  = 1 << 20 // bytes of a /seg/ and /storm/ object
	playlistSize = 1 << 10 // bytes of a /live/ playlist
)

// origin is the HTTP origin both edges sit in front of. It serves
//
//   - /seg/{n}.m4s: 1 MiB of deterministic bytes, immutable for a year;
//   - /live/{n}/index.m3u8: a 1 KiB media playlist, fresh for 60 s;
//   - /storm/{label}/{n}.m4s: like a segment, after a delay, so that the
//     requests of a miss storm overlap the origin request;
//
// with an ETag (conditional and Range requests via http.ServeContent), and
// counts the requests it receives per path.
type origin struct {
	base       string
	stormDelay time.Duration
	srv        *http.Server
	done       chan struct{}

	mu     sync.Mutex
	counts map[string]*atomic.Int64
	bodies sync.Map // path -> []byte, generated once

	stormMu sync.Mutex
	storm   originStormStats
}

// originStormStats is what the origin saw of a miss storm.
type originStormStats struct {
	barrier time.Time // when the clients were released
	// LastArrival is the latest a storm request reached the origin after
	// the barrier; SlowestStart and SlowestEnd the longest from a
	// request's arrival to the start of the answer (the delay included)
	// and to its last byte written; Abandoned counts the requests the
	// edge cancelled.
	LastArrival, SlowestStart, SlowestEnd time.Duration
	Abandoned                             int
}

// stormBarrier tells the origin that storm clients were released at t.
func (o *origin) stormBarrier(t time.Time) {
	o.stormMu.Lock()
	defer o.stormMu.Unlock()
	o.storm.barrier = t
}

// takeStormStats returns what the origin saw since the last call.
func (o *origin) takeStormStats() originStormStats {
	o.stormMu.Lock()
	defer o.stormMu.Unlock()
	st := o.storm
	o.storm = originStormStats{}
	return st
}

// noteStorm records a storm request that arrived at t0.
func (o *origin) noteStorm(t0 time.Time, head, total time.Duration, abandoned bool) {
	o.stormMu.Lock()
	defer o.stormMu.Unlock()
	st := &o.storm
	if !st.barrier.IsZero() {
		st.LastArrival = max(st.LastArrival, t0.Sub(st.barrier))
	}
	st.SlowestStart = max(st.SlowestStart, head)
	st.SlowestEnd = max(st.SlowestEnd, total)
	if abandoned {
		st.Abandoned++
	}
}

// startOrigin listens on a free loopback port and serves until close.
func startOrigin(stormDelay time.Duration) (*origin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the origin: %w", err)
	}
	o := &origin{
		base:       "http://" + ln.Addr().String(),
		stormDelay: stormDelay,
		counts:     make(map[string]*atomic.Int64),
		done:       make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /seg/{file}", o.serveSegment)
	mux.HandleFunc("GET /storm/{label}/{file}", o.serveStorm)
	mux.HandleFunc("GET /live/{n}/index.m3u8", o.servePlaylist)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	o.srv = &http.Server{Handler: o.counting(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(o.done)
		_ = o.srv.Serve(ln)
	}()
	return o, nil
}

// close stops the origin and waits for its server goroutine.
func (o *origin) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = o.srv.Shutdown(ctx)
	<-o.done
}

func (o *origin) counting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.counter(r.URL.Path).Add(1)
		next.ServeHTTP(w, r)
	})
}

func (o *origin) counter(path string) *atomic.Int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.counts[path]
	if c == nil {
		c = new(atomic.Int64)
		o.counts[path] = c
	}
	return c
}

// requests returns how many requests the origin received for path.
func (o *origin) requests(path string) int64 { return o.counter(path).Load() }

// requestsUnder returns how many requests the origin received for paths
// starting with prefix.
func (o *origin) requestsUnder(prefix string) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var n int64
	for p, c := range o.counts {
		if strings.HasPrefix(p, prefix) {
			n += c.Load()
		}
	}
	return n
}

func (o *origin) serveSegment(w http.ResponseWriter, r *http.Request) {
	if !validSegmentName(r.PathValue("file")) {
		http.NotFound(w, r)
		return
	}
	o.serve(w, r, "video/iso.segment", "public, max-age=31536000, immutable", o.body(r.URL.Path, segmentBody))
}

func (o *origin) serveStorm(w http.ResponseWriter, r *http.Request) {
	if !validSegmentName(r.PathValue("file")) {
		http.NotFound(w, r)
		return
	}
	t0 := time.Now()
	body := o.body(r.URL.Path, segmentBody)
	select {
	case <-time.After(o.stormDelay):
	case <-r.Context().Done():
		o.noteStorm(t0, 0, time.Since(t0), true)
		return
	}
	head := time.Since(t0)
	o.serve(w, r, "video/iso.segment", "public, max-age=31536000, immutable", body)
	o.noteStorm(t0, head, time.Since(t0), r.Context().Err() != nil)
}

func (o *origin) servePlaylist(w http.ResponseWriter, r *http.Request) {
	if _, err := strconv.Atoi(r.PathValue("n")); err != nil {
		http.NotFound(w, r)
		return
	}
	o.serve(w, r, "application/vnd.apple.mpegurl", "public, max-age=60", o.body(r.URL.Path, playlistBody))
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request, contentType, cacheControl string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag(body))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// body returns the body of path, generating it on first use.
func (o *origin) body(path string, gen func(string) []byte) []byte {
	if b, ok := o.bodies.Load(path); ok {
		return b.([]byte)
	}
	b, _ := o.bodies.LoadOrStore(path, gen(path))
	return b.([]byte)
}

func validSegmentName(file string) bool {
	n, ok := strings.CutSuffix(file, ".m4s")
	if !ok {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// segmentBody is 1 MiB of pseudo-random bytes (xorshift64*) seeded by the
// path: deterministic, different per object, incompressible.
func segmentBody(path string) []byte {
	h := fnv.New64a()
	h.Write([]byte(path))
	x := h.Sum64() | 1
	b := make([]byte, segmentSize)
	for i := 0; i < len(b); i += 8 {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		v := x * 2685821657736338717
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// playlistBody is an HLS media playlist of exactly 1 KiB for
// /live/{n}/index.m3u8.
func playlistBody(path string) []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1000\n#EXT-X-MAP:URI=\"init.mp4\"\n")
	b.WriteString("## " + path + "\n")
	for seq := 1000; ; seq++ {
		line := fmt.Sprintf("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T12:%02d:%02d.000Z\n#EXTINF:2.000,\n%d.m4s\n", (seq/30)%60, (seq*2)%60, seq)
		if b.Len()+len(line) > playlistSize-8 {
			break
		}
		b.WriteString(line)
	}
	pad := playlistSize - b.Len() - 2 // "#" + padding + "\n"
	b.WriteString("#" + strings.Repeat(" ", pad) + "\n")
	return b.Bytes()
}

// etag is a strong validator derived from the body.
func etag(body []byte) string {
	h := fnv.New64a()
	h.Write(body)
	return fmt.Sprintf("\"%016x\"", h.Sum64())
}
