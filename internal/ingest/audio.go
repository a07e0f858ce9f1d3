package ingest

import (
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/ospreyvideo/osprey/internal/media"
)

// opusSampleRate is the only clock Opus has.
const opusSampleRate = 48000

// AACTrack describes an AAC track from its AudioSpecificConfig.
//
// SampleRate is the core (AAC-LC) rate, the one a 1024-sample access unit
// is timed with; for HE-AAC the decoded output rate is twice that.
func AACTrack(conf *mpeg4audio.AudioSpecificConfig) (*media.Track, error) {
	if conf == nil || conf.SampleRate <= 0 {
		return nil, fmt.Errorf("%w: AAC without a valid AudioSpecificConfig", ErrUnsupported)
	}
	raw, err := conf.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding AudioSpecificConfig: %w", err)
	}
	return &media.Track{
		Kind:        media.Audio,
		Codec:       media.AAC,
		SampleRate:  conf.SampleRate,
		Channels:    aacChannels(conf.ChannelConfig),
		AudioConfig: raw,
	}, nil
}

// aacChannels maps a channel configuration (ISO/IEC 14496-3, table 1.19) to
// a channel count. Configuration 0 defers the layout to a program config
// element, which nobody uses for live; stereo is the safe guess.
func aacChannels(cfg uint8) int {
	switch {
	case cfg >= 1 && cfg <= 6:
		return int(cfg)
	case cfg == 7:
		return 8
	}
	return 2
}

// OpusTrack describes an Opus track with the given channel count.
func OpusTrack(channels int) *media.Track {
	if channels <= 0 {
		channels = 2
	}
	return &media.Track{Kind: media.Audio, Codec: media.Opus, SampleRate: opusSampleRate, Channels: channels}
}

// frameDuration is how long one audio frame of t lasts.
func frameDuration(t *media.Track, frame []byte) time.Duration {
	switch t.Codec {
	case media.AAC:
		if t.SampleRate > 0 {
			return time.Duration(mpeg4audio.SamplesPerAccessUnit) * time.Second / time.Duration(t.SampleRate)
		}
	case media.Opus:
		return time.Duration(opus.PacketDuration2(frame)) * time.Second / opusSampleRate
	}
	return 0
}
