// Package dash renders a DASH MPD (ISO/IEC 23009-1, isoff-live and CMAF
// profiles) for CMAF segments addressed with SegmentTemplate, $Number$ and
// a SegmentTimeline, one per AdaptationSet, and for sidecar WebVTT
// subtitles (a text AdaptationSet whose Representation's BaseURL is the
// whole file).
//
// A live MPD may add the low-latency signalling of the DASH-IF IOP
// (LowLatency: ServiceDescription, availabilityTimeOffset with
// availabilityTimeComplete="false", ProducerReferenceTime).
//
// It only formats; the packager decides what the MPD contains.
package dash

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// Profiles is the MPD@profiles value.
const Profiles = "urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019"

// UTCTimingScheme is the http-iso UTCTiming scheme.
const UTCTimingScheme = "urn:mpeg:dash:utc:http-iso:2014"

// EpochStart is the availabilityStartTime of an epoch-locked dynamic MPD.
const EpochStart = "1970-01-01T00:00:00Z"

// MPD describes the presentation.
type MPD struct {
	Dynamic     bool
	PublishTime time.Time

	MinimumUpdatePeriod        time.Duration // dynamic only
	TimeShiftBufferDepth       time.Duration // dynamic only
	SuggestedPresentationDelay time.Duration // dynamic only
	MediaPresentationDuration  time.Duration // static only
	MinBufferTime              time.Duration
	MaxSegmentDuration         time.Duration
	UTCTimingURL               string // dynamic only; "" omits UTCTiming

	// LowLatency adds the low-latency elements (lowlatency.go) to a
	// dynamic MPD; nil renders the MPD without them.
	LowLatency *LowLatency

	Periods []Period
}

// Period is one period: its start is relative to availabilityStartTime
// (the Unix epoch for dynamic MPDs) or to the presentation start (static).
type Period struct {
	ID             string
	Start          time.Duration
	AdaptationSets []AdaptationSet
}

// AdaptationSet is one switching set with its shared SegmentTemplate.
type AdaptationSet struct {
	ID          uint32
	ContentType string // "video", "audio" or "text" (WebVTT, no SegmentTemplate)
	Lang        string
	Label       string // human name; "" omits the Label element
	Role        string // urn:mpeg:dash:role:2011 value ("main", "subtitle"...); "" omits Role
	// SelectionPriority ranks AdaptationSets of one kind for a player's
	// initial choice (higher first); 0 omits it (the default is 1).
	SelectionPriority uint32

	Timescale              uint32
	PresentationTimeOffset uint64
	Initialization         string // e.g. "$RepresentationID$/init-3.mp4"
	Media                  string // e.g. "$RepresentationID$/$Number$.m4s"
	StartNumber            uint64
	Timeline               []Segment // one entry per segment, in order

	Representations []Representation
}

// Segment is one segment's earliest presentation time and duration, in the
// AdaptationSet's timescale.
type Segment struct {
	T, D uint64
}

// Representation is one rendition.
type Representation struct {
	ID        string
	Bandwidth int
	Codecs    string

	Width, Height int
	FrameRate     string // "30" or "30000/1001"
	SarW, SarH    int

	SampleRate int
	Channels   int

	BaseURL string // text: URL of the whole WebVTT file
}

// Marshal renders the MPD as XML.
func Marshal(m *MPD) ([]byte, error) {
	typ := "static"
	if m.Dynamic {
		typ = "dynamic"
	}
	out := mpd.NewMPD(typ)
	out.Profiles = Profiles
	out.PublishTime = mpd.DateTime(m.PublishTime.UTC().Format("2006-01-02T15:04:05.000Z"))
	out.MinBufferTime = dur(m.MinBufferTime)
	if m.MaxSegmentDuration > 0 {
		out.MaxSegmentDuration = dur(m.MaxSegmentDuration)
	}
	if m.Dynamic {
		out.AvailabilityStartTime = EpochStart
		out.MinimumUpdatePeriod = dur(m.MinimumUpdatePeriod)
		out.TimeShiftBufferDepth = dur(m.TimeShiftBufferDepth)
		out.SuggestedPresentationDelay = dur(m.SuggestedPresentationDelay)
		if m.UTCTimingURL != "" {
			out.UTCTimings = []*mpd.DescriptorType{mpd.NewDescriptor(UTCTimingScheme, m.UTCTimingURL, "")}
		}
	} else {
		out.MediaPresentationDuration = dur(m.MediaPresentationDuration)
	}
	for i := range m.Periods {
		p, err := period(&m.Periods[i])
		if err != nil {
			return nil, err
		}
		out.Periods = append(out.Periods, p)
	}
	if m.Dynamic && m.LowLatency != nil {
		if err := lowLatency(out, m); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if _, err := out.Write(&buf, "  ", true); err != nil {
		return nil, fmt.Errorf("dash: writing MPD: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func dur(d time.Duration) *mpd.Duration {
	v := mpd.Duration(d)
	return &v
}

func period(p *Period) (*mpd.Period, error) {
	out := mpd.NewPeriod()
	out.Id = p.ID
	out.Start = dur(p.Start)
	for i := range p.AdaptationSets {
		as := &p.AdaptationSets[i]
		if (len(as.Timeline) == 0 && as.ContentType != "text") || len(as.Representations) == 0 {
			return nil, fmt.Errorf("dash: period %s: adaptation set %d is empty", p.ID, as.ID)
		}
		out.AdaptationSets = append(out.AdaptationSets, adaptationSet(as))
	}
	return out, nil
}

func adaptationSet(a *AdaptationSet) *mpd.AdaptationSetType {
	if a.ContentType == "text" {
		return textAdaptationSet(a)
	}
	out := mpd.NewAdaptationSetWithParams(a.ContentType, a.ContentType+"/mp4", true, 1)
	out.Id = mpd.Ptr(a.ID)
	out.Lang = a.Lang
	describe(out, a)
	st := &mpd.SegmentTemplateType{Media: a.Media, Initialization: a.Initialization}
	st.Timescale = mpd.Ptr(a.Timescale)
	st.PresentationTimeOffset = mpd.Ptr(a.PresentationTimeOffset)
	st.StartNumber = mpd.Ptr(uint32(a.StartNumber))
	st.SegmentTimeline = &mpd.SegmentTimelineType{S: timeline(a.Timeline)}
	out.SegmentTemplate = st
	var maxW, maxH uint32
	for _, r := range a.Representations {
		rep := mpd.NewRepresentationWithID(r.ID, r.Codecs, "", r.Bandwidth)
		if a.ContentType == "video" {
			rep.Width, rep.Height = uint32(r.Width), uint32(r.Height)
			rep.FrameRate = mpd.FrameRateType(r.FrameRate)
			if r.SarW > 0 && r.SarH > 0 {
				rep.Sar = mpd.RatioType(strconv.Itoa(r.SarW) + ":" + strconv.Itoa(r.SarH))
			}
			maxW, maxH = max(maxW, rep.Width), max(maxH, rep.Height)
		} else {
			if r.SampleRate > 0 {
				rep.AudioSamplingRate = mpd.Ptr(mpd.UIntVectorType(strconv.Itoa(r.SampleRate)))
			}
			if r.Channels > 0 {
				rep.AudioChannelConfigurations = []*mpd.DescriptorType{mpd.NewDescriptor(
					"urn:mpeg:dash:23003:3:audio_channel_configuration:2011", strconv.Itoa(r.Channels), "")}
			}
		}
		out.Representations = append(out.Representations, rep)
	}
	if a.ContentType == "video" {
		out.MaxWidth, out.MaxHeight = maxW, maxH
	}
	return out
}

// describe adds a's Role and Label.
func describe(out *mpd.AdaptationSetType, a *AdaptationSet) {
	if a.Role != "" {
		out.Roles = []*mpd.DescriptorType{mpd.NewRole(a.Role)}
	}
	if a.Label != "" {
		out.Labels = []*mpd.LabelType{{Value: a.Label}}
	}
	if a.SelectionPriority > 0 {
		out.SelectionPriority = mpd.Ptr(a.SelectionPriority)
	}
}

// textAdaptationSet lists sidecar WebVTT files, one per Representation.
func textAdaptationSet(a *AdaptationSet) *mpd.AdaptationSetType {
	out := mpd.NewAdaptationSetWithParams("text", "text/vtt", false, 0)
	out.Id = mpd.Ptr(a.ID)
	out.Lang = a.Lang
	describe(out, a)
	for _, r := range a.Representations {
		rep := mpd.NewRepresentationWithID(r.ID, "", "", r.Bandwidth)
		rep.BaseURLs = []*mpd.BaseURLType{mpd.NewBaseURL(r.BaseURL)}
		out.Representations = append(out.Representations, rep)
	}
	return out
}

// timeline compresses segments into S elements: t is written when a segment
// does not start where the previous one ended, r counts repeats.
func timeline(segs []Segment) []*mpd.S {
	var out []*mpd.S
	var end uint64
	for i, s := range segs {
		if i > 0 && s.T == end {
			last := out[len(out)-1]
			if last.D == s.D {
				last.R++
			} else {
				out = append(out, &mpd.S{D: s.D})
			}
		} else {
			out = append(out, &mpd.S{T: mpd.Ptr(s.T), D: s.D})
		}
		end = s.T + s.D
	}
	return out
}

// FrameRate renders a frame rate as MPD@frameRate wants it: an integer, an
// NTSC-style N*1000/1001 fraction, or a fraction over 1000.
func FrameRate(fps float64) string {
	if fps <= 0 {
		return ""
	}
	if r := float64(int64(fps + 0.5)); abs(fps-r) < 0.005 {
		return strconv.FormatInt(int64(r), 10)
	}
	if n := float64(int64(fps*1.001 + 0.5)); abs(fps-n*1000/1001) < 0.005 {
		return strconv.FormatInt(int64(n*1000), 10) + "/1001"
	}
	return strconv.FormatInt(int64(fps*1000+0.5), 10) + "/1000"
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
