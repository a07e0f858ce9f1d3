package packager

import (
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// view is everything the manifests are rendered from: what a session has
// published. Live takes one at each manifest write; state.json keeps the
// last one (see session.go) so that Recover can render the ended manifests
// after a crash with the very code End uses.
type view struct {
	segDur    time.Duration // configured segment duration (MPD minBufferTime)
	maxSegDur time.Duration // longest published segment (target duration)
	tracks    []trackRef    // the ladder the manifests list, in order
	rends     map[string]*rendView
	window    []*segRecord // records are never modified once published
	// dir is the session directory under the prefix that holds the
	// renditions ("s{k}"); "" when they are straight under the prefix
	// (VOD, and live sessions of the earlier layout).
	dir string
	// frozen are the playlists of renditions that left the ladder during
	// a live session (see frozen.go); never modified once taken.
	frozen []frozenPlaylist
	// published is when the window's last segment was published (live).
	published time.Time

	// VOD only.
	vod  bool       // audio renditions without label or language are "Audio N"
	subs []Subtitle // sidecar WebVTT subtitles
}

// trackRef is a rendition of the ladder as the manifests see it.
type trackRef struct {
	name string
	kind media.Kind
	ts   uint32
}

// rendView is what the manifests say of a rendition; it is also its
// persisted form.
type rendView struct {
	Name       string  `json:"name"`
	Codecs     string  `json:"codecs"`
	Width      int     `json:"w,omitempty"`
	Height     int     `json:"h,omitempty"`
	SarW       int     `json:"sar_w,omitempty"`
	SarH       int     `json:"sar_h,omitempty"`
	SampleRate int     `json:"rate,omitempty"`
	Channels   int     `json:"ch,omitempty"`
	Bandwidth  int     `json:"bw"`            // peak bits/s
	Average    int     `json:"avg,omitempty"` // average bits/s
	FrameRate  float64 `json:"fps,omitempty"`
	Language   string  `json:"lang,omitempty"`
	Label      string  `json:"label,omitempty"`
	Default    bool    `json:"default,omitempty"`
}

func (r *rendInfo) view() *rendView {
	return &rendView{
		Name: r.name, Codecs: r.info.Codecs, Width: r.info.Width, Height: r.info.Height,
		SarW: r.info.SarW, SarH: r.info.SarH, SampleRate: r.info.SampleRate, Channels: r.info.Channels,
		Bandwidth: r.peakRate(), Average: r.average(), FrameRate: r.fps,
		Language: r.language, Label: r.label, Default: r.def,
	}
}

// snapshot takes the view of what is published now. The ladder is the one
// of the epoch that published last, so the manifests keep listing the
// renditions viewers know until a new epoch publishes. It changes nothing:
// the view has no frozen playlists yet (see writeManifests).
func (l *Live) snapshot() *view {
	v := &view{
		segDur:    l.cfg.SegmentDuration,
		maxSegDur: l.maxSegDur,
		tracks:    l.pubTracks,
		rends:     make(map[string]*rendView, len(l.pubTracks)),
		window:    slices.Clone(l.window),
		dir:       l.dir,
		published: l.lastPublish,
	}
	add := func(name string) {
		if ri := l.rends[name]; ri != nil && v.rends[name] == nil {
			v.rends[name] = ri.view()
		}
	}
	for _, t := range v.tracks {
		add(t.name)
	}
	for _, r := range v.window {
		for i := range r.entries {
			add(r.entries[i].name)
		}
	}
	return v
}

// playlistPath is the path of a rendition's media playlist relative to the
// prefix (and to the multivariant playlist).
func (v *view) playlistPath(name string) string {
	return joinKey(v.dir, name+"/"+playlistName)
}

// trackRefs lists an epoch's ladder.
func trackRefs(ts []*track) []trackRef {
	refs := make([]trackRef, len(ts))
	for i, t := range ts {
		refs[i] = trackRef{name: t.name, kind: t.kind, ts: t.ts}
	}
	return refs
}
