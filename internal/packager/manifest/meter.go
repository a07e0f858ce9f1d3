package manifest

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// Meter is what the manifests and stats know of a rendition: how it was
// described (its init segment's Info, the declared bitrates, language and
// label) and what its published segments measure. Describe turns it into
// the Rendition the manifests list.
type Meter struct {
	Name        string
	Language    string
	Label       string
	Default     bool
	Info        cmaf.Info
	Declared    int // declared average bits/s, 0 if unknown
	DeclaredMax int // declared peak bits/s, 0 if unknown

	Bytes    int64         // of the segments measured
	Dur      time.Duration // of the segments measured
	Peak     int           // highest segment bitrate, bits/s
	Segments int64
	FPS      float64 // measured over a segment of the latest epoch
	FPSEpoch int     // the epoch FPS was measured in
}

// Average is the declared average bitrate, else the measured one.
func (r *Meter) Average() int {
	if r.Declared > 0 {
		return r.Declared
	}
	if r.Dur > 0 {
		return int(float64(r.Bytes*8) / r.Dur.Seconds())
	}
	return 0
}

// PeakRate is max(declared peak, measured peak segment bitrate), falling
// back to the average.
func (r *Meter) PeakRate() int {
	p := max(r.DeclaredMax, r.Peak)
	if p == 0 {
		p = r.Average()
	}
	return max(p, r.Average())
}

// Add adds a published entry of the rendition to its measurements and
// returns its duration (0 for a gap). Segments shorter than half segDur do
// not count for the peak bitrate.
func (ri *Meter) Add(e *Entry, kind media.Kind, segDur time.Duration, epoch int) time.Duration {
	if e.Gap {
		return 0
	}
	d := timeline.Duration(e.D, e.TS)
	ri.Segments++
	ri.Bytes += int64(e.Size)
	ri.Dur += d
	if d >= segDur/2 {
		ri.Peak = max(ri.Peak, int(float64(e.Size*8)/d.Seconds()))
	}
	if kind == media.Video && e.Count >= 2 && d > 0 && (ri.FPS == 0 || ri.FPSEpoch != epoch) {
		ri.FPS = float64(e.Count) / d.Seconds()
		ri.FPSEpoch = epoch
	}
	return d
}

// Describe is what the manifests say of the rendition.
func (r *Meter) Describe() *Rendition {
	return &Rendition{
		Name: r.Name, Codecs: r.Info.Codecs, Width: r.Info.Width, Height: r.Info.Height,
		SarW: r.Info.SarW, SarH: r.Info.SarH, SampleRate: r.Info.SampleRate, Channels: r.Info.Channels,
		Bandwidth: r.PeakRate(), Average: r.Average(), FrameRate: r.FPS,
		Language: r.Language, Label: r.Label, Default: r.Default,
	}
}
