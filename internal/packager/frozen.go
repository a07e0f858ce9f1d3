package packager

import (
	"slices"

	"github.com/ospreyvideo/osprey/internal/packager/hls"
)

// frozenPlaylist is the media playlist of a rendition that left the ladder
// during the session (a transcoder restart with a smaller ladder, such as
// load shedding dropping the top rung), as it was last written. While the
// session is live it stays as it is: players on that variant switch away
// from a playlist that stops updating, where EXT-X-ENDLIST would end their
// playback. When the session ends (End, or Recover after a crash) it is
// written again with EXT-X-ENDLIST, so that no playlist of an ended session
// stays live. It is kept in state.json for Recover.
type frozenPlaylist struct {
	Name     string             `json:"name"`
	Playlist *hls.MediaPlaylist `json:"playlist"`
}

// freeze updates l.frozen for v, the view about to be written after prev:
// renditions whose playlist prev wrote and v no longer lists are frozen
// with that playlist; renditions back in the ladder are live again.
func (l *Live) freeze(prev, v *view) {
	inLadder := func(w *view, name string) bool {
		return slices.ContainsFunc(w.tracks, func(t trackRef) bool { return t.name == name })
	}
	l.frozen = slices.DeleteFunc(l.frozen, func(f frozenPlaylist) bool { return inLadder(v, f.Name) })
	if prev == nil {
		return
	}
	for _, t := range prev.tracks {
		if inLadder(v, t.name) || slices.ContainsFunc(l.frozen, func(f frozenPlaylist) bool { return f.Name == t.name }) {
			continue
		}
		if pl := prev.mediaPlaylist(t.name, false); pl != nil {
			l.frozen = append(l.frozen, frozenPlaylist{Name: t.name, Playlist: pl})
			l.log.Info("rendition left the ladder; its playlist stays as it is until the session ends", "rendition", t.name)
		}
	}
	slices.SortFunc(l.frozen, func(a, b frozenPlaylist) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
}

// endFrozen returns the ended form of each frozen playlist of v, by key
// relative to the prefix.
func (v *view) endFrozen() (keys []string, playlists [][]byte) {
	for _, f := range v.frozen {
		p := *f.Playlist
		p.EndList = true
		keys = append(keys, v.playlistPath(f.Name))
		playlists = append(playlists, p.Marshal())
	}
	return keys, playlists
}
