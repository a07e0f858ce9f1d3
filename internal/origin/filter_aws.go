package origin

import (
	"slices"
	"strings"
)

// MediaPackage's manifest filter: aws.manifestfilter=KEY:VALUES;KEY:VALUES,
// keys and values case-insensitive, VALUES a comma list of single values or
// inclusive ranges "LO-HI" for numbers ("240-360,720-1080,1440"), of codec
// names or of languages. Keys MediaPackage has and Osprey cannot honour
// (trickplay, dynamic range) are refused rather than ignored, so that a
// migrated URL never silently serves more than it asks for.

// awsRangeKeys maps MediaPackage's numeric keys to attributes; decimal
// marks the one that takes fractions.
var awsRangeKeys = map[string]struct {
	attr    attribute
	decimal bool
}{
	"video_height":      {attrHeight, false},
	"video_bitrate":     {attrVideoBitrate, false},
	"video_framerate":   {attrFrameRate, true},
	"audio_bitrate":     {attrAudioBitrate, false},
	"audio_sample_rate": {attrSampleRate, false},
	"audio_channels":    {attrChannels, false},
}

// awsVideoCodecs and awsAudioCodecs map MediaPackage's codec names to the
// codec prefixes they stand for.
var (
	awsVideoCodecs = map[string][]string{
		"h264": {"avc1", "avc3"},
		"h265": {"hvc1", "hev1"},
	}
	awsAudioCodecs = map[string][]string{
		"aacl": {"mp4a.40.2"},
		"aach": {"mp4a.40.5", "mp4a.40.29"},
		"ac-3": {"ac-3"},
		"ec-3": {"ec-3"},
	}
)

// awsUnsupported lists MediaPackage keys that need what Osprey does not
// produce or describe.
var awsUnsupported = []string{"trickplay_height", "trickplay_type", "video_dynamic_range"}

func (f *manifestFilter) parseAWS(value string) error {
	n := 0
	var seen []string
	for clause := range strings.SplitSeq(value, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		n++
		key, vals, ok := strings.Cut(clause, ":")
		key = strings.ToLower(strings.TrimSpace(key))
		vals = strings.TrimSpace(vals)
		name := paramAWS + " " + key
		switch {
		case !ok || key == "":
			return badParam(paramAWS, "%q is not KEY:VALUES", clause)
		case slices.Contains(seen, key):
			return badParam(name, "given more than once")
		case vals == "":
			return badParam(name, "has no value")
		}
		seen = append(seen, key)
		if err := f.awsClause(name, key, vals); err != nil {
			return err
		}
	}
	if n == 0 {
		return badParam(paramAWS, "is empty (expected e.g. video_height:1-720;video_bitrate:0-3000000)")
	}
	return nil
}

func (f *manifestFilter) awsClause(name, key, vals string) error {
	if rk, ok := awsRangeKeys[key]; ok {
		set, err := parseSpanSet(name, vals, rk.decimal)
		if err != nil {
			return err
		}
		f.ranges[rk.attr] = append(f.ranges[rk.attr], set)
		return nil
	}
	switch key {
	case "video_codec":
		list, err := awsCodecs(name, vals, awsVideoCodecs, "H264, H265")
		if err != nil {
			return err
		}
		f.videoCodecs = append(f.videoCodecs, list)
	case "audio_codec":
		list, err := awsCodecs(name, vals, awsAudioCodecs, "AACL, AACH, AC-3, EC-3")
		if err != nil {
			return err
		}
		f.audioCodecs = append(f.audioCodecs, list)
	case "audio_language":
		list, err := parseLangs(name, vals)
		if err != nil {
			return err
		}
		f.audioLangs = append(f.audioLangs, list)
	case "subtitle_language":
		list, err := parseLangs(name, vals)
		if err != nil {
			return err
		}
		f.subLangs = append(f.subLangs, list)
	default:
		if slices.Contains(awsUnsupported, key) {
			return badParam(name, "is not supported by Osprey")
		}
		return badParam(paramAWS, "unknown key %q (known: audio_bitrate, audio_channels, audio_codec, audio_language, "+
			"audio_sample_rate, subtitle_language, video_bitrate, video_codec, video_framerate, video_height)", key)
	}
	return nil
}

// parseSpanSet parses "LO-HI,V,LO-HI": inclusive ranges and single values.
func parseSpanSet(name, vals string, decimal bool) (spanSet, error) {
	parse := parseUint
	if decimal {
		parse = parseDecimal
	}
	var set spanSet
	for item := range strings.SplitSeq(vals, ",") {
		item = strings.TrimSpace(item)
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parse(strings.TrimSpace(lo))
		if err != nil {
			return nil, badParam(name, "%q: %v", item, err)
		}
		b := a
		if isRange {
			if b, err = parse(strings.TrimSpace(hi)); err != nil {
				return nil, badParam(name, "%q: %v", item, err)
			}
		}
		if a > b {
			return nil, badParam(name, "%q: %s is greater than %s", item, fmtNum(a), fmtNum(b))
		}
		set = append(set, span{a, b})
	}
	return set, nil
}

func awsCodecs(name, vals string, known map[string][]string, list string) ([]string, error) {
	var out []string
	for v := range strings.SplitSeq(vals, ",") {
		prefixes, ok := known[strings.ToLower(strings.TrimSpace(v))]
		if !ok {
			return nil, badParam(name, "%q is not one of %s", strings.TrimSpace(v), list)
		}
		out = append(out, prefixes...)
	}
	return out, nil
}

func parseLangs(name, vals string) ([]string, error) {
	var out []string
	for v := range strings.SplitSeq(vals, ",") {
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "" {
			return nil, badParam(name, "%q has an empty entry", vals)
		}
		out = append(out, v)
	}
	return out, nil
}
