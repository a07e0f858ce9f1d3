package packager

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/dash"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
)

// Manifest keys under the prefix.
const (
	multivariantKey = "index.m3u8"
	mpdKey          = "manifest.mpd"
	playlistName    = "index.m3u8"
	audioGroup      = "audio"
	subtitleGroup   = "subs"
)

// writeManifests takes the view of what is published now and writes its
// manifests. While live, state.json (which records the view) is saved
// first, so that Recover never ends a shorter window than viewers saw; due
// deletions run last. End saves state itself. While the background writer
// runs (live), they are queued as its latest batch, superseding the
// unwritten part of the previous one; failures are retried there.
func (l *Live) writeManifests(final bool) error {
	v := l.snapshot()
	// Renditions that left the ladder since the last view keep the
	// playlist it wrote (frozen.go); the view carries the frozen set.
	l.freeze(l.last, v)
	v.frozen = slices.Clone(l.frozen)
	l.last = v
	var errs []error
	if l.w != nil && !final {
		items, rerrs := l.renderManifests(v, false)
		errs = rerrs
		state, err := l.stateData(false)
		if err != nil {
			errs = append(errs, err)
		} else {
			items = append([]writer.Object{{Key: l.key(stateKey), Data: state}}, items...)
		}
		l.w.SetBatch(items)
		l.runDeletes()
	} else {
		if !final {
			if err := l.saveState(false); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, l.putManifests(v, final)...)
		if !final {
			l.runDeletes()
		}
	}
	if len(errs) > 0 {
		l.storeErrors += int64(len(errs))
		for _, err := range errs {
			l.log.Error("writing manifests", "error", err)
		}
	}
	return errors.Join(errs...)
}

// renderManifests renders the media playlists, the MPD and (when it
// changed) the multivariant playlist of v, taking the latter as written.
func (l *Live) renderManifests(v *view, final bool) ([]writer.Object, []error) {
	var items []writer.Object
	var errs []error
	for _, t := range v.tracks {
		if pl := v.mediaPlaylist(t.name, final); pl != nil {
			items = append(items, writer.Object{Key: l.key(v.playlistPath(t.name)), Data: pl.Marshal()})
		}
	}
	if final {
		keys, pls := v.endFrozen()
		for i, k := range keys {
			items = append(items, writer.Object{Key: l.key(k), Data: pls[i]})
		}
	}
	if data, err := v.mpd(final, l.cfg.Now(), &l.cfg); err != nil {
		errs = append(errs, err)
	} else {
		items = append(items, writer.Object{Key: l.key(mpdKey), Data: data})
	}
	if mv := v.multivariant(); !bytes.Equal(mv, l.multivar) {
		items = append(items, writer.Object{Key: l.key(multivariantKey), Data: mv})
		l.multivar = mv
	}
	return items, errs
}

// putManifests stores the media playlists, the MPD and (when it changed)
// the multivariant playlist of v at once. End and Recover share it.
func (l *Live) putManifests(v *view, final bool) []error {
	prevMV := l.multivar
	items, errs := l.renderManifests(v, final)
	for _, it := range items {
		if err := l.put(it.Key, it.Data); err != nil {
			errs = append(errs, fmt.Errorf("storing %s: %w", it.Key, err))
			if it.Key == l.key(multivariantKey) {
				l.multivar = prevMV
			}
		}
	}
	return errs
}

// listedFor returns the window's last segments that have an entry for name
// (a rendition added by a later epoch starts its playlist there).
func (v *view) listedFor(name string) []*segRecord {
	i := len(v.window)
	for i > 0 && v.window[i-1].entry(name) != nil {
		i--
	}
	return v.window[i:]
}

func (v *view) mediaPlaylist(name string, final bool) *hls.MediaPlaylist {
	segs := v.listedFor(name)
	if len(segs) == 0 {
		return nil
	}
	first := segs[0]
	p := &hls.MediaPlaylist{
		TargetDuration:        hls.TargetDuration(v.maxSegDur),
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
			Duration:        timeline.Duration(e.d, e.ts),
			ProgramDateTime: timeline.Time(e.t, e.ts),
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

func (v *view) multivariant() []byte {
	var m hls.Multivariant
	audios, def := v.audios()
	var audioBW, audioAvg int
	var audioCodecs []string
	names := map[string]bool{}
	for i, a := range audios {
		name := v.audioLabel(a.ri, i)
		if name == "" {
			name = a.name
		}
		m.Renditions = append(m.Renditions, hls.Rendition{
			GroupID: audioGroup, Name: uniqueName(names, name, a.name), Language: a.ri.Language,
			Default: i == def, Autoselect: true, Channels: a.ri.Channels, URI: v.playlistPath(a.name),
		})
		// A variant's BANDWIDTH and CODECS cover every rendition of its group.
		audioBW, audioAvg = max(audioBW, a.ri.Bandwidth), max(audioAvg, a.ri.Average)
		if !slices.Contains(audioCodecs, a.ri.Codecs) {
			audioCodecs = append(audioCodecs, a.ri.Codecs)
		}
	}
	subs := v.subtitleRenditions()
	subGroup := ""
	if len(subs) > 0 {
		subGroup = subtitleGroup
	}
	hasVideo := false
	for _, t := range v.tracks {
		ri := v.rends[t.name]
		if t.kind != media.Video || ri == nil {
			continue
		}
		hasVideo = true
		vr := hls.Variant{
			URI:              v.playlistPath(t.name),
			Bandwidth:        ri.Bandwidth,
			AverageBandwidth: ri.Average,
			Codecs:           []string{ri.Codecs},
			Width:            ri.Width,
			Height:           ri.Height,
			FrameRate:        float64(int64(ri.FrameRate*1000+0.5)) / 1000,
			Subtitles:        subGroup,
		}
		if len(audios) > 0 {
			vr.Bandwidth += audioBW
			vr.AverageBandwidth += audioAvg
			vr.Codecs = append(vr.Codecs, audioCodecs...)
			vr.Audio = audioGroup
		}
		m.Variants = append(m.Variants, vr)
	}
	if !hasVideo {
		// Audio only: each audio rendition is a variant of its own.
		m.Renditions = nil
		for _, t := range v.tracks {
			if ri := v.rends[t.name]; ri != nil {
				m.Variants = append(m.Variants, hls.Variant{
					URI: v.playlistPath(t.name), Bandwidth: ri.Bandwidth, AverageBandwidth: ri.Average,
					Codecs: []string{ri.Codecs}, Subtitles: subGroup,
				})
			}
		}
	}
	m.Renditions = append(m.Renditions, subs...)
	return m.Marshal()
}

// audioRend is an audio rendition of the ladder.
type audioRend struct {
	name string
	ri   *rendView
}

// audios lists the ladder's audio renditions and the index of the default
// one: the first marked Default, else the first.
func (v *view) audios() (list []audioRend, def int) {
	def = -1
	for _, t := range v.tracks {
		ri := v.rends[t.name]
		if t.kind != media.Audio || ri == nil {
			continue
		}
		if ri.Default && def < 0 {
			def = len(list)
		}
		list = append(list, audioRend{t.name, ri})
	}
	return list, max(def, 0)
}

// audioLabel is the human name of the i-th audio rendition: its label, the
// name of its language, "Audio N" for VOD, else "".
func (v *view) audioLabel(ri *rendView, i int) string {
	switch {
	case ri.Label != "":
		return ri.Label
	case ri.Language != "":
		return languageName(ri.Language)
	case v.vod:
		return "Audio " + strconv.Itoa(i+1)
	}
	return ""
}

// uniqueName returns name, or name and suffix when name is already taken
// (NAME must be unique within a group).
func uniqueName(taken map[string]bool, name, suffix string) string {
	if taken[name] {
		name += " (" + suffix + ")"
	}
	taken[name] = true
	return name
}

// mpd renders the MPD of the window: dynamic and epoch-locked while live,
// static (starting at the first listed segment) once final. cfg gives the
// live-only attributes (window depth, UTCTiming).
func (v *view) mpd(final bool, now time.Time, cfg *Config) ([]byte, error) {
	return dash.Marshal(v.mpdModel(final, now, cfg))
}

func (v *view) mpdModel(final bool, now time.Time, cfg *Config) *dash.MPD {
	D := v.segDur
	m := &dash.MPD{
		Dynamic:            !final,
		PublishTime:        now,
		MinBufferTime:      D,
		MaxSegmentDuration: v.maxSegDur.Round(time.Millisecond),
	}
	if m.MaxSegmentDuration < v.maxSegDur {
		m.MaxSegmentDuration += time.Millisecond
	}
	if !final {
		m.MinimumUpdatePeriod = D
		m.TimeShiftBufferDepth = time.Duration(cfg.Window) * D
		m.SuggestedPresentationDelay = 3 * D
		m.UTCTimingURL = cfg.TimeURL
	}
	var presStart time.Duration
	for i := 0; i < len(v.window); {
		j := i
		for j < len(v.window) && v.window[j].period == v.window[i].period {
			j++
		}
		recs := v.window[i:j]
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
		p.AdaptationSets = v.adaptationSets(recs, start)
		m.Periods = append(m.Periods, p)
		i = j
	}
	if final && len(v.window) > 0 {
		last := v.window[len(v.window)-1]
		le := last.entry(last.lead)
		m.MediaPresentationDuration = timeline.SinceEpoch(le.t+le.d, le.ts) - presStart
	}
	return m
}

// adaptationSets builds one video AdaptationSet (timeline of the lead) and
// one per audio rendition for the records of one period.
func (v *view) adaptationSets(recs []*segRecord, start time.Duration) []dash.AdaptationSet {
	first := recs[0]
	tmpl := func(kind string, ts uint32, segs []dash.Segment) dash.AdaptationSet {
		return dash.AdaptationSet{
			ContentType:            kind,
			Timescale:              ts,
			PresentationTimeOffset: timeline.TicksAt(int64(start), ts),
			Initialization:         joinKey(v.dir, "$RepresentationID$/"+initName(first.initV)),
			Media:                  joinKey(v.dir, "$RepresentationID$/$Number$.m4s"),
			StartNumber:            first.n,
			Timeline:               segs,
		}
	}
	var sets []dash.AdaptationSet
	video := -1 // index in sets (appending may move them)
	audios, def := v.audios()
	for _, e := range first.entries {
		ri := v.rends[e.name]
		switch {
		case e.kind == media.Video:
			if video < 0 {
				le := first.entry(first.lead)
				tl := make([]dash.Segment, 0, len(recs))
				for _, r := range recs {
					x := r.entry(r.lead)
					tl = append(tl, dash.Segment{T: timeline.Rescale(x.t, x.ts, le.ts), D: timeline.Rescale(x.d, x.ts, le.ts)})
				}
				as := tmpl("video", le.ts, tl)
				as.ID = 1
				video = len(sets)
				sets = append(sets, as)
			}
			sets[video].Representations = append(sets[video].Representations, dash.Representation{
				ID: e.name, Bandwidth: ri.Bandwidth, Codecs: ri.Codecs, Width: ri.Width, Height: ri.Height,
				FrameRate: dash.FrameRate(ri.FrameRate), SarW: ri.SarW, SarH: ri.SarH,
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
			if i := slices.IndexFunc(audios, func(a audioRend) bool { return a.name == e.name }); i >= 0 {
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
				ID: e.name, Bandwidth: ri.Bandwidth, Codecs: ri.Codecs, SampleRate: ri.SampleRate, Channels: ri.Channels,
			}}
			sets = append(sets, as)
		}
	}
	return sets
}
