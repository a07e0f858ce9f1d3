package packager

import (
	"slices"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// snapshot takes the view of what is published now. The ladder is the one
// of the epoch that published last, so the manifests keep listing the
// renditions viewers know until a new epoch publishes. It changes nothing:
// the view has no frozen playlists yet (see writeManifests).
func (l *Live) snapshot() *manifest.View {
	v := &manifest.View{
		SegDur:    l.cfg.SegmentDuration,
		MaxSegDur: l.maxSegDur,
		Tracks:    l.pubTracks,
		Rends:     make(map[string]*manifest.Rendition, len(l.pubTracks)),
		Window:    slices.Clone(l.window),
		Dir:       l.dir,
		Published: l.lastPublish,
	}
	add := func(name string) {
		if ri := l.rends[name]; ri != nil && v.Rends[name] == nil {
			v.Rends[name] = ri.Describe()
		}
	}
	for _, t := range v.Tracks {
		add(t.Name)
	}
	for _, r := range v.Window {
		for i := range r.Entries {
			add(r.Entries[i].Name)
		}
	}
	return v
}
