// Package transcode supervises ffmpeg as the live transcoder of a channel.
//
// Media reach ffmpeg and come back over pipes only: the Supervisor muxes the
// publisher's units into MPEG-TS on ffmpeg's stdin, ffmpeg decodes once,
// splits and scales into every rung of the ladder with keyframes forced at the
// same instants, and writes all renditions as one MPEG-TS on stdout, which the
// Supervisor demuxes back into units for the packager. Timestamps are carried
// through untouched (-copyts), so every rendition stays on the session timeline.
//
// ffmpeg does codec work only. Ladder planning, the process lifecycle,
// restarts, progress and lag tracking are Go.
package transcode

import (
	"fmt"
	"slices"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Rendition is one output of the transcoder: a video rung or the audio.
type Rendition struct {
	Name       string
	Track      *media.Track // codec parameters; complete (SPS/PPS, AudioConfig) when handed to Output.Begin
	Bitrate    int          // declared average bits/s; 0 when unknown (passthrough)
	MaxBitrate int          // declared peak bits/s; 0 when unknown

	// Audio renditions of files (NewFilePlan): the source stream's
	// language (ISO 639, "" when unknown) and title, and whether players
	// should pick it by default. Live plans leave them empty.
	Language string
	Label    string
	Default  bool

	// How ffmpeg makes it.
	input       int    // index of the input track it comes from
	passthrough bool   // copied, not encoded
	profile     string // H.264 profile
	fps         string // file runs: output frame rate for ffmpeg's fps filter; "" keeps the input's
}

// Plan is the ladder chosen for one input: which renditions ffmpeg produces.
type Plan struct {
	Renditions []Rendition
	Preset     string
	Tune       string
	Lookahead  bool // live runs: keep the preset's lookahead, B-frames and frame threads (Ladder.Lookahead)

	// File runs: the rate a variable-frame-rate source is made constant
	// at, before the split into rungs; "" when it is not needed.
	cfr string

	// Live runs shedding load (Degrade): the top rung was dropped; every
	// other input frame is dropped before the split.
	droppedTop bool
	halfRate   bool
}

// NewPlan chooses the renditions of ladder for the input tracks: every video
// rung whose height fits the input's short side (never upscaling; a rung's
// height is the short side, so portrait video keeps its orientation; a
// smaller input gets a single rung at its own size), the passthrough rung
// first if the ladder asks for it, and one AAC rendition when the input has
// audio. Only the first video and the first audio track of the input are used.
// Empty fields of ladder take their defaults (Ladder.WithDefaults).
func NewPlan(ladder Ladder, input []*media.Track) (Plan, error) {
	ladder = ladder.WithDefaults()
	p := Plan{Preset: ladder.Preset, Tune: ladder.Tune, Lookahead: ladder.Lookahead}
	vi, ai := firstOfKind(input, media.Video), firstOfKind(input, media.Audio)
	if vi < 0 && ai < 0 {
		return Plan{}, fmt.Errorf("input has neither video nor audio")
	}
	if vi >= 0 {
		in := input[vi]
		if in.Width <= 0 || in.Height <= 0 {
			return Plan{}, fmt.Errorf("input video size unknown")
		}
		if ladder.Passthrough {
			p.Renditions = append(p.Renditions, Rendition{
				Name:        "source",
				Track:       &media.Track{Kind: media.Video, Codec: in.Codec, Width: in.Width, Height: in.Height},
				input:       vi,
				passthrough: true,
			})
		}
		for _, r := range chooseRungs(ladder.Video, min(in.Width, in.Height)) {
			w, h := scaledSize(in.Width, in.Height, r.Height)
			p.Renditions = append(p.Renditions, encodedRung(r, w, h, vi))
		}
	}
	if ai >= 0 {
		a := ladder.Audio
		p.Renditions = append(p.Renditions, Rendition{
			Name:       "audio",
			Track:      &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: a.SampleRate, Channels: a.Channels},
			Bitrate:    a.Bitrate,
			MaxBitrate: a.Bitrate,
			input:      ai,
		})
	}
	return p, nil
}

// chooseRungs returns the rungs of ladder that fit a video whose short side
// is short, tallest first: those no taller (never upscaling; a rung's height
// is the short side, so portrait video keeps its orientation) or, for a
// video smaller than every rung, one rung at its own size with the smallest
// rung's settings.
func chooseRungs(ladder []Rung, short int) []Rung {
	rungs := slices.Clone(ladder)
	slices.SortStableFunc(rungs, func(a, b Rung) int { return b.Height - a.Height })
	var chosen []Rung
	for _, r := range rungs {
		if r.Height <= short {
			chosen = append(chosen, r)
		}
	}
	if len(chosen) == 0 && len(rungs) > 0 {
		r := rungs[len(rungs)-1]
		r.Height = short &^ 1
		r.Name = fmt.Sprintf("%dp", r.Height)
		chosen = append(chosen, r)
	}
	return chosen
}

// encodedRung is the H.264 rendition of rung r at w x h, made from input
// track (or stream) input. r has its defaults (Ladder.WithDefaults).
func encodedRung(r Rung, w, h, input int) Rendition {
	return Rendition{
		Name:       r.Name,
		Track:      &media.Track{Kind: media.Video, Codec: media.H264, Width: w, Height: h},
		Bitrate:    r.Bitrate,
		MaxBitrate: r.MaxBitrate,
		input:      input,
		profile:    r.Profile,
	}
}

// scaledSize keeps the input's aspect ratio with its short side at the
// given size, both sides even.
func scaledSize(inW, inH, short int) (int, int) {
	short &^= 1
	long := func(l, s int) int { return (l*short + s) / (2 * s) * 2 } // nearest even
	if inW < inH {
		return short, long(inH, inW)
	}
	return long(inW, inH), short
}

func firstOfKind(tracks []*media.Track, k media.Kind) int {
	for i, t := range tracks {
		if t.Kind == k {
			return i
		}
	}
	return -1
}
