package packager

import (
	"context"
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Continuation. A session left live by a crash (the process killed, an
// ingest node lost: no End) and published within Config.ContinueGrace is
// continued by the channel's next session when that one's ladder has the
// same renditions (names and kinds): same directory and media playlist
// URLs, the window carried over from state.json, segment numbers (the media
// sequence) going on from the last published one, an EXT-X-DISCONTINUITY
// and a new DASH Period (a new init version) before the first new segment.
// Players that keep reloading the same media playlist or MPD play on.
// Otherwise (older, another ladder, or an End that had started) the new
// session ends the interrupted one and starts a directory of its own, as
// before. Recover leaves a session that may still be continued live.
//
// Segment numbers above the last published one were reserved (state.json
// reserves them in batches) but never listed in any manifest: state.json
// records the window before each manifest write. So the continuation
// reuses them, and the media sequence has no hole; objects the crashed
// process stored under them unpublished are overwritten.

// Interruption describes, from state.json, a session left live.
type Interruption struct {
	// Live is set when state.json says a session was left live: neither
	// End nor Recover wrote its ended manifests.
	Live bool
	// LastPublish is when it last published (zero if unknown).
	LastPublish time.Time
	// ContinueUntil is until when the channel's next session may continue
	// it (Recover leaves it live until then); zero if it may not be
	// continued, and Recover ends it at once.
	ContinueUntil time.Time
}

// Interrupted reads state.json under prefix and describes the session it
// says was left live, if any. It writes nothing: a cheap check before
// taking the channel's lease to Recover it.
func Interrupted(ctx context.Context, store storage.Store, prefix string, cfg Config) (Interruption, error) {
	l, err := openLive(ctx, store, prefix, time.Time{}, cfg, nil)
	if err != nil {
		return Interruption{}, err
	}
	if l.prev == nil || !l.prev.Live {
		return Interruption{}, nil
	}
	return Interruption{Live: true, LastPublish: l.prev.Published, ContinueUntil: l.continueUntil()}, nil
}

// continueUntil is until when the previous session, as state.json has it,
// may be continued (its ladder aside); zero if it may not: not left live,
// End had started ending it, a session of the earlier layout (no
// directory), or no publish time recorded.
func (l *Live) continueUntil() time.Time {
	p := l.prev
	if p == nil || !p.Live || p.Ending || p.Dir == "" || p.Published.IsZero() || l.cfg.ContinueGrace < 0 {
		return time.Time{}
	}
	return p.Published.Add(l.cfg.ContinueGrace)
}

// continuable reports whether the previous session may be continued now.
// A publish time further ahead than the grace (a clock gone wrong) does
// not count.
func (l *Live) continuable() bool {
	until := l.continueUntil()
	if until.IsZero() {
		return false
	}
	now := l.cfg.Now()
	return now.Before(until) && now.After(l.prev.Published.Add(-l.cfg.ContinueGrace))
}

// decideContinuation is called by the first Begin of a session that found
// a continuable previous session: it continues it when the ladders match,
// otherwise it starts a session directory of its own and ends the
// previous session.
func (l *Live) decideContinuation(rs []Rendition) {
	v, err := l.prev.View()
	switch {
	case err != nil:
		l.log.Warn("not continuing the interrupted session: its record is unusable", "error", err)
	case !sameLadder(v.Tracks, rs):
		l.log.Info("not continuing the interrupted session: the ladder changed")
	case l.startNS < int64(v.End()):
		// This node's clock is behind the crashed one's: media time would
		// go back, and the new DASH Period start before the last one ends.
		l.log.Warn("not continuing the interrupted session: this session starts before its last segment ends (clocks apart?)",
			"session_start", time.Unix(0, l.startNS).UTC(), "last_end", time.Unix(0, int64(v.End())).UTC())
	default:
		l.resume(v)
		return
	}
	l.startSession()
	if _, err := l.endPrevious(); err != nil {
		l.log.Error("ending the interrupted previous session", "error", err)
	}
}

// sameLadder reports whether rs has exactly the renditions of prev, by
// name and kind.
func sameLadder(prev []manifest.Stream, rs []Rendition) bool {
	if len(prev) != len(rs) {
		return false
	}
	for _, r := range rs {
		if r.Track == nil || !slices.ContainsFunc(prev, func(t manifest.Stream) bool { return t.Name == r.Name && t.Kind == r.Track.Kind }) {
			return false
		}
	}
	return true
}

// resume takes over the previous session's directory and published window
// v: the next segment continues its numbering and, having no known init
// bytes, gets a new init version, so it starts a new DASH Period and
// carries EXT-X-DISCONTINUITY (Begin marks the epoch discontinuous).
func (l *Live) resume(v *manifest.View) {
	last := v.Window[len(v.Window)-1]
	l.dir = v.Dir
	l.log = l.log.With("session", l.dir)
	l.listed = listing{Dir: v.Dir, FirstSegment: v.Window[0].N}
	for i := range l.oldListed {
		if l.oldListed[i].Dir == v.Dir {
			l.listed = l.oldListed[i]
			l.oldListed = slices.Delete(l.oldListed, i, i+1)
			break
		}
	}
	l.listedStarted = true
	for _, r := range v.Window {
		for i := range r.Entries {
			l.listed.addRendition(r.Entries[i].Name)
		}
		if !slices.Contains(l.listed.Inits, r.InitV) {
			l.listed.Inits = append(l.listed.Inits, r.InitV)
		}
	}
	for _, ver := range l.listed.Inits {
		l.initNames[ver] = slices.Clone(l.listed.Renditions)
	}
	// Earlier sessions are normally scheduled for deletion already (at the
	// interrupted session's first publish); anything left goes the same way.
	for i := range l.oldListed {
		l.scheduleDeleteListing(&l.oldListed[i])
	}
	l.oldListed = nil
	for name, rv := range v.Rends {
		l.rends[name] = rendFromView(rv)
	}
	l.window = slices.Clone(v.Window)
	l.maxSegDur = v.MaxSegDur
	l.pubTracks = v.Tracks
	l.period = last.Period
	l.frozen = slices.Clone(v.Frozen)
	l.last = v
	l.published = true
	l.hadPrevious = true
	l.lastSegment = last.N
	l.nextSeg = last.N + 1
	l.continued = true
	l.log.Warn("continuing the session interrupted by a crash", "last_segment", last.N,
		"last_publish", v.Published, "window", len(v.Window))
}

// rendFromView rebuilds what a continued session knows of a rendition
// from its description in state.json: its peak bitrate carries over, so
// that BANDWIDTH does not drop until new segments are measured.
func rendFromView(rv *manifest.Rendition) *manifest.Meter {
	return &manifest.Meter{
		Name: rv.Name, Language: rv.Language, Label: rv.Label, Default: rv.Default,
		Info: cmaf.Info{Codecs: rv.Codecs, Width: rv.Width, Height: rv.Height, SarW: rv.SarW, SarH: rv.SarH,
			SampleRate: rv.SampleRate, Channels: rv.Channels},
		Declared: rv.Average, Peak: rv.Bandwidth, FPS: rv.FrameRate,
	}
}
