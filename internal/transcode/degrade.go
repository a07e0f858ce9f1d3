package transcode

import (
	"fmt"
	"slices"

	"github.com/ospreyvideo/osprey/internal/media"
)

// x264 presets, fastest first.
var x264Presets = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"}

// Degrade returns the plan one step cheaper to encode, for a transcoder that
// cannot keep up with real time, and what it changed; ok is false when
// nothing is left to shed. The steps, in order, as a hardware encoder
// sheds load: drop the tallest encoded rung (once, and only if another
// encoded rung remains), then a faster x264 preset (veryfast if the preset
// is slower, then ultrafast), then half the frame rate (every other input
// frame; not with a passthrough rung, whose keyframes the encoded rungs
// copy). The passthrough rung and audio are never touched.
func (p Plan) Degrade() (next Plan, reason string, ok bool) {
	next = p
	next.Renditions = slices.Clone(p.Renditions)
	var encoded []int
	for i, r := range p.Renditions {
		if r.Track.Kind == media.Video && !r.passthrough {
			encoded = append(encoded, i)
		}
	}
	if len(encoded) == 0 {
		return p, "", false
	}
	if !p.droppedTop && len(encoded) > 1 {
		top := encoded[0]
		for _, i := range encoded[1:] {
			if p.Renditions[i].Track.Height*p.Renditions[i].Track.Width > p.Renditions[top].Track.Height*p.Renditions[top].Track.Width {
				top = i
			}
		}
		next.Renditions = slices.Delete(next.Renditions, top, top+1)
		next.droppedTop = true
		return next, fmt.Sprintf("dropped the top rung %s", p.Renditions[top].Name), true
	}
	if faster := fasterPreset(p.Preset); faster != "" {
		next.Preset = faster
		return next, fmt.Sprintf("x264 preset %s instead of %s", faster, p.Preset), true
	}
	if !p.halfRate && !p.hasPassthrough() {
		next.halfRate = true
		return next, "half the frame rate", true
	}
	return p, "", false
}

// fasterPreset is veryfast for a slower preset, ultrafast for a faster
// one, "" for ultrafast (or a preset x264 does not know).
func fasterPreset(preset string) string {
	i := slices.Index(x264Presets, preset)
	switch {
	case i < 0 || i == 0:
		return ""
	case i > 2:
		return "veryfast"
	}
	return "ultrafast"
}
