package origin

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Manifest filtering narrows a multivariant playlist or an MPD to the
// renditions a request asks for, with query parameters on the manifest's
// URL:
//
//	min_height, max_height     video height in pixels, inclusive
//	min_bitrate, max_bitrate   video bitrate in bits/s, inclusive (HLS:
//	                           the variant's BANDWIDTH; DASH: the video
//	                           Representation's bandwidth)
//	codecs                     comma list of codec prefixes (avc1,hvc1,mp4a)
//	max_fps                    highest video frame rate
//	aws.manifestfilter         MediaPackage's syntax, "key:values;key:values"
//
// Only the multivariant playlist and the MPD are filtered; media playlists
// and segments ignore these parameters. A request without any of them is
// served the stored bytes, unparsed. A malformed parameter, or a filter
// that leaves no video rendition, is answered 400 with a plain message.

// Native filter parameter names, and MediaPackage's.
const (
	paramMinHeight  = "min_height"
	paramMaxHeight  = "max_height"
	paramMinBitrate = "min_bitrate"
	paramMaxBitrate = "max_bitrate"
	paramCodecs     = "codecs"
	paramMaxFPS     = "max_fps"
	paramAWS        = "aws.manifestfilter"
)

// FilterParams returns the names of the query parameters that filter
// manifests. A caching proxy in front of the origin must keep them in its
// cache key and forward them (config's edge.cache_key_query default lists
// them).
func FilterParams() []string {
	return []string{paramMinHeight, paramMaxHeight, paramMinBitrate, paramMaxBitrate, paramCodecs, paramMaxFPS, paramAWS}
}

// maxFilterParam bounds a filter parameter's value (MediaPackage's query
// limit).
const maxFilterParam = 1024

// filterError is a malformed filter, or a filter that leaves nothing to
// play: the request's fault, answered 400 with this message.
type filterError struct {
	param string // the parameter at fault; "" for the filter as a whole
	msg   string
}

func (e *filterError) Error() string {
	if e.param == "" {
		return e.msg
	}
	return e.param + ": " + e.msg
}

func badParam(param, format string, args ...any) error {
	return &filterError{param: param, msg: fmt.Sprintf(format, args...)}
}

// attribute is a numeric rendition property a filter can bound.
type attribute int

const (
	attrHeight       attribute = iota // video height, pixels
	attrVideoBitrate                  // bits/s
	attrFrameRate                     // frames/s
	attrAudioBitrate                  // bits/s
	attrSampleRate                    // Hz
	attrChannels                      // audio channel count
	numAttributes
)

var attributeNames = [numAttributes]string{"h", "vb", "fps", "ab", "sr", "ch"}

// span is an inclusive range of values.
type span struct{ lo, hi float64 }

// spanSet holds when a value lies in any of its spans.
type spanSet []span

// epsilon absorbs float rounding: frame rates are compared with three
// decimals (29.97 admits 30000/1001), every other value is an integer.
const epsilon = 0.0005

func (s spanSet) contains(v float64) bool {
	for _, sp := range s {
		if v >= sp.lo-epsilon && v <= sp.hi+epsilon {
			return true
		}
	}
	return false
}

// manifestFilter is a parsed filter: every constraint must hold for a
// rendition to stay. A rendition whose manifest does not state a value
// (no FRAME-RATE, no LANGUAGE) passes the constraints on it.
type manifestFilter struct {
	ranges      [numAttributes][]spanSet
	videoCodecs [][]string // each: the video codecs of a rendition all match one of these prefixes
	audioCodecs [][]string // each: one of a rendition's audio codecs matches one of these prefixes
	audioLangs  [][]string // each: the audio language is one of these (case-insensitive)
	subLangs    [][]string // each: the subtitle language is one of these
}

// parseFilter reads the filter parameters of a raw query string. It
// returns nil and no error when the query has none. The query is split on
// "&" only: MediaPackage's syntax uses ";" inside the value, and a ";" is
// no separator (Go's url.ParseQuery would drop such a pair).
func parseFilter(rawQuery string) (*manifestFilter, error) {
	if rawQuery == "" {
		return nil, nil
	}
	var f *manifestFilter
	var seen []string
	var minH, maxH, minB, maxB *float64
	for part := range strings.SplitSeq(rawQuery, "&") {
		rawName, rawValue, _ := strings.Cut(part, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil || !isFilterParam(name) {
			continue // not ours; other parameters are left to others
		}
		if slices.Contains(seen, name) {
			return nil, badParam(name, "given more than once")
		}
		seen = append(seen, name)
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, badParam(name, "is not a valid query value (bad percent-encoding)")
		}
		if len(value) > maxFilterParam {
			return nil, badParam(name, "is longer than %d characters", maxFilterParam)
		}
		value = strings.TrimSpace(value)
		if f == nil {
			f = &manifestFilter{}
		}
		switch name {
		case paramMinHeight:
			minH, err = parseBound(name, value)
		case paramMaxHeight:
			maxH, err = parseBound(name, value)
		case paramMinBitrate:
			minB, err = parseBound(name, value)
		case paramMaxBitrate:
			maxB, err = parseBound(name, value)
		case paramMaxFPS:
			err = f.parseMaxFPS(value)
		case paramCodecs:
			err = f.parseCodecs(value)
		case paramAWS:
			err = f.parseAWS(value)
		}
		if err != nil {
			return nil, err
		}
	}
	if f == nil {
		return nil, nil
	}
	if err := f.addBounds(attrHeight, paramMinHeight, paramMaxHeight, minH, maxH); err != nil {
		return nil, err
	}
	if err := f.addBounds(attrVideoBitrate, paramMinBitrate, paramMaxBitrate, minB, maxB); err != nil {
		return nil, err
	}
	return f, nil
}

func isFilterParam(name string) bool {
	switch name {
	case paramMinHeight, paramMaxHeight, paramMinBitrate, paramMaxBitrate, paramCodecs, paramMaxFPS, paramAWS:
		return true
	}
	return false
}

// parseBound parses a whole, non-negative number.
func parseBound(param, value string) (*float64, error) {
	n, err := parseUint(value)
	if err != nil {
		return nil, badParam(param, "%v", err)
	}
	return &n, nil
}

// addBounds adds min..max on attr when either is given.
func (f *manifestFilter) addBounds(a attribute, minName, maxName string, lo, hi *float64) error {
	if lo == nil && hi == nil {
		return nil
	}
	sp := span{0, maxUint}
	if lo != nil {
		sp.lo = *lo
	}
	if hi != nil {
		sp.hi = *hi
	}
	if sp.lo > sp.hi {
		return badParam(minName, "%s is greater than %s %s", fmtNum(sp.lo), maxName, fmtNum(sp.hi))
	}
	f.ranges[a] = append(f.ranges[a], spanSet{sp})
	return nil
}

func (f *manifestFilter) parseMaxFPS(value string) error {
	fps, err := parseDecimal(value)
	if err != nil {
		return badParam(paramMaxFPS, "%v", err)
	}
	if fps <= 0 {
		return badParam(paramMaxFPS, "must be greater than 0")
	}
	f.ranges[attrFrameRate] = append(f.ranges[attrFrameRate], spanSet{{0, fps}})
	return nil
}

// parseCodecs reads a comma list of codec prefixes and sorts them into
// video and audio codecs by their family (the part before the first dot).
func (f *manifestFilter) parseCodecs(value string) error {
	var video, audio []string
	for c := range strings.SplitSeq(value, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			return badParam(paramCodecs, "%q has an empty entry", value)
		}
		switch familyKind(c) {
		case kindVideo:
			video = append(video, c)
		case kindAudio:
			audio = append(audio, c)
		default:
			return badParam(paramCodecs, "%q is not a known video or audio codec (%s)", c, knownFamilies())
		}
	}
	if len(video) > 0 {
		f.videoCodecs = append(f.videoCodecs, video)
	}
	if len(audio) > 0 {
		f.audioCodecs = append(f.audioCodecs, audio)
	}
	return nil
}

// maxUint is the largest whole number a parameter takes (2^32-1).
const maxUint = 1<<32 - 1

// parseUint parses a whole number of decimal digits, at most maxUint.
func parseUint(s string) (float64, error) {
	if s == "" {
		return 0, errors.New("a number is needed")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is too large (at most %d)", s, uint64(maxUint))
		}
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return float64(n), nil
}

// parseDecimal parses digits with an optional fraction ("29.97"), nothing
// else (no sign, exponent, "inf" or "nan").
func parseDecimal(s string) (float64, error) {
	digits, dot := 0, false
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			digits = -1
		}
		if digits < 0 {
			break
		}
	}
	if digits <= 0 || len(s) > 16 {
		return 0, fmt.Errorf("%q is not a number like 30 or 29.97", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v > maxUint {
		return 0, fmt.Errorf("%q is not a number like 30 or 29.97", s)
	}
	return v, nil
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// canonical renders the filter in one spelling per meaning, for ETags: two
// queries that filter alike share it.
func (f *manifestFilter) canonical() string {
	var clauses []string
	for a := range numAttributes {
		for _, set := range f.ranges[a] {
			set = slices.Clone(set)
			slices.SortFunc(set, func(x, y span) int {
				return cmp.Or(cmp.Compare(x.lo, y.lo), cmp.Compare(x.hi, y.hi))
			})
			var b strings.Builder
			for i, sp := range set {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(fmtNum(sp.lo) + "-" + fmtNum(sp.hi))
			}
			clauses = append(clauses, attributeNames[a]+"="+b.String())
		}
	}
	for _, l := range []struct {
		name  string
		lists [][]string
	}{{"vc", f.videoCodecs}, {"ac", f.audioCodecs}, {"al", f.audioLangs}, {"sl", f.subLangs}} {
		for _, list := range l.lists {
			clauses = append(clauses, l.name+"="+strings.Join(slices.Sorted(slices.Values(list)), ","))
		}
	}
	// The clauses all hold: their order means nothing.
	slices.Sort(clauses)
	return strings.Join(clauses, ";") + ";"
}

// filterManifest applies the filter in a request's query to a manifest
// (ext ".m3u8" or ".mpd"). It returns the body as it is and an empty tag
// when the query holds no filter or the manifest is a media playlist;
// otherwise the filtered body and an ETag suffix naming the filter. A
// *filterError is the request's fault (400), any other error the stored
// manifest's (500).
func filterManifest(rawQuery string, body []byte, ext string) ([]byte, string, error) {
	if rawQuery == "" || ext == ".m3u8" && isMediaPlaylist(body) {
		return body, "", nil
	}
	f, err := parseFilter(rawQuery)
	if err != nil || f == nil {
		return body, "", err
	}
	var out []byte
	switch ext {
	case ".m3u8":
		out, err = filterHLS(body, f)
	case ".mpd":
		out, err = filterMPD(body, f)
	default:
		return body, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return out, "-f" + shortHash(f.canonical()), nil
}
