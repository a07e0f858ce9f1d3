// Package probe inspects an uploaded media file with ffprobe and describes
// what it holds: its container, duration, first real video stream (display
// size after rotation and pixel aspect ratio, frame rate) and every audio
// stream.
//
// Probe also judges the file. A file that can never be processed (empty,
// not media, cut short, absurdly large frames, no audio or video track) is
// reported as an *Error whose Reason a person can read; IsPermanent tells it
// from a failure that may go away on a retry (ffprobe missing, crashing or
// timing out).
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Timeout bounds one ffprobe run inside Probe, whatever ctx allows.
const Timeout = time.Minute

// Frame size limits: larger video is refused, as no rung of any ladder
// needs it and decoding it costs memory out of proportion.
const (
	MaxSide   = 8192
	MaxPixels = 8192 * 4320
)

// Source describes a media file.
type Source struct {
	Format   string // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Duration time.Duration
	Size     int64         // bytes
	Bitrate  int           // bits/s, overall
	Video    *VideoStream  // first real video stream (not cover art); nil if none
	Audio    []AudioStream // every audio stream, in file order
	Data     int           // other streams: data, subtitles, attachments, cover art
	// MediaDuration is the longest duration its audio and video streams
	// declare (what a transcode should decode); 0 when they declare none.
	MediaDuration time.Duration
}

// Declared is the duration a transcode of the source should reach: its
// audio and video streams', else the container's.
func (s Source) Declared() time.Duration {
	if s.MediaDuration > 0 {
		return s.MediaDuration
	}
	return s.Duration
}

// VideoStream describes the video stream Osprey transcodes.
type VideoStream struct {
	Index         int    // stream index in the file, as ffmpeg's -map 0:N
	Codec         string // ffprobe codec_name, e.g. "h264"
	Width, Height int    // coded frame size
	// Size a player shows: the sample aspect ratio applied to the width,
	// then rotated; both even. This is what ffmpeg's autorotate produces
	// (followed by a scale to square pixels).
	DisplayWidth, DisplayHeight int
	Rotation                    int     // clockwise degrees for display: 0, 90, 180 or 270
	FrameRate                   float64 // average frame rate (avg_frame_rate)
	VariableFrameRate           bool    // avg_frame_rate and r_frame_rate disagree notably
	PixFmt                      string
}

// AudioStream describes one audio stream.
type AudioStream struct {
	Index      int    // stream index in the file, as ffmpeg's -map 0:N
	Codec      string // ffprobe codec_name, e.g. "aac"
	Channels   int
	SampleRate int
	Language   string // ISO 639 code from the language tag; "" when absent or "und"
	Title      string
	Default    bool // the default disposition
}

// Error is a permanent problem with the file: processing it again will not
// help. Error() returns Reason, a sentence for the person who uploaded it.
type Error struct {
	Reason string
	Err    error // the underlying cause, if any
}

func (e *Error) Error() string { return e.Reason }

func (e *Error) Unwrap() error { return e.Err }

// IsPermanent reports whether err (or an error it wraps) is an *Error.
func IsPermanent(err error) bool {
	var pe *Error
	return errors.As(err, &pe)
}

// Reasons of the permanent errors Probe returns.
const (
	reasonEmpty      = "the file is empty"
	reasonNotMedia   = "the file is not a video or audio file that can be read"
	reasonNoMoov     = "the file is incomplete or damaged (its MP4 index is missing); was the upload cut short?"
	reasonNoStreams  = "the file has no video or audio track"
	reasonMissing    = "the file does not exist"
	reasonNoSize     = "the video track's frame size is unknown"
	reasonNoDecoder  = "the video track's format is not one that can be decoded"
	reasonAudioCodec = "an audio track's format is not one that can be decoded"
)

// Probe runs ffprobe (the binary at path ffprobe, "ffprobe" to look it up
// in PATH) on the file at path and describes it. A file that cannot be
// processed gives an *Error; ffprobe itself failing (missing, crashing,
// timing out) gives another error, worth retrying.
func Probe(ctx context.Context, ffprobe, path string) (Source, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Source{}, &Error{Reason: reasonMissing, Err: err}
	case err != nil:
		return Source{}, fmt.Errorf("probing %s: %w", path, err)
	case st.IsDir():
		return Source{}, &Error{Reason: reasonNotMedia, Err: errors.New("is a directory")}
	case st.Size() == 0:
		return Source{}, &Error{Reason: reasonEmpty}
	}
	if ffprobe == "" {
		ffprobe = "ffprobe"
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	args := append([]string{"-v", "error", "-print_format", "json", "-show_format", "-show_streams"}, InputArgs(path)...)
	cmd := exec.CommandContext(ctx, ffprobe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if runErr != nil {
		if ctx.Err() != nil {
			return Source{}, fmt.Errorf("probing %s: ffprobe did not finish: %w", path, ctx.Err())
		}
		return Source{}, classify(path, runErr, stderr.String())
	}
	src, err := parse(stdout.Bytes())
	if err != nil {
		return Source{}, fmt.Errorf("probing %s: %w", path, err)
	}
	if src.Size == 0 {
		src.Size = st.Size()
	}
	if src.Bitrate == 0 && src.Duration > 0 {
		src.Bitrate = int(float64(src.Size*8) / src.Duration.Seconds())
	}
	if err := src.validate(); err != nil {
		return Source{}, err
	}
	return src, nil
}

// classify turns a failed ffprobe run into a permanent *Error when its
// messages say the file is at fault, and a plain error otherwise.
func classify(path string, runErr error, stderr string) error {
	var exit *exec.ExitError
	if !errors.As(runErr, &exit) || !exit.Exited() {
		// Not started, or killed by a signal: ffprobe's problem, not the file's.
		return fmt.Errorf("running ffprobe on %s: %w: %s", path, runErr, lastLines(stderr, 4))
	}
	cause := fmt.Errorf("ffprobe: %s", lastLines(stderr, 4))
	if reason := RefusedInput(stderr); reason != "" {
		return &Error{Reason: reason, Err: cause}
	}
	switch {
	case strings.Contains(stderr, "moov atom not found") && looksLikeMP4(path):
		return &Error{Reason: reasonNoMoov, Err: cause}
	case strings.Contains(stderr, "Invalid data found when processing input"),
		strings.Contains(stderr, "moov atom not found"),
		strings.Contains(stderr, "EBML header parsing failed"),
		strings.Contains(stderr, "could not find codec parameters"):
		return &Error{Reason: reasonNotMedia, Err: cause}
	}
	return fmt.Errorf("probing %s: %w (%w)", path, cause, runErr)
}

// looksLikeMP4 reports whether the file starts with an ISO BMFF box, as
// every MP4 (and MOV, M4A, 3GP) does.
func looksLikeMP4(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [8]byte
	if _, err := f.Read(b[:]); err != nil {
		return false
	}
	switch string(b[4:8]) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "styp":
		return true
	}
	return false
}

// lastLines returns up to n last non-empty lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// validate refuses what no later stage could process.
func (s Source) validate() error {
	if s.Video == nil && len(s.Audio) == 0 {
		return &Error{Reason: reasonNoStreams}
	}
	if v := s.Video; v != nil {
		if v.Codec == "" || v.Codec == "none" {
			return &Error{Reason: reasonNoDecoder}
		}
		if v.Width <= 0 || v.Height <= 0 || v.DisplayWidth <= 0 || v.DisplayHeight <= 0 {
			return &Error{Reason: reasonNoSize}
		}
		if v.Width > MaxSide || v.Height > MaxSide || v.Width*v.Height > MaxPixels {
			return &Error{Reason: fmt.Sprintf(
				"the video frame size %dx%d is too large: the limit is %d pixels on a side and %d pixels (%dx%d) in all",
				v.Width, v.Height, MaxSide, MaxPixels, 8192, 4320)}
		}
	}
	for _, a := range s.Audio {
		if a.Codec == "" || a.Codec == "none" {
			return &Error{Reason: reasonAudioCodec}
		}
	}
	return nil
}

// Summary describes the source in one line, e.g.
// "h264 1920x1080 29.97fps, aac 2ch, 60.0s".
func (s Source) Summary() string {
	var parts []string
	if v := s.Video; v != nil {
		d := fmt.Sprintf("%s %dx%d %sfps", v.Codec, v.DisplayWidth, v.DisplayHeight, formatRate(v.FrameRate))
		if v.VariableFrameRate {
			d += " (variable)"
		}
		if v.Rotation != 0 {
			d += fmt.Sprintf(" (rotated %d)", v.Rotation)
		}
		parts = append(parts, d)
	}
	for _, a := range s.Audio {
		d := fmt.Sprintf("%s %dch", a.Codec, a.Channels)
		if a.Language != "" {
			d += " " + a.Language
		}
		parts = append(parts, d)
	}
	if s.Data > 0 {
		parts = append(parts, fmt.Sprintf("%d other", s.Data))
	}
	parts = append(parts, fmt.Sprintf("%.1fs", s.Duration.Seconds()))
	return strings.Join(parts, ", ")
}

// formatRate prints a frame rate with at most two decimals: 30, 29.97, 23.98.
func formatRate(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
