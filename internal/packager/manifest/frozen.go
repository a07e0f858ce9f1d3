package manifest

import "github.com/ospreyvideo/osprey/internal/packager/hls"

// Frozen is the media playlist of a rendition that left the ladder
// during the session (a transcoder restart with a smaller ladder, such as
// load shedding dropping the top rung), as it was last written. While the
// session is live it stays as it is: players on that variant switch away
// from a playlist that stops updating, where EXT-X-ENDLIST would end their
// playback. When the session ends (End, or Recover after a crash) it is
// written again with EXT-X-ENDLIST, so that no playlist of an ended session
// stays live. It is kept in state.json for Recover.
type Frozen struct {
	Name     string             `json:"name"`
	Playlist *hls.MediaPlaylist `json:"playlist"`
}

// EndFrozen returns the ended form of each frozen playlist of v, by key
// relative to the prefix.
func (v *View) EndFrozen() (keys []string, playlists [][]byte) {
	for _, f := range v.Frozen {
		p := *f.Playlist
		p.EndList = true
		keys = append(keys, v.PlaylistPath(f.Name))
		playlists = append(playlists, p.Marshal())
	}
	return keys, playlists
}
