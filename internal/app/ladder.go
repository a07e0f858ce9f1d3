package app

import (
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// TranscodeLadder converts a configured ladder (the YAML shape) to the
// transcoder's own, field by field. It applies no defaults: both sides'
// WithDefaults fill in the same values, so converting before or after
// them gives the same ladder.
func TranscodeLadder(l config.Ladder) transcode.Ladder {
	var video []transcode.Rung
	if l.Video != nil {
		video = make([]transcode.Rung, len(l.Video))
	}
	for i, r := range l.Video {
		video[i] = transcode.Rung{
			Name:       r.Name,
			Height:     r.Height,
			Bitrate:    r.Bitrate,
			MaxBitrate: r.MaxBitrate,
			Profile:    r.Profile,
			MaxFPS:     r.MaxFPS,
		}
	}
	return transcode.Ladder{
		Video: video,
		Audio: transcode.AudioRung{
			Bitrate:    l.Audio.Bitrate,
			SampleRate: l.Audio.SampleRate,
			Channels:   l.Audio.Channels,
		},
		Passthrough: l.Passthrough,
		Preset:      l.Preset,
		Tune:        l.Tune,
		Lookahead:   l.Lookahead,
	}
}
