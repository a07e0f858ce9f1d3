package manifest

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// Manifest keys under the prefix.
const (
	MultivariantKey = "index.m3u8"
	MPDKey          = "manifest.mpd"
	PlaylistName    = "index.m3u8"
	audioGroup      = "audio"
	subtitleGroup   = "subs"
)

// listedFor returns the window's last segments that have an entry for name
// (a rendition added by a later epoch starts its playlist there).
func (v *View) listedFor(name string) []*Segment {
	i := len(v.Window)
	for i > 0 && v.Window[i-1].Entry(name) != nil {
		i--
	}
	return v.Window[i:]
}

func (v *View) MediaPlaylist(name string, final bool) *hls.MediaPlaylist {
	segs := v.listedFor(name)
	if len(segs) == 0 {
		return nil
	}
	first := segs[0]
	p := &hls.MediaPlaylist{
		TargetDuration:        hls.TargetDuration(v.MaxSegDur),
		MediaSequence:         first.N,
		DiscontinuitySequence: first.DSeq,
		EndList:               final,
		Segments:              make([]hls.Segment, 0, len(segs)),
	}
	if first.Disc {
		p.DiscontinuitySequence--
	}
	for i, r := range segs {
		e := r.Entry(name)
		s := hls.Segment{
			URI:             strconv.FormatUint(r.N, 10) + ".m4s",
			Duration:        timeline.Duration(e.D, e.TS),
			ProgramDateTime: timeline.Time(e.T, e.TS),
			Discontinuity:   r.Disc,
			Gap:             e.Gap,
		}
		if i == 0 || r.InitV != segs[i-1].InitV {
			s.Map = InitName(r.InitV)
		}
		p.Segments = append(p.Segments, s)
	}
	return p
}

func (v *View) Multivariant() []byte {
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
			Default: i == def, Autoselect: true, Channels: a.ri.Channels, URI: v.PlaylistPath(a.name),
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
	for _, t := range v.Tracks {
		ri := v.Rends[t.Name]
		if t.Kind != media.Video || ri == nil {
			continue
		}
		hasVideo = true
		vr := hls.Variant{
			URI:              v.PlaylistPath(t.Name),
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
		for _, t := range v.Tracks {
			if ri := v.Rends[t.Name]; ri != nil {
				m.Variants = append(m.Variants, hls.Variant{
					URI: v.PlaylistPath(t.Name), Bandwidth: ri.Bandwidth, AverageBandwidth: ri.Average,
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
	ri   *Rendition
}

// audios lists the ladder's audio renditions and the index of the default
// one: the first marked Default, else the first.
func (v *View) audios() (list []audioRend, def int) {
	def = -1
	for _, t := range v.Tracks {
		ri := v.Rends[t.Name]
		if t.Kind != media.Audio || ri == nil {
			continue
		}
		if ri.Default && def < 0 {
			def = len(list)
		}
		list = append(list, audioRend{t.Name, ri})
	}
	return list, max(def, 0)
}

// audioLabel is the human name of the i-th audio rendition: its label, the
// name of its language, "Audio N" for VOD, else "".
func (v *View) audioLabel(ri *Rendition, i int) string {
	switch {
	case ri.Label != "":
		return ri.Label
	case ri.Language != "":
		return LanguageName(ri.Language)
	case v.VOD:
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

// Subtitle is a sidecar WebVTT file of an asset.
type Subtitle struct {
	Name     string // path element, e.g. "en"
	Language string // BCP 47
	Label    string // e.g. "English"; "" derives one from Language
	Path     string // key relative to prefix of a complete WebVTT file, e.g. "subs/en.vtt"
	Default  bool
}

// VODPlaylist is the ended media playlist of a rendition, as a VOD one:
// EXT-X-PLAYLIST-TYPE:VOD and no program date times (media time starts at 0).
func (v *View) VODPlaylist(name string) []byte {
	p := v.MediaPlaylist(name, true)
	p.PlaylistType = "VOD"
	for i := range p.Segments {
		p.Segments[i].ProgramDateTime = time.Time{}
	}
	return p.Marshal()
}

// subtitleRenditions lists the subtitles as EXT-X-MEDIA entries of the
// group "subs" (at most one DEFAULT=YES, the first marked Default).
func (v *View) subtitleRenditions() []hls.Rendition {
	var out []hls.Rendition
	names := map[string]bool{}
	hasDefault := false
	for _, s := range v.Subs {
		def := s.Default && !hasDefault
		hasDefault = hasDefault || def
		out = append(out, hls.Rendition{
			Type: hls.Subtitles, GroupID: subtitleGroup, Name: uniqueName(names, subtitleLabel(s), s.Name),
			Language: s.Language, Default: def, Autoselect: true, URI: SubtitlePlaylistKey(s.Name),
		})
	}
	return out
}

func subtitleLabel(s Subtitle) string {
	switch {
	case s.Label != "":
		return s.Label
	case s.Language != "":
		return LanguageName(s.Language)
	}
	return s.Name
}

func SubtitlePlaylistKey(name string) string { return subtitleGroup + "/" + name + ".m3u8" }

// SubtitlePlaylist is the media playlist of a sidecar WebVTT file: one
// segment, the whole file, for the whole presentation.
func SubtitlePlaylist(s Subtitle, dur time.Duration) []byte {
	uri := "../" + s.Path // relative to the playlist, in subs/
	if rest, ok := strings.CutPrefix(s.Path, subtitleGroup+"/"); ok {
		uri = rest
	}
	p := hls.MediaPlaylist{
		TargetDuration: hls.TargetDuration(dur),
		PlaylistType:   "VOD",
		EndList:        true,
		Segments:       []hls.Segment{{URI: uri, Duration: dur}},
	}
	return p.Marshal()
}
