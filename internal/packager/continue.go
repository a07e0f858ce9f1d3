package packager

import (
	"context"
	"slices"
	"time"

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
// reserves them ahead) but never listed in any stored manifest: state.json
// records the window before each manifest write. Without low-latency parts
// they were never served either, and the continuation reuses them (the
// media sequence has no hole; objects the crashed process stored under them
// unpublished are overwritten). With parts, the crashed process may have
// served them from memory: the continuation skips them as holes
// (window.State.Resume).

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
	// Dir is the session's directory ("s{k}").
	Dir string
}

// Interrupted reads state.json under prefix and describes the session it
// says was left live, if any. It writes nothing: a cheap check before
// taking the channel's lease to Recover it.
func Interrupted(ctx context.Context, store storage.Store, prefix string, cfg Config) (Interruption, error) {
	l, err := openLive(ctx, store, prefix, time.Time{}, cfg, nil)
	if err != nil {
		return Interruption{}, err
	}
	prev := l.st.Previous()
	if prev == nil || !prev.Live {
		return Interruption{}, nil
	}
	return Interruption{Live: true, LastPublish: prev.Published, ContinueUntil: l.st.ContinueUntil(), Dir: prev.Dir}, nil
}

// decideContinuation is called by the first Begin of a session that found
// a continuable previous session: it continues it when the ladders match,
// otherwise it starts a session directory of its own and ends the
// previous session.
func (l *Live) decideContinuation(rs []Rendition) {
	v, err := l.st.Previous().View()
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
		l.st.Resume(v, time.Unix(0, l.startNS))
		l.dir = l.st.Dir()
		l.log = l.log.With("session", l.dir)
		if l.dvr != nil {
			l.dvrResume(l.st.LastView()) // with the holes Resume may add
		}
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
