package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// The Manager is the origin's LiveSource (origin.Config.Live) on a node
// that packages live channels: the origin asks it, by storage key, for the
// low-latency edge of the sessions running here, which exists only in their
// packager's memory, and serves from storage whatever it does not serve.

// memServer is what the adapter asks of a session's packager;
// *packager.Live has it.
type memServer interface {
	Playlist(ctx context.Context, dir, rendition string, query url.Values) ([]byte, error)
	MPD(ctx context.Context) ([]byte, error)
	Part(ctx context.Context, dir, rendition string, n uint64, k int) (io.ReadCloser, error)
}

// liveKey is a storage key of a session's rendition:
// live/{channel}/{dir}/{rendition}/{file}.
type liveKey struct {
	channel, dir, rendition string
	mpd                     bool   // the channel's MPD (no dir, no rendition)
	playlist                bool   // file is the media playlist
	n                       uint64 // segment number ({n}.m4s, {n}.{k}.m4s)
	k                       int    // part index; -1: the whole segment
}

// parseLiveKey reads a key the packager serves from memory: a media
// playlist, a segment or a part, in a session directory. It reports false
// for anything else (multivariant playlist, MPD, init segments, VoD keys,
// names the packager never writes, such as a number with a leading zero).
func parseLiveKey(key string) (liveKey, bool) {
	rest, ok := strings.CutPrefix(key, Prefix("")) // "live/"
	if !ok {
		return liveKey{}, false
	}
	elems := strings.Split(rest, "/")
	if len(elems) == 2 && elems[0] != "" && elems[1] == manifest.MPDKey {
		return liveKey{channel: elems[0], mpd: true, k: -1}, true
	}
	if len(elems) != 4 || elems[0] == "" || !manifest.ValidDir(elems[1]) || !manifest.ValidName(elems[2]) {
		return liveKey{}, false
	}
	lk := liveKey{channel: elems[0], dir: elems[1], rendition: elems[2], k: -1}
	file := elems[3]
	if file == manifest.PlaylistName {
		lk.playlist = true
		return lk, true
	}
	name, ok := strings.CutSuffix(file, ".m4s")
	if !ok {
		return liveKey{}, false
	}
	ns, ks, isPart := strings.Cut(name, ".")
	if lk.n, ok = number(ns); !ok {
		return liveKey{}, false
	}
	if isPart {
		k, ok := number(ks)
		if !ok || k > uint64(maxPart) {
			return liveKey{}, false
		}
		lk.k = int(k)
	}
	return lk, true
}

// maxPart bounds a part index: far more parts than a segment ever has.
const maxPart = 1 << 20

// number parses a decimal number as the packager writes it: digits only,
// no leading zero (but "0" itself).
func number(s string) (uint64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// server returns the packager of the channel's session on this node, or
// nil when there is none (no session, or one whose packager has not
// started).
func (m *Manager) server(channelID string) memServer {
	m.mu.Lock()
	s := m.sessions[channelID]
	m.mu.Unlock()
	if s == nil {
		return nil
	}
	if pkg := s.out.pkg.Load(); pkg != nil {
		return pkg
	}
	return nil
}

// MediaPlaylist implements origin.LiveSource: the media playlist of a
// rendition of a session running on this node, with the delivery
// directives of query. origin.ErrNotLive for any other key.
func (m *Manager) MediaPlaylist(ctx context.Context, key string, query url.Values) ([]byte, error) {
	lk, ok := parseLiveKey(key)
	if !ok || !lk.playlist && !lk.mpd {
		return nil, origin.ErrNotLive
	}
	return playlistFrom(ctx, m.server(lk.channel), lk, query)
}

// Open implements origin.LiveSource: a part or a segment of a session
// running on this node, as it is produced. origin.ErrNotLive for any other
// key, and for a segment no longer in memory (storage has it).
func (m *Manager) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	lk, ok := parseLiveKey(key)
	if !ok || lk.playlist || lk.mpd {
		return nil, origin.ErrNotLive
	}
	return openFrom(ctx, m.server(lk.channel), lk)
}

func playlistFrom(ctx context.Context, srv memServer, lk liveKey, query url.Values) ([]byte, error) {
	if srv == nil {
		return nil, origin.ErrNotLive
	}
	var b []byte
	var err error
	if lk.mpd {
		b, err = srv.MPD(ctx)
	} else {
		b, err = srv.Playlist(ctx, lk.dir, lk.rendition, query)
	}
	if err != nil {
		return nil, sourceError(err, false)
	}
	return b, nil
}

func openFrom(ctx context.Context, srv memServer, lk liveKey) (io.ReadCloser, error) {
	if srv == nil {
		return nil, origin.ErrNotLive
	}
	rc, err := srv.Part(ctx, lk.dir, lk.rendition, lk.n, lk.k)
	if err != nil {
		return nil, sourceError(err, lk.k >= 0)
	}
	return rc, nil
}

// sourceError maps the packager's errors to the origin's. ErrNoPart is
// final for a part (parts are never stored) but not for a whole segment:
// one too old to be held in memory is in storage.
func sourceError(err error, part bool) error {
	switch {
	case errors.Is(err, packager.ErrNotServed):
		return origin.ErrNotLive
	case errors.Is(err, packager.ErrNoPart) && !part:
		return origin.ErrNotLive
	case errors.Is(err, packager.ErrNoPart):
		return fmt.Errorf("%w: %w", origin.ErrNotFound, err)
	case errors.Is(err, packager.ErrHoldTimeout):
		return fmt.Errorf("%w: %w", origin.ErrHoldTimeout, err)
	case errors.Is(err, hls.ErrBadDirective):
		// The origin's 400 body: "bad delivery directive: _HLS_msn=...".
		return fmt.Errorf("%w: %w", origin.ErrBadDirective, err)
	}
	return err
}
