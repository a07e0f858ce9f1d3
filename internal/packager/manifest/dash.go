package manifest

import (
	"slices"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/dash"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// LiveOptions are what a live MPD says beyond its segments.
type LiveOptions struct {
	Window  int    // segments in the window: timeShiftBufferDepth
	TimeURL string // UTCTiming http-iso URL
	// LowLatency, when set, makes the MPD a low-latency one (segments
	// available a chunk after they start, sent in chunks while produced)
	// that also lists the segment after the window at its nominal
	// duration: the one being produced, which players request before it
	// is complete. The update period is then at most a second.
	LowLatency *dash.LowLatency
}

// MPD renders the MPD of the window: dynamic and epoch-locked while live,
// static (starting at the first listed segment) once final. o gives the
// live-only attributes (window depth, UTCTiming).
func (v *View) MPD(final bool, now time.Time, o LiveOptions) ([]byte, error) {
	return dash.Marshal(v.mpdModel(final, now, o))
}

func (v *View) mpdModel(final bool, now time.Time, o LiveOptions) *dash.MPD {
	D := v.SegDur
	m := &dash.MPD{
		Dynamic:            !final,
		PublishTime:        now,
		MinBufferTime:      D,
		MaxSegmentDuration: v.MaxSegDur.Round(time.Millisecond),
	}
	if m.MaxSegmentDuration < v.MaxSegDur {
		m.MaxSegmentDuration += time.Millisecond
	}
	ll := !final && o.LowLatency != nil
	if !final {
		m.MinimumUpdatePeriod = D
		m.TimeShiftBufferDepth = time.Duration(o.Window) * D
		m.SuggestedPresentationDelay = 3 * D
		m.UTCTimingURL = o.TimeURL
	}
	if ll {
		m.LowLatency = o.LowLatency
		m.MinimumUpdatePeriod = min(D, time.Second)
	}
	// Holes (numbers skipped by a continuation) are not in the MPD: they
	// end the period before the continuation's, which starts a new one.
	win := slices.DeleteFunc(slices.Clone(v.Window), func(r *Segment) bool { return r.Hole })
	var presStart time.Duration
	for i := 0; i < len(win); {
		j := i
		for j < len(win) && win[j].Period == win[i].Period {
			j++
		}
		recs := win[i:j]
		start := recs[0].Period.Start
		if final {
			if i == 0 {
				presStart = recs[0].Start()
				start = presStart
			}
			start = max(start, presStart)
		}
		p := dash.Period{ID: "p" + strconv.FormatUint(recs[0].Period.ID, 10), Start: start}
		if final {
			p.Start = start - presStart
		}
		var next time.Duration
		if ll && j == len(win) {
			next = D
		}
		p.AdaptationSets = v.adaptationSets(recs, start, next)
		m.Periods = append(m.Periods, p)
		i = j
	}
	if final && len(win) > 0 {
		last := win[len(win)-1]
		le := last.Entry(last.Lead)
		m.MediaPresentationDuration = timeline.SinceEpoch(le.T+le.D, le.TS) - presStart
	}
	return m
}

// adaptationSets builds one video AdaptationSet (timeline of the lead) and
// one per audio rendition for the records of one period; next, when not
// zero, lists one more segment of that duration after them.
func (v *View) adaptationSets(recs []*Segment, start, next time.Duration) []dash.AdaptationSet {
	predict := func(tl []dash.Segment, ts uint32) []dash.Segment {
		if next <= 0 || len(tl) == 0 {
			return tl
		}
		last := tl[len(tl)-1]
		return append(tl, dash.Segment{T: last.T + last.D, D: timeline.TicksAt(int64(next), ts)})
	}
	first := recs[0]
	tmpl := func(kind string, ts uint32, segs []dash.Segment) dash.AdaptationSet {
		return dash.AdaptationSet{
			ContentType:            kind,
			Timescale:              ts,
			PresentationTimeOffset: timeline.TicksAt(int64(start), ts),
			Initialization:         JoinKey(v.Dir, "$RepresentationID$/"+InitName(first.InitV)),
			Media:                  JoinKey(v.Dir, "$RepresentationID$/$Number$.m4s"),
			StartNumber:            first.N,
			Timeline:               segs,
		}
	}
	var sets []dash.AdaptationSet
	video := -1 // index in sets (appending may move them)
	audios, def := v.audios()
	for _, e := range first.Entries {
		ri := v.Rends[e.Name]
		switch {
		case e.Kind == media.Video:
			if video < 0 {
				le := first.Entry(first.Lead)
				tl := make([]dash.Segment, 0, len(recs))
				for _, r := range recs {
					x := r.Entry(r.Lead)
					tl = append(tl, dash.Segment{T: timeline.Rescale(x.T, x.TS, le.TS), D: timeline.Rescale(x.D, x.TS, le.TS)})
				}
				as := tmpl("video", le.TS, predict(tl, le.TS))
				as.ID = 1
				video = len(sets)
				sets = append(sets, as)
			}
			sets[video].Representations = append(sets[video].Representations, dash.Representation{
				ID: e.Name, Bandwidth: ri.Bandwidth, Codecs: ri.Codecs, Width: ri.Width, Height: ri.Height,
				FrameRate: dash.FrameRate(ri.FrameRate), SarW: ri.SarW, SarH: ri.SarH,
			})
		default:
			tl := make([]dash.Segment, 0, len(recs))
			for _, r := range recs {
				if x := r.Entry(e.Name); x != nil {
					tl = append(tl, dash.Segment{T: x.T, D: x.D})
				}
			}
			as := tmpl("audio", e.TS, predict(tl, e.TS))
			as.ID, as.Lang = uint32(len(sets)+1), "und"
			if i := slices.IndexFunc(audios, func(a audioRend) bool { return a.name == e.Name }); i >= 0 {
				if ri.Language != "" {
					as.Lang = ri.Language
				}
				as.Label = v.audioLabel(ri, i)
				if len(audios) > 1 {
					// Let players start with the default rendition.
					as.Role = "alternate"
					if i == def {
						as.Role, as.SelectionPriority = "main", 2
					}
				}
			}
			as.Representations = []dash.Representation{{
				ID: e.Name, Bandwidth: ri.Bandwidth, Codecs: ri.Codecs, SampleRate: ri.SampleRate, Channels: ri.Channels,
			}}
			sets = append(sets, as)
		}
	}
	return sets
}

// subtitleTextBandwidth is the nominal bandwidth of a WebVTT Representation.
const subtitleTextBandwidth = 256

// Duration is the presentation Duration: from the earliest segment start
// to the end of the lead's last segment (as the static MPD says).
func (v *View) Duration() time.Duration {
	last := v.Window[len(v.Window)-1]
	le := last.Entry(last.Lead)
	return timeline.SinceEpoch(le.T+le.D, le.TS) - v.Window[0].Start()
}

// VODMPD is the static MPD of every segment, with a text AdaptationSet per
// subtitle.
func (v *View) VODMPD(published time.Time) *dash.MPD {
	m := v.mpdModel(true, published, LiveOptions{})
	p := &m.Periods[len(m.Periods)-1] // a VOD has one period
	names := map[string]bool{}
	for _, s := range v.Subs {
		as := dash.AdaptationSet{
			ID: uint32(len(p.AdaptationSets) + 1), ContentType: "text", Lang: s.Language,
			Label: uniqueName(names, subtitleLabel(s), s.Name), Role: "subtitle",
			Representations: []dash.Representation{{ID: "subs-" + s.Name, Bandwidth: subtitleTextBandwidth, BaseURL: s.Path}},
		}
		if as.Lang == "" {
			as.Lang = "und"
		}
		if s.Default {
			as.SelectionPriority = 2
		}
		p.AdaptationSets = append(p.AdaptationSets, as)
	}
	return m
}
