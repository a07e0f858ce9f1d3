package llcheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// Merge applies a Playlist Delta Update onto an earlier full playlist of
// the same rendition, as a client does (rfc8216bis 6.3.7): the segments
// EXT-X-SKIP replaced are taken from prev, with their tags and the
// EXT-X-MAP in force; everything else comes from the delta. prev must hold
// every skipped segment, and give them the same Discontinuity Sequence
// Numbers as the delta does (the skip leaves EXT-X-DISCONTINUITY-SEQUENCE
// as it was). A playlist without EXT-X-SKIP is returned as it is.
func Merge(prev, delta []byte) (*Playlist, error) {
	d, err := Parse(delta)
	if err != nil {
		return nil, fmt.Errorf("delta: %w", err)
	}
	skipped := d.Skipped()
	if skipped == 0 {
		return d, nil
	}
	p, err := Parse(prev)
	if err != nil {
		return nil, fmt.Errorf("previous playlist: %w", err)
	}
	if p.Skip != nil {
		return nil, errors.New("previous playlist is a delta update itself")
	}
	off := d.MediaSequence - p.MediaSequence
	if off < 0 || off+skipped > len(p.Segments) {
		return nil, fmt.Errorf("delta skips segments %d to %d, the previous playlist holds %d to %d",
			d.MediaSequence, d.MediaSequence+skipped-1, p.MediaSequence, p.MediaSequence+len(p.Segments)-1)
	}
	// Discontinuity Sequence Number of the first skipped segment, as each
	// playlist gives it.
	prevDSN := dseq(p.Media)
	for _, s := range p.Segments[:off+1] {
		if s.Discontinuity {
			prevDSN++
		}
	}
	deltaDSN := dseq(d.Media)
	if p.Segments[off].Discontinuity {
		deltaDSN++
	}
	if prevDSN != deltaDSN {
		return nil, fmt.Errorf("segment %d: discontinuity sequence %d in the previous playlist, %d in the delta", d.MediaSequence, prevDSN, deltaDSN)
	}
	m := *d.Media
	m.Skip = nil
	m.Segments = slices.Concat(p.Segments[off:off+skipped], d.Segments)
	return &Playlist{Media: &m, Maps: slices.Concat(p.Maps[off:off+skipped], d.Maps)}, nil
}

func dseq(m *playlist.Media) int {
	if m.DiscontinuitySequence == nil {
		return 0
	}
	return *m.DiscontinuitySequence
}

// Delta checks a Playlist Delta Update against full, the full playlist at
// the same position (same last part), with prev an earlier full playlist
// holding the skipped segments (full itself will do): the delta must carry
// EXT-X-VERSION 9 or more, skip only segments further than CAN-SKIP-UNTIL
// from the end, skip some when full is long enough for it (the issue asks
// that _HLS_skip really removes segments), and once merged (Merge) equal
// full in every tag but EXT-X-VERSION.
func Delta(prev, delta, full []byte) error {
	f, err := Parse(full)
	if err != nil {
		return fmt.Errorf("full playlist: %w", err)
	}
	d, err := Parse(delta)
	if err != nil {
		return fmt.Errorf("delta: %w", err)
	}
	if d.Last() != f.Last() {
		return fmt.Errorf("delta ends at %v, full playlist at %v: not the same moment", d.Last(), f.Last())
	}
	var errs []error
	if d.Skip != nil && d.Version < 9 {
		errs = append(errs, fmt.Errorf("EXT-X-SKIP with EXT-X-VERSION %d, want 9 or more", d.Version))
	}
	if sc := f.ServerControl; sc == nil || sc.CanSkipUntil == nil {
		if d.Skip != nil {
			errs = append(errs, errors.New("EXT-X-SKIP but no CAN-SKIP-UNTIL"))
		}
	} else if most := skippable(f.Segments, *sc.CanSkipUntil); d.Skipped() > most {
		errs = append(errs, fmt.Errorf("delta skips %d segments, only %d end further than CAN-SKIP-UNTIL %v from the end", d.Skipped(), most, *sc.CanSkipUntil))
	} else if most > 0 && d.Skipped() == 0 {
		errs = append(errs, fmt.Errorf("delta skips nothing, %d segments end further than CAN-SKIP-UNTIL %v from the end", most, *sc.CanSkipUntil))
	}
	if f.Endlist && d.Skip != nil {
		errs = append(errs, errors.New("EXT-X-SKIP in an ended playlist"))
	}
	merged, err := Merge(prev, delta)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, Equal(merged, f)...)
	return errors.Join(errs...)
}

// skippable is how many first segments end at least boundary before the
// end, allowing each written duration its millisecond of rounding.
func skippable(segs []*playlist.MediaSegment, boundary time.Duration) int {
	var after time.Duration
	for i := len(segs) - 1; i >= 0; i-- {
		if after+time.Duration(len(segs)-i)*tick >= boundary {
			return i + 1
		}
		after += segs[i].Duration
	}
	return 0
}

// Equal compares two parsed playlists tag by tag, EXT-X-VERSION aside,
// and returns each difference.
func Equal(got, want *Playlist) []error {
	var errs []error
	diff := func(what string, g, w any) {
		errs = append(errs, fmt.Errorf("%s: got %v, want %v", what, g, w))
	}
	g, w := got.Media, want.Media
	if g.TargetDuration != w.TargetDuration {
		diff("EXT-X-TARGETDURATION", g.TargetDuration, w.TargetDuration)
	}
	if g.MediaSequence != w.MediaSequence {
		diff("EXT-X-MEDIA-SEQUENCE", g.MediaSequence, w.MediaSequence)
	}
	if dseq(g) != dseq(w) {
		diff("EXT-X-DISCONTINUITY-SEQUENCE", dseq(g), dseq(w))
	}
	if g.IndependentSegments != w.IndependentSegments || g.Endlist != w.Endlist {
		diff("EXT-X-INDEPENDENT-SEGMENTS/EXT-X-ENDLIST", []bool{g.IndependentSegments, g.Endlist}, []bool{w.IndependentSegments, w.Endlist})
	}
	if s, t := str(g.PlaylistType), str(w.PlaylistType); s != t {
		diff("EXT-X-PLAYLIST-TYPE", s, t)
	}
	if s, t := str(g.ServerControl), str(w.ServerControl); s != t {
		diff("EXT-X-SERVER-CONTROL", s, t)
	}
	if s, t := str(g.PartInf), str(w.PartInf); s != t {
		diff("EXT-X-PART-INF", s, t)
	}
	if s, t := str(g.Skip), str(w.Skip); s != t {
		diff("EXT-X-SKIP", s, t)
	}
	if len(g.Segments) != len(w.Segments) {
		diff("segments", len(g.Segments), len(w.Segments))
	} else {
		for i := range g.Segments {
			if s, t := str(g.Segments[i]), str(w.Segments[i]); s != t {
				diff(fmt.Sprintf("segment %d", g.MediaSequence+i), s, t)
			}
		}
	}
	if !slices.Equal(got.Maps, want.Maps) {
		diff("EXT-X-MAP in force per segment", got.Maps, want.Maps)
	}
	if s, t := str(g.Parts), str(w.Parts); s != t {
		diff("parts after the last segment", s, t)
	}
	if s, t := str(g.PreloadHint), str(w.PreloadHint); s != t {
		diff("EXT-X-PRELOAD-HINT", s, t)
	}
	if s, t := str(g.RenditionReport), str(w.RenditionReport); s != t {
		diff("EXT-X-RENDITION-REPORT", s, t)
	}
	return errs
}

// str renders a parsed value deeply (pointers followed) for comparison.
func str(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
