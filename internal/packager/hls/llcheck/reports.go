package llcheck

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
)

// RenditionReports checks the EXT-X-RENDITION-REPORT tags of the media
// playlists of one presentation, keyed by their URI relative to the
// multivariant playlist (e.g. "720p/index.m3u8"). Each playlist with parts
// must report every other rendition of the set once, and none that is not
// in the set or itself; LAST-PART must be there exactly when the playlist
// has parts. Osprey cuts the parts of every rendition at the same instants,
// so a report must also state the position of the playlist carrying it
// (Playlist.Last): "as up-to-date as the Playlist that contains it".
// Every playlist must also carry the same EXT-X-SERVER-CONTROL and target
// duration (rfc8216bis 6.2.4).
func RenditionReports(playlists map[string][]byte) error {
	parsed := map[string]*Playlist{}
	var names []string
	for name, text := range playlists {
		p, err := Parse(text)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		parsed[name] = p
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		p, first := parsed[name], parsed[names[0]]
		if s, t := str(p.ServerControl), str(first.ServerControl); s != t {
			errs = append(errs, fmt.Errorf("%s: EXT-X-SERVER-CONTROL %s, %s has %s", name, s, names[0], t))
		}
		if p.TargetDuration != first.TargetDuration {
			errs = append(errs, fmt.Errorf("%s: EXT-X-TARGETDURATION %d, %s has %d", name, p.TargetDuration, names[0], first.TargetDuration))
		}
		errs = append(errs, reportsOf(name, p, parsed)...)
	}
	return errors.Join(errs...)
}

func reportsOf(name string, p *Playlist, all map[string]*Playlist) []error {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, a...)...))
	}
	if p.PartInf == nil {
		if len(p.RenditionReport) > 0 {
			fail("rendition reports without parts")
		}
		return errs
	}
	base, err := url.Parse("/" + name)
	if err != nil {
		fail("bad name: %v", err)
		return errs
	}
	own := p.Last()
	seen := map[string]bool{}
	for _, r := range p.RenditionReport {
		ref, err := url.Parse(r.URI)
		if err != nil {
			fail("report URI %q: %v", r.URI, err)
			continue
		}
		target := base.ResolveReference(ref).Path[1:]
		switch {
		case target == name:
			fail("reports itself (%q)", r.URI)
			continue
		case all[target] == nil:
			fail("reports %q, not a rendition of the set", r.URI)
			continue
		case seen[target]:
			fail("reports %q twice", r.URI)
			continue
		}
		seen[target] = true
		if r.LastPart == nil {
			fail("report %q has no LAST-PART", r.URI)
			continue
		}
		if got := (Position{MSN: uint64(r.LastMSN), Part: *r.LastPart}); got != own {
			fail("report %q states %d.%d, the playlist itself is at %d.%d", r.URI, got.MSN, got.Part, own.MSN, own.Part)
		}
	}
	for _, other := range slices.Sorted(maps.Keys(all)) {
		if other != name && !seen[other] {
			fail("no rendition report for %s", other)
		}
	}
	return errs
}
