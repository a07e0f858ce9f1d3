package asset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dash"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// vodKey is the object, under an asset's prefix, that the VOD manifests are
// rendered from.
const vodKey = "vod.json"

// vodState is the content of vod.json: the view End rendered the manifests
// from, in the form state.json keeps a live session's (see session.go).
type vodState struct {
	Version   int              `json:"version"`
	Published time.Time        `json:"published"` // MPD@publishTime
	Session   *manifest.Record `json:"session"`
}

// Subtitle is a sidecar WebVTT file of an asset.
type Subtitle = manifest.Subtitle

// Publish re-renders the manifests of an already-ended VOD under prefix
// from its vod.json, listing the given sidecar WebVTT subtitles: in HLS a
// SUBTITLES group "subs" whose media playlists subs/{name}.m3u8 have one
// segment, the whole file, lasting the whole presentation; in DASH a text
// AdaptationSet per subtitle whose Representation's BaseURL is the file.
// An empty list renders the manifests without subtitles. Each manifest is
// replaced atomically, the multivariant playlist last; the WebVTT files
// must be stored before. Rendering is deterministic, so running it again
// with the same list writes the same bytes.
func Publish(ctx context.Context, store storage.Store, prefix string, subtitles []Subtitle) error {
	if store == nil {
		return errors.New("packager: nil store")
	}
	st, err := loadVOD(ctx, store, prefix)
	if err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	vw, err := st.Session.View()
	if err != nil {
		return fmt.Errorf("packager: %s: %w", vodKey, err)
	}
	vw.VOD = true
	if err := checkSubtitles(vw, subtitles); err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	vw.Subs = slices.Clone(subtitles)
	if err := writeVOD(ctx, store, prefix, vw, st, false); err != nil {
		return fmt.Errorf("packager: publishing VOD: %w", err)
	}
	return nil
}

func loadVOD(ctx context.Context, store storage.Store, prefix string) (*vodState, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	obj, err := store.Open(ctx, manifest.JoinKey(prefix, vodKey))
	if err != nil {
		return nil, fmt.Errorf("opening %s (has the VOD ended?): %w", vodKey, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", vodKey, err)
	}
	var st vodState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", vodKey, err)
	}
	if st.Session == nil {
		return nil, fmt.Errorf("%s: no session", vodKey)
	}
	return &st, nil
}

// checkSubtitles rejects names that are not path elements or are repeated,
// playlists that would replace a rendition's, and paths that are not keys
// under the prefix.
func checkSubtitles(vw *manifest.View, subs []Subtitle) error {
	seen := map[string]bool{}
	for i, s := range subs {
		if !manifest.ValidName(s.Name) || seen[s.Name] {
			return fmt.Errorf("subtitle %d: invalid or duplicate name %q", i, s.Name)
		}
		seen[s.Name] = true
		for _, t := range vw.Tracks {
			if t.Name+"/"+manifest.PlaylistName == manifest.SubtitlePlaylistKey(s.Name) {
				return fmt.Errorf("subtitle %s: its playlist would replace rendition %s's", s.Name, t.Name)
			}
		}
		for _, el := range strings.Split(s.Path, "/") {
			if !manifest.ValidName(el) {
				return fmt.Errorf("subtitle %s: path %q is not a key relative to the prefix", s.Name, s.Path)
			}
		}
	}
	return nil
}

// WriteView stores vw as the VOD under prefix: vod.json (so that Publish
// can render it again, with subtitles), then its manifests, the
// multivariant playlist last, with published as the MPD's publishTime.
// The media and init segments vw lists must be stored before.
func WriteView(ctx context.Context, store storage.Store, prefix string, vw *manifest.View, published time.Time) error {
	vw.VOD = true
	st := &vodState{Version: 1, Published: published.UTC().Truncate(time.Millisecond), Session: manifest.Encode(vw, false)}
	return writeVOD(ctx, store, prefix, vw, st, true)
}

// writeVOD stores vod.json (when saveState), the subtitle and media
// playlists, the MPD and the multivariant playlist last. It stops at the
// first failure.
func writeVOD(ctx context.Context, store storage.Store, prefix string, vw *manifest.View, st *vodState, saveState bool) error {
	put := func(rel string, data []byte) error {
		ctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := store.Put(ctx, manifest.JoinKey(prefix, rel), data); err != nil {
			return fmt.Errorf("storing %s: %w", rel, err)
		}
		return nil
	}
	if saveState {
		data, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("encoding %s: %w", vodKey, err)
		}
		if err := put(vodKey, data); err != nil {
			return err
		}
	}
	dur := vw.Duration()
	for _, s := range vw.Subs {
		if err := put(manifest.SubtitlePlaylistKey(s.Name), manifest.SubtitlePlaylist(s, dur)); err != nil {
			return err
		}
	}
	for _, t := range vw.Tracks {
		if err := put(t.Name+"/"+manifest.PlaylistName, vw.VODPlaylist(t.Name)); err != nil {
			return err
		}
	}
	mpd, err := dash.Marshal(vw.VODMPD(st.Published))
	if err != nil {
		return err
	}
	if err := put(manifest.MPDKey, mpd); err != nil {
		return err
	}
	return put(manifest.MultivariantKey, vw.Multivariant())
}
