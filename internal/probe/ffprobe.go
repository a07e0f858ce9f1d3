package probe

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ffprobe's JSON output (-print_format json -show_format -show_streams),
// the fields Osprey reads.
type ffprobeOutput struct {
	Streams []ffprobeStream `json:"streams"`
	Format  struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

type ffprobeStream struct {
	Index             int               `json:"index"`
	CodecName         string            `json:"codec_name"`
	CodecType         string            `json:"codec_type"`
	Width             int               `json:"width"`
	Height            int               `json:"height"`
	SampleAspectRatio string            `json:"sample_aspect_ratio"`
	PixFmt            string            `json:"pix_fmt"`
	RFrameRate        string            `json:"r_frame_rate"`
	AvgFrameRate      string            `json:"avg_frame_rate"`
	Duration          string            `json:"duration"`
	SampleRate        string            `json:"sample_rate"`
	Channels          int               `json:"channels"`
	Disposition       map[string]int    `json:"disposition"`
	Tags              map[string]string `json:"tags"`
	SideData          []struct {
		Type     string   `json:"side_data_type"`
		Rotation *float64 `json:"rotation"`
	} `json:"side_data_list"`
}

// parse turns ffprobe's JSON into a Source.
func parse(b []byte) (Source, error) {
	var out ffprobeOutput
	if err := json.Unmarshal(b, &out); err != nil {
		return Source{}, fmt.Errorf("reading ffprobe's output: %w", err)
	}
	s := Source{
		Format:   out.Format.FormatName,
		Duration: seconds(out.Format.Duration),
	}
	s.Size, _ = strconv.ParseInt(out.Format.Size, 10, 64)
	s.Bitrate, _ = strconv.Atoi(out.Format.BitRate)
	var longest time.Duration
	for _, st := range out.Streams {
		switch {
		case st.CodecType == "video" && st.Disposition["attached_pic"] == 0 && s.Video == nil:
			s.Video = videoStream(st)
		case st.CodecType == "audio":
			s.Audio = append(s.Audio, audioStream(st))
		default:
			s.Data++
			continue
		}
		longest = max(longest, seconds(st.Duration))
	}
	s.MediaDuration = longest
	if s.Duration <= 0 {
		// Some containers (raw streams, some MKV) give no overall duration.
		s.Duration = longest
	}
	return s, nil
}

func videoStream(st ffprobeStream) *VideoStream {
	v := &VideoStream{
		Index:     st.Index,
		Codec:     st.CodecName,
		Width:     st.Width,
		Height:    st.Height,
		Rotation:  rotation(st),
		FrameRate: rate(st.AvgFrameRate),
		PixFmt:    st.PixFmt,
	}
	if r := rate(st.RFrameRate); v.FrameRate <= 0 {
		v.FrameRate = r
	} else if r > 0 && math.Abs(r-v.FrameRate)/r > 0.02 {
		// r_frame_rate is the rate all timestamps fit on; an average that
		// differs means frames are missing or irregularly spaced.
		v.VariableFrameRate = true
	}
	w := float64(st.Width)
	if sar := rate(st.SampleAspectRatio); sar >= minSAR && sar <= maxSAR {
		w *= sar
	}
	v.DisplayWidth, v.DisplayHeight = even(w), even(float64(st.Height))
	if v.Rotation == 90 || v.Rotation == 270 {
		v.DisplayWidth, v.DisplayHeight = v.DisplayHeight, v.DisplayWidth
	}
	return v
}

func audioStream(st ffprobeStream) AudioStream {
	a := AudioStream{
		Index:    st.Index,
		Codec:    st.CodecName,
		Channels: st.Channels,
		Language: st.Tags["language"],
		Title:    st.Tags["title"],
		Default:  st.Disposition["default"] != 0,
	}
	a.SampleRate, _ = strconv.Atoi(st.SampleRate)
	if a.Language == "und" {
		a.Language = ""
	}
	return a
}

// rotation returns the clockwise rotation a player applies, as ffmpeg's
// autorotate does: from the display matrix (whose angle ffprobe prints
// counter-clockwise) or, from older ffprobe versions, the rotate tag.
func rotation(st ffprobeStream) int {
	deg := 0.0
	found := false
	for _, sd := range st.SideData {
		if sd.Type == "Display Matrix" && sd.Rotation != nil {
			deg, found = -*sd.Rotation, true
			break
		}
	}
	if !found {
		if r, err := strconv.ParseFloat(st.Tags["rotate"], 64); err == nil {
			deg = r
		}
	}
	// Nearest quarter turn, in [0, 360).
	q := int(math.Round(deg/90)) % 4
	if q < 0 {
		q += 4
	}
	return q * 90
}

// Pixel aspect ratios outside these bounds are taken for errors and
// ignored (square pixels): real anamorphic video stays within 1:4 and 4:1.
const (
	minSAR = 0.1
	maxSAR = 10
)

// rate parses "30000/1001", "16:9" or "25"; 0 when unknown ("0/0", "N/A")
// or not a finite positive number.
func rate(s string) float64 {
	r := parseRate(s)
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
		return 0
	}
	return r
}

func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		num, den, ok = strings.Cut(s, ":")
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0
	}
	if !ok {
		return n
	}
	d, err := strconv.ParseFloat(den, 64)
	if err != nil || d == 0 || n < 0 {
		return 0
	}
	return n / d
}

// seconds parses ffprobe's "12.345000"; 0 when absent or "N/A".
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return time.Duration(math.Round(f * float64(time.Second)))
}

// even rounds to the nearest even integer.
func even(f float64) int {
	return int(math.Round(f/2)) * 2
}
