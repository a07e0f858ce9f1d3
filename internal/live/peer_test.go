package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/events"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

// ingestSource stands for the memory edge of the ingest node: playlists
// held until release is closed, parts written through a pipe.
type ingestSource struct {
	release   chan struct{}
	playlists atomic.Int32
	opens     atomic.Int32
	err       error
	mu        sync.Mutex
	part      *io.PipeWriter
	partR     *io.PipeReader
}

func (s *ingestSource) MediaPlaylist(ctx context.Context, key string, q url.Values) ([]byte, error) {
	s.playlists.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return []byte("#EXTM3U\n# " + key + " msn=" + q.Get("_HLS_msn") + "\n"), nil
}

func (s *ingestSource) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.opens.Add(1)
	if s.err != nil {
		return nil, s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.partR, nil
}

// countingSource counts what it is asked and serves nothing.
type countingSource struct{ asked atomic.Int32 }

func (s *countingSource) MediaPlaylist(context.Context, string, url.Values) ([]byte, error) {
	s.asked.Add(1)
	return nil, origin.ErrNotLive
}

func (s *countingSource) Open(context.Context, string) (io.ReadCloser, error) {
	s.asked.Add(1)
	return nil, origin.ErrNotLive
}

// enteringSource counts the playlist requests that reached the
// PeerSource it wraps.
type enteringSource struct {
	origin.LiveSource
	entered atomic.Int32
}

func (s *enteringSource) MediaPlaylist(ctx context.Context, key string, q url.Values) ([]byte, error) {
	s.entered.Add(1)
	return s.LiveSource.MediaPlaylist(ctx, key, q)
}

// peerPair starts the ingest node's origin (serving src from memory) and an
// origin node whose PeerSource knows, as the cluster announced it, that
// channel ch_1 is live on the ingest node.
func peerPair(t *testing.T, src origin.LiveSource) (ingestPeer *countingSource, ing, orig *httptest.Server) {
	ingestPeer, ing, orig, _ = peerPairCounted(t, src)
	return ingestPeer, ing, orig
}

// peerPairCounted is peerPair, also counting the requests that reached the
// origin node's PeerSource.
func peerPairCounted(t *testing.T, src origin.LiveSource) (ingestPeer *countingSource, ing, orig *httptest.Server, peer *enteringSource) {
	t.Helper()
	st, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), "live/ch_1/s1/720p/index.m3u8", []byte("#EXTM3U\n# stored\n")); err != nil {
		t.Fatal(err)
	}
	ingestPeer = &countingSource{}
	ing = httptest.NewServer(origin.New(st, origin.Config{Live: src, Peer: ingestPeer}, slog.New(slog.DiscardHandler)))
	t.Cleanup(ing.Close)
	bus := events.NewLocal(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { bus.Close() })
	c, err := NewCluster(context.Background(), ClusterConfig{Bus: bus, Store: st, NodeID: "origin-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	c.mu.Lock()
	c.remote["ch_1"] = stateEvent{Node: "ingest-1", At: time.Now(), Status: Status{State: "live"}, Origin: ing.URL}
	c.mu.Unlock()
	peer = &enteringSource{LiveSource: NewPeerSource(PeerConfig{Cluster: c})}
	orig = httptest.NewServer(origin.New(st, origin.Config{Peer: peer}, slog.New(slog.DiscardHandler)))
	t.Cleanup(orig.Close)
	return ingestPeer, ing, orig, peer
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return resp.StatusCode, string(b)
}

// Viewers of an origin node blocking on the next part of a channel
// packaged on another node are answered from that node's memory, all of
// them through one request to it, which is never passed on again.
func TestPeerBlockingReloadsCollapse(t *testing.T) {
	src := &ingestSource{release: make(chan struct{})}
	ingestPeer, _, orig, peer := peerPairCounted(t, src)
	const viewers = 50
	u := orig.URL + "/live/ch_1/s1/720p/index.m3u8?_HLS_msn=7&_HLS_part=2"
	var wg sync.WaitGroup
	bodies := make([]string, viewers)
	for i := range viewers {
		wg.Go(func() {
			code, body := get(t, u)
			if code != http.StatusOK {
				t.Errorf("viewer %d: %d %s", i, code, body)
			}
			bodies[i] = body
		})
	}
	// Every viewer reaches the origin node's PeerSource while the first
	// upstream request is held: they must join it, not ask again.
	waitUntil(t, 5*time.Second, "every viewer to reach the origin node", func() bool { return peer.entered.Load() == viewers })
	waitUntil(t, 5*time.Second, "the request to reach the ingest node", func() bool { return src.playlists.Load() > 0 })
	close(src.release)
	wg.Wait()
	if n := src.playlists.Load(); n != 1 {
		t.Errorf("%d requests reached the ingest node for %d identical viewers, want 1", n, viewers)
	}
	for i, b := range bodies {
		if !strings.Contains(b, "live/ch_1/s1/720p/index.m3u8 msn=7") {
			t.Errorf("viewer %d got %q", i, b)
			break
		}
	}
	if n := ingestPeer.asked.Load(); n != 0 {
		t.Errorf("the ingest node passed a peer's request on to its own peer (%d times)", n)
	}
	// A plain reload (no directives) is another request, not the blocking one.
	if code, body := get(t, orig.URL+"/live/ch_1/s1/720p/index.m3u8"); code != http.StatusOK || !strings.Contains(body, "msn=\n") {
		t.Errorf("plain reload: %d %q", code, body)
	}
}

// The ingest node's answers keep their meaning through the origin node:
// 400 with its message, 404, 503; a node that does not answer leaves the
// stored playlist.
func TestPeerErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		body string
	}{
		{fmt.Errorf("%w: _HLS_msn 99 is more than two segments ahead", origin.ErrBadDirective), http.StatusBadRequest, "more than two segments ahead"},
		{origin.ErrNotFound, http.StatusNotFound, ""},
		{origin.ErrHoldTimeout, http.StatusServiceUnavailable, ""},
		{origin.ErrNotLive, http.StatusOK, "# stored"}, // the ingest node serves its storage
	} {
		src := &ingestSource{release: make(chan struct{}), err: tc.err}
		_, _, orig := peerPair(t, src)
		code, body := get(t, orig.URL+"/live/ch_1/s1/720p/index.m3u8?_HLS_msn=99")
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("ingest node says %v: origin node answered %d %q, want %d %q", tc.err, code, body, tc.code, tc.body)
		}
	}
	src := &ingestSource{release: make(chan struct{})}
	_, ing, orig := peerPair(t, src)
	ing.Close()
	if code, body := get(t, orig.URL+"/live/ch_1/s1/720p/index.m3u8?_HLS_msn=3"); code != http.StatusOK || !strings.Contains(body, "# stored") {
		t.Errorf("ingest node down: %d %q, want the stored playlist", code, body)
	}
	// Channels nobody announced are storage's.
	if code, _ := get(t, orig.URL+"/live/ch_2/s1/720p/index.m3u8"); code != http.StatusNotFound {
		t.Errorf("unannounced channel: %d", code)
	}
}

// A part being produced streams from the ingest node to every viewer of
// the origin node as it comes, through one request.
func TestPeerPartStreams(t *testing.T) {
	src := &ingestSource{release: make(chan struct{})}
	src.partR, src.part = io.Pipe()
	_, _, orig := peerPair(t, src)
	const viewers = 3
	resps := make([]*http.Response, viewers)
	for i := range viewers {
		resp, err := http.Get(orig.URL + "/live/ch_1/s1/720p/9.2.m4s")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("viewer %d: %s", i, resp.Status)
		}
		resps[i] = resp
	}
	for _, chunk := range []string{"moof1mdat1", "moof2mdat2"} {
		if _, err := src.part.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		for i, resp := range resps {
			b := make([]byte, len(chunk))
			if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != chunk {
				t.Fatalf("viewer %d read %q, %v; want %q while the part is produced", i, b, err, chunk)
			}
		}
	}
	src.part.Close()
	for i, resp := range resps {
		if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
			t.Errorf("viewer %d: end of part: %q, %v", i, rest, err)
		}
	}
	if n := src.opens.Load(); n != 1 {
		t.Errorf("%d requests reached the ingest node for %d viewers, want 1", n, viewers)
	}
	// A part the ingest node breaks is broken for the viewers too.
	src.partR, src.part = io.Pipe()
	resp, err := http.Get(orig.URL + "/live/ch_1/s1/720p/9.3.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	src.part.Write([]byte("moof"))
	src.part.CloseWithError(errors.New("transcoder died"))
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("a broken part reached the viewer as complete")
	}
}
