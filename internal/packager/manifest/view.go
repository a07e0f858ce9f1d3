package manifest

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// View is everything the manifests are rendered from: what a live session
// has published, or a whole VOD. The live packager takes one at each
// manifest write; state.json keeps the last one (as a Record) so that
// recovery renders the ended manifests after a crash with the very code
// the end of a session uses.
type View struct {
	SegDur    time.Duration // configured segment duration (MPD minBufferTime)
	MaxSegDur time.Duration // longest published segment (target duration)
	Tracks    []Stream      // the ladder the manifests list, in order
	Rends     map[string]*Rendition
	Window    []*Segment // records are never modified once published
	// Dir is the session directory under the prefix that holds the
	// renditions ("s{k}"); "" when they are straight under the prefix
	// (VOD, and live sessions of the earlier layout).
	Dir string
	// Frozen are the playlists of renditions that left the ladder during
	// a live session (see Frozen); never modified once taken.
	Frozen []Frozen
	// Published is when the window's last segment was published (live).
	Published time.Time

	// VOD only.
	VOD  bool       // audio renditions without label or language are "Audio N"
	Subs []Subtitle // sidecar WebVTT subtitles
}

// Stream is a rendition of the ladder as the manifests see it.
type Stream struct {
	Name string
	Kind media.Kind
	TS   uint32
}

// Rendition is what the manifests say of a rendition; it is also its
// persisted form.
type Rendition struct {
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

// PlaylistPath is the path of a rendition's media playlist relative to the
// prefix (and to the multivariant playlist).
func (v *View) PlaylistPath(name string) string {
	return JoinKey(v.Dir, name+"/"+PlaylistName)
}

// End is when the window's last segment ends, since the Unix epoch.
func (v *View) End() time.Duration {
	var end time.Duration
	if len(v.Window) > 0 {
		last := v.Window[len(v.Window)-1]
		for _, e := range last.Entries {
			end = max(end, timeline.SinceEpoch(e.T+e.D, e.TS))
		}
	}
	return end
}
