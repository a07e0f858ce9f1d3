// Package hls renders HLS playlists (RFC 8216) for CMAF segments: the
// multivariant playlist (with audio and subtitle renditions) and live,
// ended or VOD media playlists, with the Low-Latency HLS tags of
// draft-pantos-hls-rfc8216bis (partial segments, server control, preload
// hints, rendition reports and delta updates; see ll.go) and the delivery
// directives of a playlist request (directives.go).
//
// It only formats text; the packager decides what the playlists contain.
package hls

import (
	"strconv"
	"strings"
	"time"
)

// Version is the EXT-X-VERSION written: 6 is the minimum for EXT-X-MAP in a
// media playlist without EXT-X-I-FRAMES-ONLY, and it covers every other tag
// used, the Low-Latency tags included (rfc8216bis section 8 asks no higher
// version for EXT-X-PART, EXT-X-PART-INF, EXT-X-SERVER-CONTROL,
// EXT-X-PRELOAD-HINT or EXT-X-RENDITION-REPORT). Players without LL support
// therefore keep playing the full playlist.
const Version = 7

// DeltaVersion is the EXT-X-VERSION of a Playlist Delta Update: 9 is the
// minimum for EXT-X-SKIP (10 only when it also skips EXT-X-DATERANGE tags,
// which Osprey does not write). Only LL clients ask for delta updates.
const DeltaVersion = 9

// Segment is one media segment of a media playlist.
type Segment struct {
	URI      string
	Duration time.Duration
	// ProgramDateTime, when not zero, writes EXT-X-PROGRAM-DATE-TIME.
	ProgramDateTime time.Time
	// Discontinuity writes EXT-X-DISCONTINUITY before the segment.
	Discontinuity bool
	// Map, when not empty, writes EXT-X-MAP with this URI before the segment.
	Map string
	// Gap writes EXT-X-GAP: the segment is listed but has no media.
	Gap bool
	// Parts, when not empty, writes an EXT-X-PART for each partial segment
	// of this (parent) segment, after its EXT-X-DISCONTINUITY, EXT-X-MAP and
	// EXT-X-PROGRAM-DATE-TIME and before its EXTINF (rfc8216bis 4.4.4.9).
	Parts []Part `json:",omitempty"`
}

// MediaPlaylist is a live (sliding window), ended or VOD media playlist.
type MediaPlaylist struct {
	TargetDuration        int
	MediaSequence         uint64
	DiscontinuitySequence uint64
	// PlaylistType, when not empty, writes EXT-X-PLAYLIST-TYPE ("VOD" or "EVENT").
	PlaylistType string
	Segments     []Segment
	EndList      bool

	// Low-Latency HLS (ll.go). All are omitted from JSON when unset, so
	// that state files holding a playlist stay as they were.

	// PartTarget, when not zero, writes EXT-X-PART-INF:PART-TARGET; it also
	// makes rendition reports carry LAST-PART.
	PartTarget time.Duration `json:",omitempty"`
	// ServerControl, when not nil, writes EXT-X-SERVER-CONTROL.
	ServerControl *ServerControl `json:",omitempty"`
	// Open is the segment being produced, after the last one of Segments:
	// its parts so far, and the tags that apply to it (Discontinuity, Map,
	// ProgramDateTime), written before its first part. Its URI, Duration
	// and Gap are not used. Nil, no parts, or EndList writes nothing.
	Open *Segment `json:",omitempty"`
	// PreloadHint, when not empty, writes EXT-X-PRELOAD-HINT:TYPE=PART with
	// this URI (the next part). An ended playlist never carries one
	// (rfc8216bis 4.4.5.3).
	PreloadHint string `json:",omitempty"`
	// RenditionReports writes an EXT-X-RENDITION-REPORT for each.
	RenditionReports []RenditionReport `json:",omitempty"`
}

// Marshal renders the playlist.
func (p *MediaPlaylist) Marshal() []byte {
	return p.marshal(0)
}

// marshal renders the playlist with its first skip segments replaced by
// EXT-X-SKIP (none when skip is 0).
func (p *MediaPlaylist) marshal(skip int) []byte {
	b := make([]byte, 0, 256+len(p.Segments)*128)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	if skip > 0 {
		b = strconv.AppendInt(b, DeltaVersion, 10)
	} else {
		b = strconv.AppendInt(b, Version, 10)
	}
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(p.TargetDuration), 10)
	b = p.appendLLHeader(b)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, p.MediaSequence, 10)
	b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendUint(b, p.DiscontinuitySequence, 10)
	if p.PlaylistType != "" {
		b = append(b, "\n#EXT-X-PLAYLIST-TYPE:"...)
		b = append(b, p.PlaylistType...)
	}
	b = append(b, "\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	if skip > 0 {
		b = append(b, "#EXT-X-SKIP:SKIPPED-SEGMENTS="...)
		b = strconv.AppendInt(b, int64(skip), 10)
		b = append(b, '\n')
	}
	for i := skip; i < len(p.Segments); i++ {
		s := &p.Segments[i]
		mapURI := s.Map
		if i == skip && skip > 0 && mapURI == "" {
			// The EXT-X-MAP in force applies to the segments kept too:
			// the skip must not take it away from them.
			mapURI = p.mapBefore(skip)
		}
		b = appendSegmentHead(b, s, mapURI)
		b = appendParts(b, s.Parts)
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, s.Duration.Seconds(), 'f', 3, 64)
		b = append(b, ",\n"...)
		if s.Gap {
			b = append(b, "#EXT-X-GAP\n"...)
		}
		b = append(b, s.URI...)
		b = append(b, '\n')
	}
	b = p.appendLLTail(b)
	if p.EndList {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}

// appendSegmentHead writes the tags of s that come before its parts and
// its EXTINF, with mapURI as its EXT-X-MAP.
func appendSegmentHead(b []byte, s *Segment, mapURI string) []byte {
	if s.Discontinuity {
		b = append(b, "#EXT-X-DISCONTINUITY\n"...)
	}
	if mapURI != "" {
		b = append(b, "#EXT-X-MAP:URI=\""...)
		b = append(b, mapURI...)
		b = append(b, "\"\n"...)
	}
	if !s.ProgramDateTime.IsZero() {
		b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
		b = s.ProgramDateTime.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		b = append(b, '\n')
	}
	return b
}

// TargetDuration returns the EXT-X-TARGETDURATION for a longest segment of
// d: RFC 8216 4.3.3.1 requires every EXTINF, rounded to the nearest integer,
// to be at most the target duration. (A plain ceiling would turn the usual
// 2.002 s or 2.005 s segments into a 3 s target and raise player latency.)
func TargetDuration(d time.Duration) int {
	td := int((d + time.Second/2) / time.Second)
	if td < 1 {
		td = 1
	}
	return td
}

// Rendition types.
const (
	Audio     = "AUDIO"
	Subtitles = "SUBTITLES"
)

// Rendition is an EXT-X-MEDIA entry.
type Rendition struct {
	Type       string // Audio (when empty) or Subtitles
	GroupID    string
	Name       string
	Language   string
	Default    bool
	Autoselect bool
	Channels   int
	URI        string
}

// Variant is an EXT-X-STREAM-INF entry.
type Variant struct {
	URI              string
	Bandwidth        int
	AverageBandwidth int
	Codecs           []string
	Width, Height    int
	FrameRate        float64 // 0: omitted
	Audio            string  // audio GROUP-ID, "" for none
	Subtitles        string  // subtitles GROUP-ID, "" for none
}

// Multivariant is the multivariant (master) playlist.
type Multivariant struct {
	Renditions []Rendition
	Variants   []Variant
}

// Marshal renders the playlist.
func (m *Multivariant) Marshal() []byte {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:")
	b.WriteString(strconv.Itoa(Version))
	b.WriteString("\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	for _, r := range m.Renditions {
		typ := r.Type
		if typ == "" {
			typ = Audio
		}
		b.WriteString("#EXT-X-MEDIA:TYPE=" + typ + ",GROUP-ID=\"")
		b.WriteString(r.GroupID)
		b.WriteString("\",NAME=\"")
		b.WriteString(quoted(r.Name))
		b.WriteString("\"")
		if r.Language != "" {
			b.WriteString(",LANGUAGE=\"" + quoted(r.Language) + "\"")
		}
		b.WriteString(",DEFAULT=" + yesNo(r.Default))
		b.WriteString(",AUTOSELECT=" + yesNo(r.Autoselect))
		if r.Channels > 0 {
			b.WriteString(",CHANNELS=\"" + strconv.Itoa(r.Channels) + "\"")
		}
		b.WriteString(",URI=\"" + r.URI + "\"\n")
	}
	for _, v := range m.Variants {
		b.WriteString("#EXT-X-STREAM-INF:BANDWIDTH=")
		b.WriteString(strconv.Itoa(v.Bandwidth))
		if v.AverageBandwidth > 0 {
			b.WriteString(",AVERAGE-BANDWIDTH=" + strconv.Itoa(v.AverageBandwidth))
		}
		if len(v.Codecs) > 0 {
			b.WriteString(",CODECS=\"" + strings.Join(v.Codecs, ",") + "\"")
		}
		if v.Width > 0 && v.Height > 0 {
			b.WriteString(",RESOLUTION=" + strconv.Itoa(v.Width) + "x" + strconv.Itoa(v.Height))
		}
		if v.FrameRate > 0 {
			b.WriteString(",FRAME-RATE=" + strconv.FormatFloat(v.FrameRate, 'f', 3, 64))
		}
		if v.Audio != "" {
			b.WriteString(",AUDIO=\"" + v.Audio + "\"")
		}
		if v.Subtitles != "" {
			b.WriteString(",SUBTITLES=\"" + v.Subtitles + "\"")
		}
		b.WriteString("\n" + v.URI + "\n")
	}
	return []byte(b.String())
}

// quoted makes s fit a quoted-string attribute: no double quote, CR or LF.
func quoted(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '"':
			return '\''
		case '\r', '\n':
			return ' '
		}
		return r
	}, s)
}

func yesNo(b bool) string {
	if b {
		return "YES"
	}
	return "NO"
}
