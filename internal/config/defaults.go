package config

// Names of the built-in ladder presets.
const (
	LadderDefault     = "default"
	LadderLow         = "low"
	LadderPassthrough = "passthrough"
)

// Defaults that apply to ladder fields left empty.
const (
	DefaultProfile         = "high"
	DefaultPreset          = "veryfast"
	DefaultAudioBitrate    = 128_000
	DefaultAudioSampleRate = 48_000
	DefaultAudioChannels   = 2
)

// Default returns the configuration used when nothing else is set. Every call
// returns fresh maps and slices, so callers may modify the result.
func Default() Config {
	return Config{
		DataDir:    "./osprey-data",
		HTTPAddr:   ":8080",
		RTMPAddr:   ":1935",
		SRTAddr:    ":9000",
		Roles:      DefaultRoles,
		LogLevel:   "info",
		LogFormat:  "text",
		CORSOrigin: "*",
		Origin:     Origin{CacheSize: 256 << 20},
		Live:       defaultLive(),
		VOD:        defaultVOD(),
		Webhooks:   defaultWebhooks(),
		Ingest:     defaultIngest(),
		Security:   defaultSecurity(),
		Edge:       defaultServeEdge(),
		FFmpeg:     FFmpeg{Path: "ffmpeg", ProbePath: "ffprobe"},
		Ladders:    BuiltinLadders(),
	}
}

// BuiltinLadders returns the ladder presets every configuration starts with:
//
//	default      1080p 5 Mb/s, 720p 2.8 Mb/s, 480p 1.4 Mb/s, 360p 0.8 Mb/s
//	low          720p 2.8 Mb/s, 360p 0.8 Mb/s
//	passthrough  the default rungs plus the input video, untouched
//
// All use AAC 128 kb/s 48 kHz stereo and the x264 preset "veryfast".
func BuiltinLadders() map[string]Ladder {
	all := defaultRungs()
	return map[string]Ladder{
		LadderDefault:     builtinLadder(all, false),
		LadderLow:         builtinLadder([]VideoRung{all[1], all[3]}, false),
		LadderPassthrough: builtinLadder(defaultRungs(), true),
	}
}

func defaultRungs() []VideoRung {
	return []VideoRung{
		rung("1080p", 1080, 5_000_000, "high"),
		rung("720p", 720, 2_800_000, "high"),
		rung("480p", 480, 1_400_000, "high"),
		rung("360p", 360, 800_000, "main"),
	}
}

func rung(name string, height, bitrate int, profile string) VideoRung {
	return VideoRung{
		Name:       name,
		Height:     height,
		Bitrate:    bitrate,
		MaxBitrate: defaultMaxBitrate(bitrate),
		Profile:    profile,
	}
}

func builtinLadder(video []VideoRung, passthrough bool) Ladder {
	return Ladder{
		Video:       video,
		Audio:       AudioRung{Bitrate: DefaultAudioBitrate, SampleRate: DefaultAudioSampleRate, Channels: DefaultAudioChannels},
		Passthrough: passthrough,
		Preset:      DefaultPreset,
	}
}

// defaultMaxBitrate is the VBV peak used when a rung sets none: 1.1×bitrate.
func defaultMaxBitrate(bitrate int) int { return bitrate + bitrate/10 }

// WithDefaults returns a copy of l with empty fields filled in: each rung's
// MaxBitrate (1.1×Bitrate) and Profile ("high"), the audio bitrate, sample
// rate and channel count, and the x264 preset. Fields already set are kept.
func (l Ladder) WithDefaults() Ladder {
	video := make([]VideoRung, len(l.Video))
	for i, r := range l.Video {
		if r.MaxBitrate == 0 {
			r.MaxBitrate = defaultMaxBitrate(r.Bitrate)
		}
		if r.Profile == "" {
			r.Profile = DefaultProfile
		}
		video[i] = r
	}
	l.Video = video
	if l.Audio.Bitrate == 0 {
		l.Audio.Bitrate = DefaultAudioBitrate
	}
	if l.Audio.SampleRate == 0 {
		l.Audio.SampleRate = DefaultAudioSampleRate
	}
	if l.Audio.Channels == 0 {
		l.Audio.Channels = DefaultAudioChannels
	}
	if l.Preset == "" {
		l.Preset = DefaultPreset
	}
	return l
}

// defaultServeEdge is the edge inside serve: off, and without an access log.
func defaultServeEdge() Edge {
	e := DefaultEdge()
	e.AccessLog = ""
	return e
}
