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
// stdout holding the renditions in plan order. The encoded rungs have
// keyframes every keyframes of session time (the segment duration, or a
// divisor of it), identical in every rung.
func (p Plan) FFmpegArgs(input []*media.Track, keyframes time.Duration) []string {
	a := []string{
		"-hide_banner", "-nostats", "-loglevel", "warning",
		"-progress", "pipe:" + strconv.Itoa(progressFD), "-stats_period", "1",
		// Start as soon as the stream parameters are known: the input starts
		// with a keyframe carrying its parameter sets.
		"-probesize", "1000000", "-analyzeduration", "1000000",
		// One decoding thread: a frame-threaded decoder holds one frame
		// per extra thread (ffmpeg starts one per core, plus one). H.264
		// and H.265 up to 1080p60 decode in a fraction of a core.
		"-threads", "1",
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

	seg := keyframes.Seconds()
	off := tsOffset.Seconds()
	// Keyframes on a grid in session time that holds every segment
	// boundary, identical in every rung: the first frame, then the first
	// frame at or after each grid point. Closed GOPs, no scene-cut
	// keyframes, so segments align.
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
			if !p.Lookahead {
				a = append(a, "-x264-params:v:"+strconv.Itoa(vOut), liveX264Params)
			}
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
	// Every packet leaves ffmpeg as soon as it is encoded:
	//   - -max_interleave_delta 1 (µs): the muxer does not hold packets
	//     to interleave the streams by DTS, which made every stream wait
	//     for the slowest (the passthrough rung and the audio waited for
	//     the encoders); Osprey's demuxer reads each stream on its own;
	//   - -omit_video_pes_length 0: video PES packets declare their
	//     length (when under 64 KiB), so Osprey's demuxer hands a frame on
	//     as soon as its last byte is read, not when the next frame of the
	//     rendition starts, one frame interval later;
	//   - -pes_payload_size 0: each AAC frame gets its own PES packet
	//     instead of waiting for the next one to share it (21 ms at 48 kHz).
	return append(a, "-muxdelay", "0", "-muxpreload", "0",
		"-max_interleave_delta", "1", "-omit_video_pes_length", "0", "-pes_payload_size", "0",
		"-f", "mpegts", "pipe:1")
}

// liveX264Params are the x264 options of live rungs, unless the ladder asks
// for Lookahead: x264's zerolatency tuning without its force-cfr (the
// input's timestamps still drive rate control). Each one removes frames
// held inside the encoder (bench/encdelay, 720p30 source, default ladder,
// 2 cores: the median delay through ffmpeg went from 0.8 s to 0.2 s):
//
//   - bframes=0: no reordering (a B-frame waits for the frame after it);
//   - rc-lookahead=0, sync-lookahead=0, mbtree=0: no frames queued for
//     rate control and macroblock-tree analysis;
//   - sliced-threads=1: threads share each frame as slices instead of each
//     coding a different frame, which holds threads-1 frames more.
//
// The cost is compression: about 7 % more bits for the same PSNR (720p,
// veryfast); encoding takes about 30 % less CPU. Ladder.Lookahead gives
// them back.
const liveX264Params = "bframes=0:rc-lookahead=0:sync-lookahead=0:mbtree=0:sliced-threads=1"

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
