package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/origin"
)

// A channel's low-latency edge (parts, blocking playlist reloads, the
// segment being produced) exists only in the memory of the ingest node
// that packages it. Every other node with the origin role serves it by
// asking that node's origin, which the node announces with the channel's
// state (Cluster.Advertise): PeerSource is the origin's
// Config.Peer. Identical requests in flight at once share one upstream
// request, so that the viewers of an origin node cost the ingest node
// about what one viewer costs, whatever their number.

// Bounds of a request to a peer: a blocking playlist reload is held up to
// three target durations; a part or a segment being produced streams for
// at most a segment duration once its first byte comes.
const (
	peerPlaylistTimeout = 20 * time.Second
	peerObjectTimeout   = 30 * time.Second
	// peerDialTimeout bounds connecting to a peer: they are on one network.
	peerDialTimeout = time.Second
	// peerDownFor is how long a peer that failed to answer is not asked
	// again (its channels are served from storage meanwhile), so that a
	// node that died or is cut off does not hold every viewer's request.
	peerDownFor = 5 * time.Second
)

// PeerSource serves the low-latency edge of channels packaged on other
// nodes, from their origins (an origin.LiveSource).
type PeerSource struct {
	cluster *Cluster
	client  *http.Client
	header  http.Header // sent with every request
	log     *slog.Logger

	mu        sync.Mutex
	playlists map[string]*playlistFlight
	objects   map[string]*objectFlight
	down      map[string]time.Time // peer base URL → not asked until
}

// PeerConfig wires a PeerSource.
type PeerConfig struct {
	Cluster *Cluster
	// Client makes the requests (nil: a client of its own).
	Client *http.Client
	// RequireName/RequireValue: the header the peers' origins require
	// (origin.require_header), if any.
	RequireName, RequireValue string
	Log                       *slog.Logger
}

// NewPeerSource returns a PeerSource.
func NewPeerSource(cfg PeerConfig) *PeerSource {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: peerDialTimeout, KeepAlive: 15 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}}
	}
	h := http.Header{}
	h.Set(origin.PeerHeader, cfg.Cluster.node)
	if cfg.RequireName != "" {
		h.Set(cfg.RequireName, cfg.RequireValue)
	}
	return &PeerSource{
		cluster: cfg.Cluster, client: cfg.Client, header: h, log: cfg.Log.With("component", "live.peer"),
		playlists: map[string]*playlistFlight{}, objects: map[string]*objectFlight{}, down: map[string]time.Time{},
	}
}

// peerURL returns the URL of key at the origin of the node that packages
// its channel, or false when no other node announces it.
func (p *PeerSource) peerURL(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, Prefix(""))
	if !ok {
		return "", false
	}
	channel, _, ok := strings.Cut(rest, "/")
	if !ok || channel == "" {
		return "", false
	}
	base, ok := p.cluster.peerOrigin(channel)
	if !ok {
		return "", false
	}
	p.mu.Lock()
	until, isDown := p.down[base]
	if isDown && time.Now().After(until) {
		delete(p.down, base)
		isDown = false
	}
	p.mu.Unlock()
	if isDown {
		return "", false
	}
	return base + "/" + (&url.URL{Path: key}).EscapedPath(), true
}

// playlistFlight is one upstream playlist request that several viewers
// wait for.
type playlistFlight struct {
	done chan struct{}
	body []byte
	err  error
}

// MediaPlaylist implements origin.LiveSource.
func (p *PeerSource) MediaPlaylist(ctx context.Context, key string, query url.Values) ([]byte, error) {
	u, ok := p.peerURL(key)
	if !ok {
		return nil, origin.ErrNotLive
	}
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	p.mu.Lock()
	f := p.playlists[u]
	if f == nil {
		f = &playlistFlight{done: make(chan struct{})}
		p.playlists[u] = f
		go p.fetchPlaylist(u, f)
	}
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.body, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *PeerSource) fetchPlaylist(u string, f *playlistFlight) {
	defer func() {
		p.mu.Lock()
		delete(p.playlists, u)
		p.mu.Unlock()
		close(f.done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), peerPlaylistTimeout)
	defer cancel()
	resp, err := p.get(ctx, u)
	if err != nil {
		f.err = err
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		f.err = p.unreachable(u, err)
		return
	}
	if resp.StatusCode == http.StatusBadRequest {
		f.err = fmt.Errorf("%w: %s", origin.ErrBadDirective, strings.TrimSpace(string(body)))
		return
	}
	f.body = body
}

// get sends a request to a peer; an answer other than 200 (or 400, whose
// body the caller reads) comes back as the matching source error.
func (p *PeerSource) get(ctx context.Context, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, p.unreachable(u, err)
	}
	req.Header = p.header.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.unreachable(u, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusBadRequest:
		return resp, nil
	case http.StatusNotFound:
		resp.Body.Close()
		return nil, origin.ErrNotFound
	case http.StatusServiceUnavailable:
		resp.Body.Close()
		return nil, origin.ErrHoldTimeout
	}
	resp.Body.Close()
	return nil, p.unreachable(u, fmt.Errorf("status %s", resp.Status))
}

// unreachable logs a failed peer request and leaves the peer alone for
// peerDownFor: the origin serves storage (the stored, whole-segment
// playlists) meanwhile, as it would without the peer.
func (p *PeerSource) unreachable(u string, err error) error {
	p.log.Warn("the channel's ingest node did not answer; serving storage", "url", u, "err", err)
	if pu, perr := url.Parse(u); perr == nil {
		p.mu.Lock()
		p.down[pu.Scheme+"://"+pu.Host] = time.Now().Add(peerDownFor)
		p.mu.Unlock()
	}
	return fmt.Errorf("%w: %v", origin.ErrNotLive, err)
}

// objectFlight is one upstream part or segment request whose bytes every
// viewer asking for it meanwhile reads as they come.
type objectFlight struct {
	ready    chan struct{} // closed once the upstream status is known
	startErr error         // the upstream's answer, when not 200

	mu   sync.Mutex
	buf  []byte
	done bool
	err  error // io.EOF once complete
	wake chan struct{}
}

// Open implements origin.LiveSource.
func (p *PeerSource) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	u, ok := p.peerURL(key)
	if !ok {
		return nil, origin.ErrNotLive
	}
	p.mu.Lock()
	f := p.objects[u]
	if f == nil {
		f = &objectFlight{ready: make(chan struct{}), wake: make(chan struct{})}
		p.objects[u] = f
		go p.fetchObject(u, f)
	}
	p.mu.Unlock()
	// Every viewer learns the upstream status (404, 503, 400) before
	// answering; the bytes then come as the peer sends them.
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &flightReader{f: f}, nil
}

func (p *PeerSource) fetchObject(u string, f *objectFlight) {
	defer func() {
		p.mu.Lock()
		delete(p.objects, u)
		p.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), peerObjectTimeout)
	defer cancel()
	resp, err := p.get(ctx, u)
	if err == nil && resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		err = fmt.Errorf("%w: status %s", origin.ErrBadDirective, resp.Status)
	}
	f.startErr = err
	close(f.ready)
	if err != nil {
		f.finish(err)
		return
	}
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			f.mu.Lock()
			f.buf = append(f.buf, buf[:n]...)
			close(f.wake)
			f.wake = make(chan struct{})
			f.mu.Unlock()
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("reading a live object from the channel's ingest node: %w", err)
			}
			f.finish(err)
			return
		}
	}
}

func (f *objectFlight) finish(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done, f.err = true, err
	close(f.wake)
}

// flightReader reads an objectFlight from the start.
type flightReader struct {
	f      *objectFlight
	off    int
	once   sync.Once
	closed chan struct{}
	mu     sync.Mutex
}

func (r *flightReader) closedCh() chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed == nil {
		r.closed = make(chan struct{})
	}
	return r.closed
}

func (r *flightReader) Read(b []byte) (int, error) {
	closed := r.closedCh()
	for {
		r.f.mu.Lock()
		if r.off < len(r.f.buf) {
			n := copy(b, r.f.buf[r.off:])
			r.off += n
			r.f.mu.Unlock()
			return n, nil
		}
		if r.f.done {
			err := r.f.err
			r.f.mu.Unlock()
			return 0, err
		}
		wake := r.f.wake
		r.f.mu.Unlock()
		select {
		case <-wake:
		case <-closed:
			return 0, errors.New("live: reader closed")
		}
	}
}

func (r *flightReader) Close() error {
	closed := r.closedCh()
	r.once.Do(func() { close(closed) })
	return nil
}
