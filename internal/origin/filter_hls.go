package origin

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// The multivariant playlist is filtered line by line rather than parsed
// into a library's model and marshalled again: every line the filter does
// not remove is written back byte for byte (tags Osprey does not know yet,
// attribute order, FRAME-RATE=30.000, comments, CRLF line ends), so a
// filtered playlist is always a subset of the stored one, and a later tag
// the packager adds (EXT-X-SESSION-DATA, EXT-X-CONTENT-STEERING,
// EXT-X-START) survives without this code knowing it. The one edit inside
// a line is removing SUBTITLES="…" from a variant whose subtitle group the
// filter emptied.

const (
	tagStreamInf  = "#EXT-X-STREAM-INF:"
	tagIFrameInf  = "#EXT-X-I-FRAME-STREAM-INF:"
	tagMedia      = "#EXT-X-MEDIA:"
	tagExtInf     = "#EXTINF:"
	tagTargetDur  = "#EXT-X-TARGETDURATION:"
	typeAudio     = "AUDIO"
	typeSubtitles = "SUBTITLES"
)

// isMediaPlaylist reports whether an HLS playlist is a media playlist
// (segments), which filters leave alone.
func isMediaPlaylist(body []byte) bool {
	for line := range bytes.Lines(body) {
		if bytes.HasPrefix(line, []byte(tagExtInf)) || bytes.HasPrefix(line, []byte(tagTargetDur)) {
			return true
		}
	}
	return false
}

// hlsEntry is a tag the filter may remove: an EXT-X-MEDIA line, an
// EXT-X-STREAM-INF line with its URI line (and anything between them), or
// an EXT-X-I-FRAME-STREAM-INF line.
type hlsEntry struct {
	first, last int // line indexes, inclusive
	tag         string
	attrs       []hlsAttr
	attrList    string // the text after "TAG:"
	r           rendition
	keep        bool
}

// filterHLS applies f to a multivariant playlist.
func filterHLS(body []byte, f *manifestFilter) ([]byte, error) {
	lines := bytes.SplitAfter(body, []byte("\n"))
	var entries []*hlsEntry
	for i := 0; i < len(lines); i++ {
		text := strings.TrimRight(string(lines[i]), "\r\n")
		var tag string
		for _, t := range []string{tagStreamInf, tagIFrameInf, tagMedia} {
			if strings.HasPrefix(text, t) {
				tag = t
			}
		}
		if tag == "" {
			continue
		}
		e := &hlsEntry{first: i, last: i, tag: tag, attrList: text[len(tag):]}
		e.attrs = parseAttrs(e.attrList)
		if tag == tagStreamInf {
			for e.last+1 < len(lines) {
				e.last++
				next := strings.TrimSpace(string(lines[e.last]))
				if next != "" && !strings.HasPrefix(next, "#") {
					break
				}
			}
			i = e.last
		}
		e.r = hlsRendition(e)
		e.keep = true
		entries = append(entries, e)
	}

	// An EXT-X-MEDIA audio rendition states no codec: its group's are the
	// audio codecs its variants list.
	groupCodecs := map[string][]string{}
	for _, e := range entries {
		if g := attrValue(e.attrs, typeAudio); e.tag == tagStreamInf && g != "" {
			for _, c := range e.r.codecs {
				if familyKind(c) == kindAudio && !slices.Contains(groupCodecs[g], c) {
					groupCodecs[g] = append(groupCodecs[g], c)
				}
			}
		}
	}

	// Renditions first: a variant needs its audio group.
	audioBefore, audioAfter := map[string]int{}, map[string]int{}
	subsBefore, subsAfter := map[string]int{}, map[string]int{}
	audioTotal, audioKept := 0, 0
	for _, e := range entries {
		if e.tag != tagMedia {
			continue
		}
		group := attrValue(e.attrs, "GROUP-ID")
		switch attrValue(e.attrs, "TYPE") {
		case typeAudio:
			e.r.codecs = groupCodecs[group]
			e.keep = f.keep(&e.r)
			audioTotal++
			audioBefore[group]++
			if e.keep {
				audioKept++
				audioAfter[group]++
			}
		case typeSubtitles:
			e.keep = f.keep(&e.r)
			subsBefore[group]++
			if e.keep {
				subsAfter[group]++
			}
		}
	}

	var removedVideo []*rendition
	videoTotal, videoKept := 0, 0
	refBefore, refAfter := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		if e.tag != tagStreamInf {
			continue
		}
		group := attrValue(e.attrs, typeAudio)
		e.keep = f.keep(&e.r) && (group == "" || audioBefore[group] == 0 || audioAfter[group] > 0)
		for _, name := range []string{typeAudio, typeSubtitles} {
			if g := attrValue(e.attrs, name); g != "" {
				refBefore[name+"\x00"+g] = true
				if e.keep {
					refAfter[name+"\x00"+g] = true
				}
			}
		}
		switch e.r.kind {
		case kindVideo:
			videoTotal++
			if e.keep {
				videoKept++
			} else {
				removedVideo = append(removedVideo, &e.r)
			}
		case kindAudio:
			audioTotal++
			if e.keep {
				audioKept++
			}
		}
	}
	if audioTotal > 0 && audioKept == 0 {
		return nil, noAudioLeft()
	}
	if videoTotal > 0 && videoKept == 0 {
		return nil, noVideoLeft(removedVideo)
	}

	out := make([]byte, 0, len(body))
	next := 0 // lines[:next] are handled
	for _, e := range entries {
		for ; next < e.first; next++ {
			out = append(out, lines[next]...)
		}
		next = e.last + 1
		switch e.tag {
		case tagMedia:
			// A group no variant uses any more goes with its variants.
			typ := attrValue(e.attrs, "TYPE")
			if key := typ + "\x00" + attrValue(e.attrs, "GROUP-ID"); refBefore[key] && !refAfter[key] {
				e.keep = false
			}
		case tagIFrameInf:
			e.keep = f.keep(&e.r)
		case tagStreamInf:
			if e.keep {
				// A subtitle group the filter emptied is no longer named.
				if g := attrValue(e.attrs, typeSubtitles); g != "" && subsBefore[g] > 0 && subsAfter[g] == 0 {
					line := lines[e.first]
					end := strings.TrimRight(string(line), "\r\n")
					out = append(out, tagStreamInf+removeAttr(e.attrList, e.attrs, typeSubtitles)+string(line[len(end):])...)
					for _, l := range lines[e.first+1 : e.last+1] {
						out = append(out, l...)
					}
					continue
				}
			}
		}
		if e.keep {
			for _, l := range lines[e.first : e.last+1] {
				out = append(out, l...)
			}
		}
	}
	for ; next < len(lines); next++ {
		out = append(out, lines[next]...)
	}
	return out, nil
}

// hlsRendition describes an entry for the filter.
func hlsRendition(e *hlsEntry) rendition {
	var r rendition
	switch e.tag {
	case tagMedia:
		switch attrValue(e.attrs, "TYPE") {
		case typeAudio:
			r.kind = kindAudio
			// CHANNELS="2" or "16/JOC": the count comes first.
			if ch, _, _ := strings.Cut(attrValue(e.attrs, "CHANNELS"), "/"); ch != "" {
				if n, err := strconv.ParseFloat(ch, 64); err == nil {
					r.set(attrChannels, n)
				}
			}
			if n, err := strconv.ParseFloat(attrValue(e.attrs, "SAMPLE-RATE"), 64); err == nil {
				r.set(attrSampleRate, n)
			}
		case typeSubtitles:
			r.kind = kindText
		default:
			return r // VIDEO and CLOSED-CAPTIONS renditions are not filtered
		}
		r.lang = attrValue(e.attrs, "LANGUAGE")
		return r
	}
	r.codecs = splitCodecs(attrValue(e.attrs, "CODECS"))
	r.kind = kindOfCodecs(r.codecs)
	w, h, hasRes := strings.Cut(attrValue(e.attrs, "RESOLUTION"), "x")
	if hasRes {
		r.kind = kindVideo
		if n, err := strconv.ParseFloat(h, 64); err == nil && w != "" {
			r.set(attrHeight, n)
		}
	}
	if r.kind == kindUnknown || r.kind == kindText {
		r.kind = kindVideo // a variant that says nothing is taken for video
	}
	if n, err := strconv.ParseFloat(attrValue(e.attrs, "FRAME-RATE"), 64); err == nil {
		r.set(attrFrameRate, n)
	}
	if n, err := strconv.ParseFloat(attrValue(e.attrs, "BANDWIDTH"), 64); err == nil {
		if r.kind == kindAudio {
			r.set(attrAudioBitrate, n)
		} else {
			r.set(attrVideoBitrate, n)
		}
	}
	return r
}

// hlsAttr is one NAME=VALUE of an attribute list; s[start:end] is the
// whole pair in the list it came from.
type hlsAttr struct {
	name, value string
	start, end  int
}

// parseAttrs parses an attribute list leniently: it stops at the first
// thing that is not NAME=VALUE. Quoted values lose their quotes.
func parseAttrs(s string) []hlsAttr {
	var attrs []hlsAttr
	for i := 0; i < len(s); {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		start := i
		eq := strings.IndexByte(s[i:], '=')
		if eq <= 0 {
			break
		}
		name := s[i : i+eq]
		if strings.ContainsAny(name, ",\"") {
			break
		}
		i += eq + 1
		var value string
		if i < len(s) && s[i] == '"' {
			q := strings.IndexByte(s[i+1:], '"')
			if q < 0 {
				break // unterminated quoted string
			}
			value = s[i+1 : i+1+q]
			i += q + 2
		} else {
			c := strings.IndexByte(s[i:], ',')
			if c < 0 {
				c = len(s) - i
			}
			value = s[i : i+c]
			i += c
		}
		attrs = append(attrs, hlsAttr{name: strings.TrimSpace(name), value: value, start: start, end: i})
	}
	return attrs
}

func attrValue(attrs []hlsAttr, name string) string {
	for _, a := range attrs {
		if a.name == name {
			return a.value
		}
	}
	return ""
}

// removeAttr returns the attribute list s without the named attribute and
// one of the commas around it.
func removeAttr(s string, attrs []hlsAttr, name string) string {
	for _, a := range attrs {
		if a.name != name {
			continue
		}
		start, end := a.start, a.end
		if end < len(s) && s[end] == ',' {
			end++
		} else if start > 0 && s[start-1] == ',' {
			start--
		}
		return s[:start] + s[end:]
	}
	return s
}
