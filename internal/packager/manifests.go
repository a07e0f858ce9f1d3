package packager

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/dash"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
)

// Manifest keys under the prefix.
const (
	multivariantKey = "index.m3u8"
	mpdKey          = "manifest.mpd"
	playlistName    = "index.m3u8"
	audioGroup      = "audio"
)

// writeManifests writes the media playlists, the MPD and (when it changed)
// the multivariant playlist, then saves state and runs due deletions.
func (l *Live) writeManifests(final bool) error {
	var errs []error
	for _, t := range l.ep.tracks {
		pl := l.mediaPlaylist(t.name, final)
		if pl == nil {
			continue
		}
		if err := l.put(l.key(t.name+"/"+playlistName), pl.Marshal()); err != nil {
			errs = append(errs, fmt.Errorf("storing %s playlist: %w", t.name, err))
		}
	}
	if data, err := l.mpd(final); err != nil {
		errs = append(errs, err)
	} else if err := l.put(l.key(mpdKey), data); err != nil {
		errs = append(errs, fmt.Errorf("storing MPD: %w", err))
	}
	if mv := l.multivariant(); !bytes.Equal(mv, l.multivar) {
		if err := l.put(l.key(multivariantKey), mv); err != nil {
			errs = append(errs, fmt.Errorf("storing multivariant playlist: %w", err))
		} else {
			l.multivar = mv
		}
	}
	if !final {
		if err := l.saveState(false); err != nil {
			errs = append(errs, err)
		}
		l.runDeletes()
	}
	if len(errs) > 0 {
		l.storeErrors += int64(len(errs))
		for _, err := range errs {
			l.log.Error("writing manifests", "error", err)
		}
	}
	return errors.Join(errs...)
}

// listedFor returns the window's last segments that have an entry for name
// (a rendition added by a later epoch starts its playlist there).
func (l *Live) listedFor(name string) []*segRecord {
	i := len(l.window)
	for i > 0 && l.window[i-1].entry(name) != nil {
		i--
	}
	return l.window[i:]
}

func (l *Live) mediaPlaylist(name string, final bool) *hls.MediaPlaylist {
	segs := l.listedFor(name)
	if len(segs) == 0 {
		return nil
	}
	first := segs[0]
	p := &hls.MediaPlaylist{
		TargetDuration:        hls.TargetDuration(l.maxSegDur),
		MediaSequence:         first.n,
		DiscontinuitySequence: first.dseq,
		EndList:               final,
		Segments:              make([]hls.Segment, 0, len(segs)),
	}
	if first.disc {
		p.DiscontinuitySequence--
	}
	for i, r := range segs {
		e := r.entry(name)
		s := hls.Segment{
			URI:             strconv.FormatUint(r.n, 10) + ".m4s",
			Duration:        ticksDur(e.d, e.ts),
			ProgramDateTime: epochTime(e.t, e.ts),
			Discontinuity:   r.disc,
			Gap:             e.gap,
		}
		if i == 0 || r.initV != segs[i-1].initV {
			s.Map = initName(r.initV)
		}
		p.Segments = append(p.Segments, s)
	}
	return p
}

func (l *Live) multivariant() []byte {
	var m hls.Multivariant
	var audio *rendInfo
	for _, t := range l.ep.tracks {
		ri := l.rends[t.name]
		if t.kind != media.Audio || ri == nil {
			continue
		}
		if audio == nil {
			audio = ri
		}
		m.Renditions = append(m.Renditions, hls.Rendition{
			GroupID: audioGroup, Name: t.name, Default: audio == ri, Autoselect: true,
			Channels: ri.info.Channels, URI: t.name + "/" + playlistName,
		})
	}
	hasVideo := false
	for _, t := range l.ep.tracks {
		ri := l.rends[t.name]
		if t.kind != media.Video || ri == nil {
			continue
		}
		hasVideo = true
		v := hls.Variant{
			URI:              t.name + "/" + playlistName,
			Bandwidth:        ri.peakRate(),
			AverageBandwidth: ri.average(),
			Codecs:           []string{ri.info.Codecs},
			Width:            ri.info.Width,
			Height:           ri.info.Height,
			FrameRate:        float64(int64(ri.fps*1000+0.5)) / 1000,
		}
		if audio != nil {
			v.Bandwidth += audio.peakRate()
			v.AverageBandwidth += audio.average()
			v.Codecs = append(v.Codecs, audio.info.Codecs)
			v.Audio = audioGroup
		}
		m.Variants = append(m.Variants, v)
	}
	if !hasVideo {
		// Audio only: each audio rendition is a variant of its own.
		m.Renditions = nil
		for _, t := range l.ep.tracks {
			if ri := l.rends[t.name]; ri != nil {
				m.Variants = append(m.Variants, hls.Variant{
					URI: t.name + "/" + playlistName, Bandwidth: ri.peakRate(), AverageBandwidth: ri.average(),
					Codecs: []string{ri.info.Codecs},
				})
			}
		}
	}
	return m.Marshal()
}

// mpd renders the MPD of the window: dynamic and epoch-locked while live,
// static (starting at the first listed segment) once final.
func (l *Live) mpd(final bool) ([]byte, error) {
	D := l.cfg.SegmentDuration
	m := &dash.MPD{
		Dynamic:            !final,
		PublishTime:        l.cfg.Now(),
		MinBufferTime:      D,
		MaxSegmentDuration: l.maxSegDur.Round(time.Millisecond),
	}
	if m.MaxSegmentDuration < l.maxSegDur {
		m.MaxSegmentDuration += time.Millisecond
	}
	if !final {
		m.MinimumUpdatePeriod = D
		m.TimeShiftBufferDepth = time.Duration(l.cfg.Window) * D
		m.SuggestedPresentationDelay = 3 * D
		m.UTCTimingURL = l.cfg.TimeURL
	}
	var presStart time.Duration
	for i := 0; i < len(l.window); {
		j := i
		for j < len(l.window) && l.window[j].period == l.window[i].period {
			j++
		}
		recs := l.window[i:j]
		start := recs[0].period.start
		if final {
			if i == 0 {
				presStart = recs[0].start()
				start = presStart
			}
			start = max(start, presStart)
		}
		p := dash.Period{ID: "p" + strconv.FormatUint(recs[0].period.id, 10), Start: start}
		if final {
			p.Start = start - presStart
		}
		p.AdaptationSets = l.adaptationSets(recs, start)
		m.Periods = append(m.Periods, p)
		i = j
	}
	if final && len(l.window) > 0 {
		last := l.window[len(l.window)-1]
		le := last.entry(last.lead)
		m.MediaPresentationDuration = sinceEpoch(le.t+le.d, le.ts) - presStart
	}
	return dash.Marshal(m)
}

// adaptationSets builds one video AdaptationSet (timeline of the lead) and
// one per audio rendition for the records of one period.
func (l *Live) adaptationSets(recs []*segRecord, start time.Duration) []dash.AdaptationSet {
	first := recs[0]
	tmpl := func(kind string, ts uint32, timeline []dash.Segment) dash.AdaptationSet {
		return dash.AdaptationSet{
			ContentType:            kind,
			Timescale:              ts,
			PresentationTimeOffset: ticksAt(int64(start), ts),
			Initialization:         "$RepresentationID$/" + initName(first.initV),
			Media:                  "$RepresentationID$/$Number$.m4s",
			StartNumber:            first.n,
			Timeline:               timeline,
		}
	}
	var sets []dash.AdaptationSet
	var video *dash.AdaptationSet
	for _, e := range first.entries {
		ri := l.rends[e.name]
		switch {
		case e.kind == media.Video:
			if video == nil {
				le := first.entry(first.lead)
				tl := make([]dash.Segment, 0, len(recs))
				for _, r := range recs {
					x := r.entry(r.lead)
					tl = append(tl, dash.Segment{T: rescale(x.t, x.ts, le.ts), D: rescale(x.d, x.ts, le.ts)})
				}
				as := tmpl("video", le.ts, tl)
				as.ID = 1
				sets = append(sets, as)
				video = &sets[len(sets)-1]
			}
			video.Representations = append(video.Representations, dash.Representation{
				ID: e.name, Bandwidth: ri.peakRate(), Codecs: ri.info.Codecs, Width: ri.info.Width, Height: ri.info.Height,
				FrameRate: dash.FrameRate(ri.fps), SarW: ri.info.SarW, SarH: ri.info.SarH,
			})
		default:
			tl := make([]dash.Segment, 0, len(recs))
			for _, r := range recs {
				if x := r.entry(e.name); x != nil {
					tl = append(tl, dash.Segment{T: x.t, D: x.d})
				}
			}
			as := tmpl("audio", e.ts, tl)
			as.ID, as.Lang = uint32(len(sets)+1), "und"
			as.Representations = []dash.Representation{{
				ID: e.name, Bandwidth: ri.peakRate(), Codecs: ri.info.Codecs, SampleRate: ri.info.SampleRate, Channels: ri.info.Channels,
			}}
			sets = append(sets, as)
		}
	}
	return sets
}
