// Package hls renders HLS playlists (RFC 8216) for CMAF segments: the
// multivariant playlist (with audio and subtitle renditions) and live,
// ended or VOD media playlists.
//
// It only formats text; the packager decides what the playlists contain.
package hls

import (
	"strconv"
	"strings"
	"time"
)

// Version is the EXT-X-VERSION written: 6 is the minimum for EXT-X-MAP in a
// media playlist without EXT-X-I-FRAMES-ONLY, and it covers every other tag used.
const Version = 7

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
}

// Marshal renders the playlist.
func (p *MediaPlaylist) Marshal() []byte {
	b := make([]byte, 0, 256+len(p.Segments)*128)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, Version, 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, int64(p.TargetDuration), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendUint(b, p.MediaSequence, 10)
	b = append(b, "\n#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendUint(b, p.DiscontinuitySequence, 10)
	if p.PlaylistType != "" {
		b = append(b, "\n#EXT-X-PLAYLIST-TYPE:"...)
		b = append(b, p.PlaylistType...)
	}
	b = append(b, "\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	for i := range p.Segments {
		s := &p.Segments[i]
		if s.Discontinuity {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if s.Map != "" {
			b = append(b, "#EXT-X-MAP:URI=\""...)
			b = append(b, s.Map...)
			b = append(b, "\"\n"...)
		}
		if !s.ProgramDateTime.IsZero() {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = s.ProgramDateTime.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = strconv.AppendFloat(b, s.Duration.Seconds(), 'f', 3, 64)
		b = append(b, ",\n"...)
		if s.Gap {
			b = append(b, "#EXT-X-GAP\n"...)
		}
		b = append(b, s.URI...)
		b = append(b, '\n')
	}
	if p.EndList {
		b = append(b, "#EXT-X-ENDLIST\n"...)
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
