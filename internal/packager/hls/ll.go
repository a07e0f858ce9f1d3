package hls

import (
	"strconv"
	"time"
)

// Part is a partial segment (rfc8216bis 3.2 and 4.4.4.9): EXT-X-PART.
type Part struct {
	URI      string
	Duration time.Duration
	// Independent writes INDEPENDENT=YES: the part holds an independent
	// frame (for Osprey's parts: it starts with a keyframe).
	Independent bool `json:",omitempty"`
	// Gap writes GAP=YES: the part is not available.
	Gap bool `json:",omitempty"`
}

// ServerControl is EXT-X-SERVER-CONTROL (rfc8216bis 4.4.3.8). A zero
// duration omits its attribute.
type ServerControl struct {
	// CanBlockReload writes CAN-BLOCK-RELOAD=YES: _HLS_msn/_HLS_part are
	// honoured (Directives).
	CanBlockReload bool `json:",omitempty"`
	// CanSkipUntil is the Skip Boundary (CAN-SKIP-UNTIL): the server makes
	// delta updates (MarshalDelta). It must be at least six target durations.
	CanSkipUntil time.Duration `json:",omitempty"`
	// HoldBack is HOLD-BACK (at least three target durations; absent, it
	// is three target durations).
	HoldBack time.Duration `json:",omitempty"`
	// PartHoldBack is PART-HOLD-BACK, required with parts: at least two
	// part targets, and three by the spec's SHOULD and the issue.
	PartHoldBack time.Duration `json:",omitempty"`
}

// RenditionReport is EXT-X-RENDITION-REPORT (rfc8216bis 4.4.5.4): the last
// segment (or, with parts, the last part) of another rendition. LAST-PART
// is written when the playlist has a PartTarget.
type RenditionReport struct {
	URI      string // relative to the playlist carrying the report
	LastMSN  uint64
	LastPart int
}

// appendLLHeader writes EXT-X-SERVER-CONTROL and EXT-X-PART-INF (each on
// a line of its own, after a newline: the caller ends the line).
func (p *MediaPlaylist) appendLLHeader(b []byte) []byte {
	if sc := p.ServerControl; sc != nil {
		b = append(b, "\n#EXT-X-SERVER-CONTROL:"...)
		n := len(b)
		attr := func(name string) {
			if len(b) > n {
				b = append(b, ',')
			}
			b = append(b, name...)
		}
		if sc.CanBlockReload {
			attr("CAN-BLOCK-RELOAD=YES")
		}
		if sc.CanSkipUntil > 0 {
			attr("CAN-SKIP-UNTIL=")
			b = appendSeconds(b, sc.CanSkipUntil)
		}
		if sc.HoldBack > 0 {
			attr("HOLD-BACK=")
			b = appendSeconds(b, sc.HoldBack)
		}
		if sc.PartHoldBack > 0 {
			attr("PART-HOLD-BACK=")
			b = appendSeconds(b, sc.PartHoldBack)
		}
	}
	if p.PartTarget > 0 {
		b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
		b = appendSeconds(b, p.PartTarget)
	}
	return b
}

// appendLLTail writes the open segment's parts, the preload hint and the
// rendition reports: everything after the last segment but EXT-X-ENDLIST.
// An ended playlist has no open segment (its parts would have no parent)
// and no preload hint.
func (p *MediaPlaylist) appendLLTail(b []byte) []byte {
	if o := p.Open; o != nil && len(o.Parts) > 0 && !p.EndList {
		b = appendSegmentHead(b, o, o.Map)
		b = appendParts(b, o.Parts)
	}
	if p.PreloadHint != "" && !p.EndList {
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
		b = append(b, p.PreloadHint...)
		b = append(b, "\"\n"...)
	}
	for _, r := range p.RenditionReports {
		b = append(b, "#EXT-X-RENDITION-REPORT:URI=\""...)
		b = append(b, r.URI...)
		b = append(b, "\",LAST-MSN="...)
		b = strconv.AppendUint(b, r.LastMSN, 10)
		if p.PartTarget > 0 {
			b = append(b, ",LAST-PART="...)
			b = strconv.AppendInt(b, int64(r.LastPart), 10)
		}
		b = append(b, '\n')
	}
	return b
}

func appendParts(b []byte, parts []Part) []byte {
	for _, pt := range parts {
		b = append(b, "#EXT-X-PART:DURATION="...)
		b = appendSeconds(b, pt.Duration)
		b = append(b, ",URI=\""...)
		b = append(b, pt.URI...)
		b = append(b, '"')
		if pt.Independent {
			b = append(b, ",INDEPENDENT=YES"...)
		}
		if pt.Gap {
			b = append(b, ",GAP=YES"...)
		}
		b = append(b, '\n')
	}
	return b
}

// appendSeconds writes d in seconds with millisecond precision, as EXTINF
// is. Rounding is monotonic, so a part no longer than PART-TARGET is not
// written longer than it either.
func appendSeconds(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', 3, 64)
}

// mapBefore returns the EXT-X-MAP URI in force for segment i: the last one
// set on a segment before it ("" when none is).
func (p *MediaPlaylist) mapBefore(i int) string {
	for j := min(i, len(p.Segments)) - 1; j >= 0; j-- {
		if m := p.Segments[j].Map; m != "" {
			return m
		}
	}
	return ""
}

// SkipCount is the number of segments a Playlist Delta Update replaces by
// EXT-X-SKIP (rfc8216bis 6.2.5.1): the first segments that end further than
// the Skip Boundary (CAN-SKIP-UNTIL) from the end of the last segment.
// Parts of the open segment do not count, which only makes the skip shorter.
// It is 0 when the playlist cannot skip: no CAN-SKIP-UNTIL, EXT-X-ENDLIST
// (both make the server ignore _HLS_skip), or a playlist no longer than
// the boundary.
func (p *MediaPlaylist) SkipCount() int {
	sc := p.ServerControl
	if sc == nil || sc.CanSkipUntil <= 0 || p.EndList {
		return 0
	}
	var after time.Duration // from the end of segment i to the end
	for i := len(p.Segments) - 1; i >= 0; i-- {
		if after >= sc.CanSkipUntil {
			return i + 1
		}
		after += p.Segments[i].Duration
	}
	return 0
}

// MarshalDelta renders the Playlist Delta Update that answers _HLS_skip=YES
// or _HLS_skip=v2 (Osprey writes no EXT-X-DATERANGE, so both are the same):
// the first SkipCount segments and their tags are replaced by
// EXT-X-SKIP:SKIPPED-SEGMENTS, EXT-X-VERSION is DeltaVersion, and
// EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE keep their values
// (4.4.5.2). The first segment kept carries the EXT-X-MAP in force, so that
// the map applying to the kept segments stays in the playlist. Every other
// tag stays. When nothing can be skipped it is the full playlist, as the
// spec asks when the server ignores the directive.
func (p *MediaPlaylist) MarshalDelta() (text []byte, skipped int) {
	skipped = p.SkipCount()
	return p.marshal(skipped), skipped
}
