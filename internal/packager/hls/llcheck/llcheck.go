// Package llcheck checks Low-Latency HLS media playlists as a player
// fetches them, against draft-pantos-hls-rfc8216bis and the properties
// issue 11 asks of Osprey: every part within PART-TARGET, INDEPENDENT=YES
// on parts that hold a keyframe, PART-HOLD-BACK of at least three part
// targets, CAN-SKIP-UNTIL of at least six target durations, rendition
// reports consistent across renditions, and delta updates equal to the
// full playlist once their skip is applied.
//
// Playlists are parsed with gohlslib, a parser independent of the one that
// writes them (internal/packager/hls); only EXT-X-MAP positions, which
// gohlslib does not keep per segment, are read by a line scan here.
//
// Every check returns an error (errors.Join of all the problems found)
// rather than failing a test, so that the checks themselves are tested
// with broken playlists.
package llcheck

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// MinPartHoldBack and MinSkipUntil are the bounds: PART-HOLD-BACK
// at least 3 part targets (the spec's MUST is 2, its SHOULD 3) and
// CAN-SKIP-UNTIL at least 6 target durations (the spec's MUST).
const (
	MinPartHoldBack = 3
	MinSkipUntil    = 6
)

// shortPart is the spec's floor for a part that is not INDEPENDENT, not a
// gap, not followed by a gap and not the last of its parent: 85% of
// PART-TARGET (rfc8216bis 4.4.4.9).
const shortPart = 0.85

// tick is the rounding of a written duration (milliseconds).
const tick = time.Millisecond

// Playlist is a parsed media playlist.
type Playlist struct {
	*playlist.Media
	// Maps is the EXT-X-MAP URI in force for each segment of Segments,
	// then (last element) for the parts after the last segment.
	Maps []string
}

// Parse parses a media playlist.
func Parse(text []byte) (*Playlist, error) {
	var m playlist.Media
	if err := m.Unmarshal(text); err != nil {
		return nil, fmt.Errorf("parsing media playlist: %w", err)
	}
	p := &Playlist{Media: &m, Maps: scanMaps(text)}
	if len(p.Maps) != len(m.Segments)+1 {
		return nil, fmt.Errorf("parsing media playlist: %d URI lines, %d segments", len(p.Maps)-1, len(m.Segments))
	}
	return p, nil
}

// scanMaps returns the EXT-X-MAP URI in force at each URI line, then at
// the end of the playlist.
func scanMaps(text []byte) []string {
	var maps []string
	cur := ""
	for _, line := range bytes.Split(text, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		switch {
		case strings.HasPrefix(l, "#EXT-X-MAP:"):
			cur = ""
			if _, rest, ok := strings.Cut(l, `URI="`); ok {
				cur, _, _ = strings.Cut(rest, `"`)
			}
		case l != "" && l[0] != '#':
			maps = append(maps, cur)
		}
	}
	return append(maps, cur)
}

// Skipped is the number of segments the playlist's EXT-X-SKIP replaces.
func (p *Playlist) Skipped() int {
	if p.Skip == nil {
		return 0
	}
	return p.Skip.SkippedSegments
}

// Position is a part (or, with Part -1, a segment without parts) of a
// rendition.
type Position struct {
	MSN  uint64
	Part int
}

// Last returns the position of the last part, or of the last segment when
// the playlist has no parts: what its EXT-X-RENDITION-REPORT states.
func (p *Playlist) Last() Position {
	first := uint64(p.MediaSequence) + uint64(p.Skipped())
	n := uint64(len(p.Segments))
	if len(p.Parts) > 0 {
		return Position{MSN: first + n, Part: len(p.Parts) - 1}
	}
	if n == 0 {
		return Position{MSN: first, Part: -1}
	}
	last := p.Segments[n-1]
	return Position{MSN: first + n - 1, Part: len(last.Parts) - 1}
}

// Options adds checks that need more than the playlist.
type Options struct {
	// Fetch, when set, returns the bytes of a part given its URI as the
	// playlist writes it: INDEPENDENT=YES is then checked against the
	// part's samples (KeyframeParts).
	Fetch func(uri string) ([]byte, error)
}

// Media checks one LL-HLS media playlist (full or delta update).
func Media(text []byte, opt Options) error {
	p, err := Parse(text)
	if err != nil {
		return err
	}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	hasParts := len(p.Parts) > 0
	for _, s := range p.Segments {
		hasParts = hasParts || len(s.Parts) > 0
	}
	if hasParts && p.PartInf == nil {
		fail("EXT-X-PART without EXT-X-PART-INF")
	}
	if p.Skip != nil && p.Version < 9 {
		fail("EXT-X-SKIP needs EXT-X-VERSION 9 or more, have %d", p.Version)
	}
	errs = append(errs, checkServerControl(p)...)
	if p.PartInf != nil {
		errs = append(errs, checkPartDurations(p)...)
		if !p.Endlist && p.PreloadHint == nil {
			fail("live playlist with parts has no EXT-X-PRELOAD-HINT")
		}
	}
	if p.Endlist && p.PreloadHint != nil {
		fail("EXT-X-PRELOAD-HINT in a playlist with EXT-X-ENDLIST")
	}
	if opt.Fetch != nil {
		errs = append(errs, checkIndependent(p, opt.Fetch)...)
	}
	return errors.Join(errs...)
}

func checkServerControl(p *Playlist) []error {
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	sc := p.ServerControl
	if p.PartInf != nil {
		if sc == nil || sc.PartHoldBack == nil {
			fail("EXT-X-PART-INF without EXT-X-SERVER-CONTROL:PART-HOLD-BACK")
		} else if hb, pt := *sc.PartHoldBack, p.PartInf.PartTarget; hb < MinPartHoldBack*pt {
			fail("PART-HOLD-BACK %v is less than %d part targets (%v)", hb, MinPartHoldBack, pt)
		}
		if sc == nil || !sc.CanBlockReload {
			fail("LL playlist without CAN-BLOCK-RELOAD=YES")
		}
	}
	if sc != nil && sc.CanSkipUntil != nil {
		td := time.Duration(p.TargetDuration) * time.Second
		if *sc.CanSkipUntil < MinSkipUntil*td {
			fail("CAN-SKIP-UNTIL %v is less than %d target durations (%v)", *sc.CanSkipUntil, MinSkipUntil, td)
		}
	}
	return errs
}

// checkPartDurations checks every part against PART-TARGET: none longer,
// and none shorter than 85% of it but those the spec allows (INDEPENDENT,
// GAP, followed by a GAP part, last of its parent segment).
func checkPartDurations(p *Playlist) []error {
	var errs []error
	pt := p.PartInf.PartTarget
	check := func(msn uint64, parts []*playlist.MediaPart, complete bool, extinf time.Duration) {
		var sum time.Duration
		for k, part := range parts {
			sum += part.Duration
			if part.Duration > pt {
				errs = append(errs, fmt.Errorf("part %d.%d (%s) lasts %v, more than PART-TARGET %v", msn, k, part.URI, part.Duration, pt))
			}
			lastOfParent := complete && k == len(parts)-1
			beforeGap := k+1 < len(parts) && parts[k+1].Gap
			if !part.Independent && !part.Gap && !lastOfParent && !beforeGap &&
				float64(part.Duration) < shortPart*float64(pt)-float64(tick) {
				errs = append(errs, fmt.Errorf("part %d.%d (%s) lasts %v, less than 85%% of PART-TARGET %v", msn, k, part.URI, part.Duration, pt))
			}
		}
		if complete && len(parts) > 0 && sum > extinf+time.Duration(len(parts))*tick {
			errs = append(errs, fmt.Errorf("segment %d: parts last %v, EXTINF %v", msn, sum, extinf))
		}
	}
	first := uint64(p.MediaSequence) + uint64(p.Skipped())
	for i, s := range p.Segments {
		check(first+uint64(i), s.Parts, true, s.Duration)
	}
	check(first+uint64(len(p.Segments)), p.Parts, false, 0)
	return errs
}

// checkIndependent fetches every part that is not a gap and checks that
// INDEPENDENT=YES is there when the part starts with a keyframe, and only
// when it holds one.
func checkIndependent(p *Playlist, fetch func(string) ([]byte, error)) []error {
	var errs []error
	check := func(part *playlist.MediaPart) {
		if part.Gap {
			return
		}
		data, err := fetch(part.URI)
		if err != nil {
			errs = append(errs, fmt.Errorf("fetching part %s: %w", part.URI, err))
			return
		}
		starts, holds, err := KeyframeParts(data)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("part %s: %w", part.URI, err))
		case starts && !part.Independent:
			errs = append(errs, fmt.Errorf("part %s starts with a keyframe but has no INDEPENDENT=YES", part.URI))
		case part.Independent && !holds:
			errs = append(errs, fmt.Errorf("part %s has INDEPENDENT=YES but no keyframe", part.URI))
		}
	}
	for _, s := range p.Segments {
		for _, part := range s.Parts {
			check(part)
		}
	}
	for _, part := range p.Parts {
		check(part)
	}
	return errs
}
