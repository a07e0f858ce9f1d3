package packager

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
	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// vodKey is the object, under an asset's prefix, that the VOD manifests are
// rendered from.
const vodKey = "vod.json"

// subtitleTextBandwidth is the nominal bandwidth of a WebVTT Representation.
const subtitleTextBandwidth = 256

// vodState is the content of vod.json: the view End rendered the manifests
// from, in the form state.json keeps a live session's (see session.go).
type vodState struct {
	Version   int           `json:"version"`
	Published time.Time     `json:"published"` // MPD@publishTime
	Session   *sessionState `json:"session"`
}

// Subtitle is a sidecar WebVTT file of an asset.
type Subtitle struct {
	Name     string // path element, e.g. "en"
	Language string // BCP 47
	Label    string // e.g. "English"; "" derives one from Language
	Path     string // key relative to prefix of a complete WebVTT file, e.g. "subs/en.vtt"
	Default  bool
}

// PublishVOD re-renders the manifests of an already-ended VOD under prefix
// from its vod.json, listing the given sidecar WebVTT subtitles: in HLS a
// SUBTITLES group "subs" whose media playlists subs/{name}.m3u8 have one
// segment, the whole file, lasting the whole presentation; in DASH a text
// AdaptationSet per subtitle whose Representation's BaseURL is the file.
// An empty list renders the manifests without subtitles. Each manifest is
// replaced atomically, the multivariant playlist last; the WebVTT files
// must be stored before. Rendering is deterministic, so running it again
// with the same list writes the same bytes.
func PublishVOD(ctx context.Context, store storage.Store, prefix string, subtitles []Subtitle) error {
	if store == nil {
		return errors.New("packager: nil store")
	}
	st, err := loadVOD(ctx, store, prefix)
	if err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	vw, err := st.Session.view()
	if err != nil {
		return fmt.Errorf("packager: %s: %w", vodKey, err)
	}
	vw.vod = true
	if err := checkSubtitles(vw, subtitles); err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	vw.subs = slices.Clone(subtitles)
	if err := writeVOD(ctx, store, prefix, vw, st, false); err != nil {
		return fmt.Errorf("packager: publishing VOD: %w", err)
	}
	return nil
}

func loadVOD(ctx context.Context, store storage.Store, prefix string) (*vodState, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	obj, err := store.Open(ctx, joinKey(prefix, vodKey))
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
func checkSubtitles(vw *view, subs []Subtitle) error {
	seen := map[string]bool{}
	for i, s := range subs {
		if !validName(s.Name) || seen[s.Name] {
			return fmt.Errorf("subtitle %d: invalid or duplicate name %q", i, s.Name)
		}
		seen[s.Name] = true
		for _, t := range vw.tracks {
			if t.name+"/"+playlistName == subtitlePlaylistKey(s.Name) {
				return fmt.Errorf("subtitle %s: its playlist would replace rendition %s's", s.Name, t.name)
			}
		}
		for _, el := range strings.Split(s.Path, "/") {
			if !validName(el) {
				return fmt.Errorf("subtitle %s: path %q is not a key relative to the prefix", s.Name, s.Path)
			}
		}
	}
	return nil
}

// writeVOD stores vod.json (when saveState), the subtitle and media
// playlists, the MPD and the multivariant playlist last. It stops at the
// first failure.
func writeVOD(ctx context.Context, store storage.Store, prefix string, vw *view, st *vodState, saveState bool) error {
	put := func(rel string, data []byte) error {
		ctx, cancel := context.WithTimeout(ctx, storeTimeout)
		defer cancel()
		if err := store.Put(ctx, joinKey(prefix, rel), data); err != nil {
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
	dur := vw.duration()
	for _, s := range vw.subs {
		if err := put(subtitlePlaylistKey(s.Name), subtitlePlaylist(s, dur)); err != nil {
			return err
		}
	}
	for _, t := range vw.tracks {
		if err := put(t.name+"/"+playlistName, vw.vodPlaylist(t.name)); err != nil {
			return err
		}
	}
	mpd, err := dash.Marshal(vw.vodMPD(st.Published))
	if err != nil {
		return err
	}
	if err := put(mpdKey, mpd); err != nil {
		return err
	}
	return put(multivariantKey, vw.multivariant())
}

// duration is the presentation duration: from the earliest segment start
// to the end of the lead's last segment (as the static MPD says).
func (v *view) duration() time.Duration {
	last := v.window[len(v.window)-1]
	le := last.entry(last.lead)
	return timeline.SinceEpoch(le.t+le.d, le.ts) - v.window[0].start()
}

// vodPlaylist is the ended media playlist of a rendition, as a VOD one:
// EXT-X-PLAYLIST-TYPE:VOD and no program date times (media time starts at 0).
func (v *view) vodPlaylist(name string) []byte {
	p := v.mediaPlaylist(name, true)
	p.PlaylistType = "VOD"
	for i := range p.Segments {
		p.Segments[i].ProgramDateTime = time.Time{}
	}
	return p.Marshal()
}

// vodMPD is the static MPD of every segment, with a text AdaptationSet per
// subtitle.
func (v *view) vodMPD(published time.Time) *dash.MPD {
	m := v.mpdModel(true, published, nil)
	p := &m.Periods[len(m.Periods)-1] // a VOD has one period
	names := map[string]bool{}
	for _, s := range v.subs {
		as := dash.AdaptationSet{
			ID: uint32(len(p.AdaptationSets) + 1), ContentType: "text", Lang: s.Language,
			Label: uniqueName(names, subtitleLabel(s), s.Name), Role: "subtitle",
			Representations: []dash.Representation{{ID: "subs-" + s.Name, Bandwidth: subtitleTextBandwidth, BaseURL: s.Path}},
		}
		if as.Lang == "" {
			as.Lang = "und"
		}
		if s.Default {
			as.SelectionPriority = 2
		}
		p.AdaptationSets = append(p.AdaptationSets, as)
	}
	return m
}

// subtitleRenditions lists the subtitles as EXT-X-MEDIA entries of the
// group "subs" (at most one DEFAULT=YES, the first marked Default).
func (v *view) subtitleRenditions() []hls.Rendition {
	var out []hls.Rendition
	names := map[string]bool{}
	hasDefault := false
	for _, s := range v.subs {
		def := s.Default && !hasDefault
		hasDefault = hasDefault || def
		out = append(out, hls.Rendition{
			Type: hls.Subtitles, GroupID: subtitleGroup, Name: uniqueName(names, subtitleLabel(s), s.Name),
			Language: s.Language, Default: def, Autoselect: true, URI: subtitlePlaylistKey(s.Name),
		})
	}
	return out
}

func subtitleLabel(s Subtitle) string {
	switch {
	case s.Label != "":
		return s.Label
	case s.Language != "":
		return languageName(s.Language)
	}
	return s.Name
}

func subtitlePlaylistKey(name string) string { return subtitleGroup + "/" + name + ".m3u8" }

// subtitlePlaylist is the media playlist of a sidecar WebVTT file: one
// segment, the whole file, for the whole presentation.
func subtitlePlaylist(s Subtitle, dur time.Duration) []byte {
	uri := "../" + s.Path // relative to the playlist, in subs/
	if rest, ok := strings.CutPrefix(s.Path, subtitleGroup+"/"); ok {
		uri = rest
	}
	p := hls.MediaPlaylist{
		TargetDuration: hls.TargetDuration(dur),
		PlaylistType:   "VOD",
		EndList:        true,
		Segments:       []hls.Segment{{URI: uri, Duration: dur}},
	}
	return p.Marshal()
}
