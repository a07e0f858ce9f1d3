// Package media is Osprey's canonical model of a live elementary stream: the
// tracks a publisher sends and the access units that flow, in decode order,
// from ingest to the transcoder and from the transcoder to the packager.
//
// It does no I/O and imports no stage, so every stage can speak it.
package media

import (
	"fmt"
	"time"
)

// Kind tells video from audio.
type Kind int

// Track kinds.
const (
	Video Kind = iota + 1
	Audio
)

func (k Kind) String() string {
	switch k {
	case Video:
		return "video"
	case Audio:
		return "audio"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Codec names a compression format.
type Codec string

// Codecs Osprey carries.
const (
	H264 Codec = "h264"
	H265 Codec = "h265"
	AAC  Codec = "aac"
	Opus Codec = "opus"
)

// Track describes one elementary stream.
type Track struct {
	Kind  Kind
	Codec Codec

	// Video: coded size and parameter sets (NAL units without start codes).
	// VPS is set for H.265 only.
	Width, Height int
	VPS, SPS, PPS []byte

	// Audio: sample rate in Hz, channel count and, for AAC, the
	// AudioSpecificConfig (ISO/IEC 14496-3).
	SampleRate  int
	Channels    int
	AudioConfig []byte
}

// String describes the track for logs, e.g. "h264 1280x720" or "aac 48000Hz 2ch".
func (t *Track) String() string {
	if t.Kind == Video {
		return fmt.Sprintf("%s %dx%d", t.Codec, t.Width, t.Height)
	}
	return fmt.Sprintf("%s %dHz %dch", t.Codec, t.SampleRate, t.Channels)
}

// Unit is one access unit: a video frame or an audio frame.
//
// Timestamps are on the session timeline: a duration from the start of the
// publication, monotonic in decode order for each track.
type Unit struct {
	PTS time.Duration
	DTS time.Duration // equals PTS for audio

	// Key marks a random access point: an IDR (or CRA) frame, or any audio frame.
	Key bool

	// NALUs holds a video frame's NAL units without start codes or length prefixes.
	NALUs [][]byte
	// Data holds one audio frame (for AAC a raw access unit, without ADTS header).
	Data []byte
}

// Sink receives the units of a set of tracks, identified by their index in the
// track list the sink was created with. Units of one track arrive in decode
// order; units of different tracks are interleaved roughly by DTS.
type Sink interface {
	WriteUnit(track int, u *Unit) error
}
