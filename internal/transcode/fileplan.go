package transcode

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/probe"
)

// NewFilePlan plans the ladder for a probed file (VoD).
//
// Video: every rung whose height fits the short side of the video's
// display size (after rotation and pixel aspect ratio, as ffmpeg's
// autorotate and a scale to square pixels produce it), never upscaling,
// keeping the aspect ratio with even sizes; a video smaller than every
// rung gets one rung at its own size. A rung's frame rate is the source's,
// capped by its MaxFPS (see capRate); a variable-frame-rate source is first
// made constant at its average rate.
//
// Audio: one AAC rendition per audio stream, in file order, named "audio",
// "audio-1", "audio-2", … with the stream's language and title; the first
// is the default. Channels are the ladder's, but never more than the
// stream has (a mono stream stays mono).
//
// A passthrough ladder is planned as the same ladder without passthrough:
// a file's own video is rarely segmentable as is (its keyframes are where
// its encoder put them, its codec may not be H.264), and every rung of a
// file is encoded anyway. Video-only and audio-only files work. Empty
// fields of ladder take their defaults (Ladder.WithDefaults).
func NewFilePlan(ladder Ladder, src probe.Source) (Plan, error) {
	ladder = ladder.WithDefaults()
	p := Plan{Preset: ladder.Preset, Tune: ladder.Tune}
	if v := src.Video; v != nil && len(ladder.Video) > 0 {
		w, h := v.DisplayWidth, v.DisplayHeight
		if w < 2 || h < 2 {
			return Plan{}, fmt.Errorf("video size %dx%d is too small", w, h)
		}
		rate := v.FrameRate
		if v.VariableFrameRate && rate > 0 {
			p.cfr = rateExpr(rate)
		}
		for _, r := range chooseRungs(ladder.Video, min(w, h)) {
			rw, rh := scaledSize(w, h, r.Height)
			if rw < 2 || rh < 2 {
				return Plan{}, fmt.Errorf("video size %dx%d is too small", w, h)
			}
			rd := encodedRung(r, rw, rh, v.Index)
			rd.fps = capRate(rate, r.MaxFPS)
			p.Renditions = append(p.Renditions, rd)
		}
	}
	a := ladder.Audio
	for i, s := range src.Audio {
		name := "audio"
		if i > 0 {
			name = "audio-" + strconv.Itoa(i)
		}
		ch := a.Channels
		if s.Channels > 0 {
			ch = min(ch, s.Channels)
		}
		p.Renditions = append(p.Renditions, Rendition{
			Name:       name,
			Track:      &media.Track{Kind: media.Audio, Codec: media.AAC, SampleRate: a.SampleRate, Channels: ch},
			Bitrate:    a.Bitrate,
			MaxBitrate: a.Bitrate,
			Language:   s.Language,
			Label:      s.Title,
			Default:    i == 0,
			input:      s.Index,
		})
	}
	if len(p.Renditions) == 0 {
		return Plan{}, errors.New("the file has neither video nor audio the ladder can use")
	}
	return p, nil
}

// capRate returns the frame rate for a rung whose MaxFPS is maxFPS, for a
// source at rate fps: "" (keep the source's) when it fits, else the
// source's rate divided by the smallest whole number that fits (60 → 30,
// 59.94 → 29.97, 50 → 25, 120 → 30), so frames are dropped evenly; when
// that would fall below 3/4 of the cap (25 fps under a 24 cap), the cap
// itself.
func capRate(fps float64, maxFPS int) string {
	if maxFPS <= 0 || fps <= 0 || fps <= float64(maxFPS)*1.001 {
		return ""
	}
	n := math.Ceil(fps/float64(maxFPS) - 1e-3)
	r := fps / n
	if r < 0.75*float64(maxFPS) {
		r = float64(maxFPS)
	}
	return rateExpr(r)
}

// rateExpr writes a frame rate for ffmpeg's fps filter: "30", "30000/1001",
// or a decimal.
func rateExpr(f float64) string {
	if n := math.Round(f); n > 0 && math.Abs(f-n) < 0.001 {
		return strconv.Itoa(int(n))
	}
	if n := math.Round(f * 1.001); n > 0 && math.Abs(f*1.001-n) < 0.002 {
		return strconv.Itoa(int(n)*1000) + "/1001"
	}
	return strconv.FormatFloat(f, 'f', 4, 64)
}

// FileArgs builds ffmpeg's command line for transcoding the file at input
// with this plan (from NewFilePlan): ffmpeg reads the file itself, decodes
// the video once (autorotated), makes it constant-rate if planned, splits
// it into every rung (frame rate cap, scale to square pixels, yuv420p),
// encodes each with x264 with keyframes forced on the segment grid (in
// output time, from 0; closed GOPs, no scene-cut keyframes, so rungs stay
// aligned), encodes each audio rendition as AAC, and writes all renditions,
// in plan order, as one MPEG-TS on stdout. The input is opened with
// probe.InputArgs (no other protocol, no playlist formats). -progress goes to fd 3 twice a
// second. segment 0 means 2 s.
func (p Plan) FileArgs(input string, segment time.Duration) []string {
	return p.fileArgs(input, segment, nil)
}

// ExtraOutputs are more outputs made from a file run's decoded video
// (thumbnail.Extra): Graph(in) consumes the filtergraph pad labelled in
// and makes the pads OutputArgs(in) maps to its outputs.
type ExtraOutputs interface {
	Graph(in string) string
	OutputArgs(in string) []string
}

// extraPad labels the decoded video handed to ExtraOutputs.
const extraPad = "xv"

// fileArgs is FileArgs with extra outputs from the decoded video (nil:
// none; ignored without video): one more branch of the split, after the
// constant-rate conversion, and its outputs after the MPEG-TS.
func (p Plan) fileArgs(input string, segment time.Duration, extra ExtraOutputs) []string {
	if segment <= 0 {
		segment = 2 * time.Second
	}
	a := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning",
		"-progress", "pipe:" + strconv.Itoa(progressFD), "-stats_period", "0.5",
	}
	// The source is untrusted: the local file only, in a format Osprey accepts.
	a = append(a, probe.InputArgs(input)...)
	var video []int
	for i, r := range p.Renditions {
		if r.Track.Kind == media.Video {
			video = append(video, i)
		}
	}
	if len(video) == 0 {
		extra = nil
	}
	if len(video) > 0 {
		a = append(a, "-filter_complex", p.fileGraph(video, extra))
	}
	seg := strconv.FormatFloat(segment.Seconds(), 'f', -1, 64)
	// The first frame, then the first frame at or after each boundary of
	// the segment grid (robust to gaps, unlike n_forced*segment).
	forceKey := fmt.Sprintf("expr:if(isnan(prev_forced_t),1,gte(t,(floor(prev_forced_t/%s+0.001)+1)*%s))", seg, seg)
	vOut, aOut := 0, 0
	for i, r := range p.Renditions {
		switch r.Track.Kind {
		case media.Video:
			a = append(a, "-map", fmt.Sprintf("[v%d]", i))
			a = append(a, p.x264Args(vOut, r, forceKey)...)
			vOut++
		case media.Audio:
			s := strconv.Itoa(aOut)
			a = append(a, "-map", fmt.Sprintf("0:%d", r.input),
				"-c:a:"+s, "aac",
				"-b:a:"+s, strconv.Itoa(r.Bitrate),
				"-ar:a:"+s, strconv.Itoa(r.Track.SampleRate),
				"-ac:a:"+s, strconv.Itoa(r.Track.Channels),
			)
			aOut++
		}
	}
	if vOut > 0 {
		a = append(a,
			"-g", "100000", "-keyint_min", "100000", "-sc_threshold", "0", "-flags", "+cgop",
			"-fps_mode", "passthrough",
		)
	}
	a = append(a, "-max_muxing_queue_size", "4096",
		"-muxdelay", "0", "-muxpreload", "0", "-f", "mpegts", "pipe:1")
	if extra != nil {
		a = append(a, extra.OutputArgs(extraPad)...)
	}
	return a
}

// fileGraph is the -filter_complex of a file run: one decode (ffmpeg
// inserts the autorotation before it), optionally made constant-rate,
// split into the video renditions at indexes video and, with extra, one
// more branch, [xv], that extra's own graph takes.
func (p Plan) fileGraph(video []int, extra ExtraOutputs) string {
	var g strings.Builder
	fmt.Fprintf(&g, "[0:%d]", p.Renditions[video[0]].input)
	in := ""
	if p.cfr != "" {
		g.WriteString("fps=" + p.cfr)
		in = ","
	}
	branches := len(video)
	if extra != nil {
		branches++
	}
	if branches > 1 {
		fmt.Fprintf(&g, "%ssplit=%d", in, branches)
		for i := range video {
			fmt.Fprintf(&g, "[s%d]", i)
		}
		if extra != nil {
			fmt.Fprintf(&g, "[%s]", extraPad)
		}
		g.WriteString(";")
	}
	for i, ri := range video {
		r := p.Renditions[ri]
		if branches > 1 {
			fmt.Fprintf(&g, "[s%d]", i)
		} else if p.cfr != "" {
			g.WriteString(",")
		}
		if r.fps != "" {
			g.WriteString("fps=" + r.fps + ",")
		}
		fmt.Fprintf(&g, "scale=%d:%d,setsar=1,format=yuv420p[v%d]", r.Track.Width, r.Track.Height, ri)
		if i < len(video)-1 {
			g.WriteString(";")
		}
	}
	if extra != nil {
		g.WriteString(";" + extra.Graph(extraPad))
	}
	return g.String()
}
