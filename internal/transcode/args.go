package transcode

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// tsOffset shifts the session timeline on the way into ffmpeg, so that
// timestamps stay positive when the encoder's decode timestamps run ahead of
// presentation (B-frames) and near zero after a restart. It is removed again
// on the way out.
const tsOffset = 10 * time.Second

// progressFD is the file descriptor ffmpeg writes -progress reports to.
const progressFD = 3

// FFmpegArgs builds ffmpeg's command line for the plan. The input is MPEG-TS on
// stdin holding the tracks in input order; the output is one MPEG-TS on
// stdout holding the renditions in plan order.
func (p Plan) FFmpegArgs(input []*media.Track, segment time.Duration) []string {
	a := []string{
		"-hide_banner", "-nostats", "-loglevel", "warning",
		"-progress", "pipe:" + strconv.Itoa(progressFD), "-stats_period", "1",
		// Start as soon as the stream parameters are known: the input starts
		// with a keyframe carrying its parameter sets.
		"-probesize", "1000000", "-analyzeduration", "1000000",
		"-copyts", "-f", "mpegts", "-i", "pipe:0",
	}

	// One decode, split into every scaled rung.
	var scaled []int
	for i, r := range p.Renditions {
		if r.Track.Kind == media.Video && !r.passthrough {
			scaled = append(scaled, i)
		}
	}
	if len(scaled) > 0 {
		in := fmt.Sprintf("[0:%d]", p.Renditions[scaled[0]].input)
		if p.halfRate {
			in += "framestep=2,"
		}
		var g strings.Builder
		g.WriteString(in)
		if len(scaled) > 1 {
			fmt.Fprintf(&g, "split=%d", len(scaled))
			for i := range scaled {
				fmt.Fprintf(&g, "[s%d]", i)
			}
			g.WriteString(";")
		} else {
			g.Reset()
		}
		for i, ri := range scaled {
			r := p.Renditions[ri]
			src := fmt.Sprintf("[s%d]", i)
			if len(scaled) == 1 {
				src = in
			}
			fmt.Fprintf(&g, "%sscale=%d:%d,format=yuv420p[v%d]", src, r.Track.Width, r.Track.Height, ri)
			if i < len(scaled)-1 {
				g.WriteString(";")
			}
		}
		a = append(a, "-filter_complex", g.String())
	}

	seg := segment.Seconds()
	off := tsOffset.Seconds()
	// Keyframes on a grid of segment boundaries in session time, identical in
	// every rung: the first frame, then the first frame at or after each
	// boundary. Closed GOPs, no scene-cut keyframes, so segments align.
	forceKey := fmt.Sprintf("expr:if(isnan(prev_forced_t),1,gte(t-%g,(floor((prev_forced_t-%g)/%g+0.001)+1)*%g))", off, off, seg, seg)
	if p.hasPassthrough() {
		// The untouched input can only be cut at its own keyframes: the
		// encoded rungs put theirs at the same frames.
		forceKey = "source"
	}

	vOut := 0
	for i, r := range p.Renditions {
		switch {
		case r.Track.Kind == media.Video && r.passthrough:
			a = append(a, "-map", fmt.Sprintf("0:%d", r.input), fmt.Sprintf("-c:v:%d", vOut), "copy")
			vOut++
		case r.Track.Kind == media.Video:
			a = append(a, "-map", fmt.Sprintf("[v%d]", i))
			a = append(a, p.x264Args(vOut, r, forceKey)...)
			vOut++
		case r.Track.Kind == media.Audio:
			a = append(a, "-map", fmt.Sprintf("0:%d", r.input),
				"-c:a", "aac", "-b:a", strconv.Itoa(r.Bitrate),
				"-ar", strconv.Itoa(r.Track.SampleRate), "-ac", strconv.Itoa(r.Track.Channels))
		}
	}
	if len(scaled) > 0 {
		a = append(a,
			// Keyframes only where forced: no periodic or scene-cut ones.
			"-g", "100000", "-keyint_min", "100000", "-sc_threshold", "0", "-flags", "+cgop",
			"-fps_mode", "passthrough",
		)
	}
	a = append(a, "-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", "pipe:1")
	return a
}

func (p Plan) hasPassthrough() bool {
	for _, r := range p.Renditions {
		if r.passthrough {
			return true
		}
	}
	return false
}

// x264Args are the encoder options of video output n for rendition r:
// the ladder's preset, profile and rate control, keyframes at forceKey.
func (p Plan) x264Args(n int, r Rendition, forceKey string) []string {
	s := strconv.Itoa(n)
	a := []string{
		"-c:v:" + s, "libx264",
		"-preset:v:" + s, p.Preset,
		"-profile:v:" + s, r.profile,
		"-b:v:" + s, strconv.Itoa(r.Bitrate),
		"-maxrate:v:" + s, strconv.Itoa(r.MaxBitrate),
		"-bufsize:v:" + s, strconv.Itoa(r.MaxBitrate * 2),
		"-force_key_frames:v:" + s, forceKey,
	}
	if p.Tune != "" {
		a = append(a, "-tune:v:"+s, p.Tune)
	}
	return a
}
