package origin

import (
	"slices"
	"strings"
)

// kind is what a rendition carries.
type kind int

const (
	kindUnknown kind = iota
	kindVideo
	kindAudio
	kindText
)

// codecFamilies classifies RFC 6381 codec families (the part of a CODECS
// entry before the first dot).
var codecFamilies = map[string]kind{
	"avc1": kindVideo, "avc3": kindVideo, "hvc1": kindVideo, "hev1": kindVideo,
	"dvh1": kindVideo, "dvhe": kindVideo, "dva1": kindVideo, "dvav": kindVideo,
	"av01": kindVideo, "vp08": kindVideo, "vp09": kindVideo, "vvc1": kindVideo, "vvi1": kindVideo,
	"mp4a": kindAudio, "ac-3": kindAudio, "ec-3": kindAudio, "ac-4": kindAudio,
	"opus": kindAudio, "flac": kindAudio, "alac": kindAudio, "mhm1": kindAudio, "mha1": kindAudio,
	"wvtt": kindText, "stpp": kindText,
}

// familyKind returns the kind of a codec entry or prefix.
func familyKind(codec string) kind {
	fam, _, _ := strings.Cut(strings.ToLower(codec), ".")
	return codecFamilies[fam]
}

func knownFamilies() string {
	var v, a []string
	for fam, k := range codecFamilies {
		switch k {
		case kindVideo:
			v = append(v, fam)
		case kindAudio:
			a = append(a, fam)
		}
	}
	slices.Sort(v)
	slices.Sort(a)
	return "video: " + strings.Join(v, ", ") + "; audio: " + strings.Join(a, ", ")
}

// codecMatches reports whether a CODECS entry starts with prefix at a dot
// boundary: "avc1" matches "avc1.64001F", "mp4a.40.2" matches "mp4a.40.2"
// but not "mp4a.40.29". Case-insensitive.
func codecMatches(entry, prefix string) bool {
	if len(entry) < len(prefix) || !strings.EqualFold(entry[:len(prefix)], prefix) {
		return false
	}
	return len(entry) == len(prefix) || entry[len(prefix)] == '.'
}

func matchesAny(entry string, prefixes []string) bool {
	for _, p := range prefixes {
		if codecMatches(entry, p) {
			return true
		}
	}
	return false
}

// rendition is what a filter looks at in one manifest entry: an HLS
// variant or rendition, or a DASH Representation (with what it inherits
// from its AdaptationSet). A value the manifest does not state has its
// has-flag cleared.
type rendition struct {
	kind   kind
	values [numAttributes]float64
	has    [numAttributes]bool
	codecs []string
	lang   string // "" when not stated
}

func (r *rendition) set(a attribute, v float64) {
	r.values[a], r.has[a] = v, true
}

// videoAttrs and audioAttrs are the attributes each kind is judged on.
var (
	videoAttrs = []attribute{attrHeight, attrVideoBitrate, attrFrameRate}
	audioAttrs = []attribute{attrAudioBitrate, attrSampleRate, attrChannels}
)

// keep reports whether r passes every constraint for its kind. Unknown
// kinds always pass: nothing says what they carry.
func (f *manifestFilter) keep(r *rendition) bool {
	switch r.kind {
	case kindVideo:
		return f.rangesOK(r, videoAttrs) && f.codecsOK(r.codecs)
	case kindAudio:
		return f.rangesOK(r, audioAttrs) && f.codecsOK(r.codecs) && langOK(f.audioLangs, r.lang)
	case kindText:
		return langOK(f.subLangs, r.lang)
	}
	return true
}

func (f *manifestFilter) rangesOK(r *rendition, attrs []attribute) bool {
	for _, a := range attrs {
		if !r.has[a] {
			continue
		}
		for _, set := range f.ranges[a] {
			if !set.contains(r.values[a]) {
				return false
			}
		}
	}
	return true
}

// codecsOK applies the codec constraints to a rendition's codec entries:
// every video codec must match (a player needs to decode all of them), and
// when it lists audio codecs, at least one must match (an HLS variant
// lists every codec its audio group offers, and plays with any of them).
// Entries of unknown families are not judged.
func (f *manifestFilter) codecsOK(codecs []string) bool {
	var video, audio []string
	for _, c := range codecs {
		switch familyKind(c) {
		case kindVideo:
			video = append(video, c)
		case kindAudio:
			audio = append(audio, c)
		}
	}
	for _, prefixes := range f.videoCodecs {
		for _, c := range video {
			if !matchesAny(c, prefixes) {
				return false
			}
		}
	}
	for _, prefixes := range f.audioCodecs {
		if len(audio) > 0 && !slices.ContainsFunc(audio, func(c string) bool { return matchesAny(c, prefixes) }) {
			return false
		}
	}
	return true
}

// langOK: a language filter keeps renditions whose language is listed
// (case-insensitive, exact: "en" does not match "en-US"); a rendition that
// states no language does not match a language filter.
func langOK(lists [][]string, lang string) bool {
	for _, list := range lists {
		if !slices.Contains(list, strings.ToLower(lang)) {
			return false
		}
	}
	return true
}

// splitCodecs splits a CODECS / codecs value into its entries.
func splitCodecs(s string) []string {
	var out []string
	for c := range strings.SplitSeq(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// kindOfCodecs is the kind a codec list describes: video when any entry
// is video, else audio when any is audio, else text, else unknown.
func kindOfCodecs(codecs []string) kind {
	k := kindUnknown
	for _, c := range codecs {
		switch ck := familyKind(c); {
		case ck == kindVideo:
			return kindVideo
		case ck == kindAudio:
			k = kindAudio
		case ck == kindText && k == kindUnknown:
			k = kindText
		}
	}
	return k
}

// noVideoLeft is the 400 for a filter that removes every video rendition.
func noVideoLeft(removed []*rendition) error {
	var heights []string
	for _, r := range removed {
		if r.has[attrHeight] {
			if h := fmtNum(r.values[attrHeight]) + "p"; !slices.Contains(heights, h) {
				heights = append(heights, h)
			}
		}
	}
	msg := "the manifest filter leaves no video rendition"
	if len(heights) > 0 {
		msg += " (this manifest has " + strings.Join(heights, ", ") + ")"
	}
	return &filterError{msg: msg}
}

// noAudioLeft is the 400 for a filter that removes every audio rendition.
func noAudioLeft() error {
	return &filterError{msg: "the manifest filter leaves no audio rendition"}
}
