package transcode

// Ladder is what the transcoder is asked to make of an input: the video
// rungs, the audio, whether the input video is also passed through, and the
// x264 settings shared by every rung. Empty fields take the defaults of
// WithDefaults; NewPlan and NewFilePlan apply them.
type Ladder struct {
	Video       []Rung
	Audio       AudioRung
	Passthrough bool   // add the input video, untouched, as a rung (live only)
	Preset      string // x264 preset; default "veryfast"
	Tune        string // x264 tune; default none

	// Lookahead gives live encodes the preset's x264 lookahead, B-frames
	// and frame threads back. By default live rungs are encoded without
	// them (see liveX264Params), so each frame leaves the encoder as soon
	// as it is coded: about 0.6 s less delay (720p30, veryfast, 2 cores;
	// more on bigger machines, whose frame threads hold more frames) and
	// 30 % less encoder CPU, for about 7 % more bits at the same PSNR.
	// File runs always use them.
	Lookahead bool
}

// Rung is one video rendition of a ladder. Its Height is the short side of
// the output; rungs taller than the input are skipped.
type Rung struct {
	Name       string // e.g. "720p"
	Height     int
	Bitrate    int    // average bits/s
	MaxBitrate int    // peak bits/s (VBV maxrate); default 1.1×Bitrate
	Profile    string // H.264 profile; default "high"
	MaxFPS     int    // file runs: frame rate cap; 0 keeps the input's
}

// AudioRung is the AAC rendition of a ladder.
type AudioRung struct {
	Bitrate    int // bits/s; default 128000
	SampleRate int // Hz; default 48000
	Channels   int // default 2
}

// Defaults of the ladder fields left empty.
const (
	defaultPreset          = "veryfast"
	defaultProfile         = "high"
	defaultAudioBitrate    = 128_000
	defaultAudioSampleRate = 48_000
	defaultAudioChannels   = 2
)

// WithDefaults returns a copy of l with empty fields filled in: each rung's
// MaxBitrate (1.1×Bitrate) and Profile ("high"), the audio bitrate, sample
// rate and channel count (128 kb/s, 48 kHz, stereo), and the x264 preset
// ("veryfast"). Fields already set are kept; l itself is not modified.
func (l Ladder) WithDefaults() Ladder {
	video := make([]Rung, len(l.Video))
	for i, r := range l.Video {
		if r.MaxBitrate == 0 {
			r.MaxBitrate = r.Bitrate + r.Bitrate/10
		}
		if r.Profile == "" {
			r.Profile = defaultProfile
		}
		video[i] = r
	}
	l.Video = video
	if l.Audio.Bitrate == 0 {
		l.Audio.Bitrate = defaultAudioBitrate
	}
	if l.Audio.SampleRate == 0 {
		l.Audio.SampleRate = defaultAudioSampleRate
	}
	if l.Audio.Channels == 0 {
		l.Audio.Channels = defaultAudioChannels
	}
	if l.Preset == "" {
		l.Preset = defaultPreset
	}
	return l
}
