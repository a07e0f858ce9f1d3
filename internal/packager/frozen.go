package packager

import (
	"slices"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// freeze updates l.frozen for v, the view about to be written after prev:
// renditions whose playlist prev wrote and v no longer lists are frozen
// with that playlist; renditions back in the ladder are live again.
func (l *Live) freeze(prev, v *manifest.View) {
	inLadder := func(w *manifest.View, name string) bool {
		return slices.ContainsFunc(w.Tracks, func(t manifest.Stream) bool { return t.Name == name })
	}
	l.frozen = slices.DeleteFunc(l.frozen, func(f manifest.Frozen) bool { return inLadder(v, f.Name) })
	if prev == nil {
		return
	}
	for _, t := range prev.Tracks {
		if inLadder(v, t.Name) || slices.ContainsFunc(l.frozen, func(f manifest.Frozen) bool { return f.Name == t.Name }) {
			continue
		}
		if pl := prev.MediaPlaylist(t.Name, false); pl != nil {
			l.frozen = append(l.frozen, manifest.Frozen{Name: t.Name, Playlist: pl})
			l.log.Info("rendition left the ladder; its playlist stays as it is until the session ends", "rendition", t.Name)
		}
	}
	slices.SortFunc(l.frozen, func(a, b manifest.Frozen) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
}
