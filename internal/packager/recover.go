package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Recover ends the manifests of a session of the channel under prefix that
// was still live when the process stopped without End (kill -9, power
// loss): from the window state.json recorded at the last publish, it writes
// the manifests End would have written for that window (media playlists
// with EXT-X-ENDLIST, a static MPD, the multivariant playlist), runs the
// deletions that are due and marks the session ended in state.json. The
// segments stay until the channel's next session replaces them, as after
// End.
//
// A session that may still be continued (it published within
// cfg.ContinueGrace, see continue.go) is left live: the publisher
// reconnecting, through this node or another, continues it; call Recover
// again once the grace has passed (Interrupted tells until when).
//
// It reports false, and does nothing, when state.json is missing, predates
// this record, says no session is live or the session may still be
// continued. Call it at startup, before any
// NewLive for the prefix; never while a Live of the prefix is running.
// Running it again is harmless: an error means state.json may still say
// live (recovered tells whether the manifests were ended), and the next
// Recover or NewLive ends them again.
func Recover(ctx context.Context, store storage.Store, prefix string, cfg Config, log *slog.Logger) (recovered bool, err error) {
	l, err := openLive(ctx, store, prefix, time.Time{}, cfg, log)
	if err != nil {
		return false, err
	}
	if l.st.Continuable() {
		prev := l.st.Previous()
		l.log.Info("leaving an interrupted session live for its publisher to continue",
			"dir", prev.Dir, "last_publish", prev.Published, "until", l.st.ContinueUntil())
		return false, nil
	}
	if prev := l.st.Previous(); l.cfg.DVRWindow > 0 && prev != nil && prev.Live {
		l.openDVR() // endPrevious completes the session's index
	}
	return l.endPrevious()
}

// endPrevious writes the ended manifests of the previous session if
// state.json says it was left live, runs due deletions and saves state. It
// reports whether it ended such manifests.
func (l *Live) endPrevious() (bool, error) {
	prev := l.st.Previous()
	if prev == nil || !prev.Live {
		return false, nil
	}
	v, err := prev.View()
	if err != nil {
		return false, fmt.Errorf("packager: %s: interrupted session: %w", stateKey, err)
	}
	errs := l.putManifests(v, true)
	ended := len(errs) == 0
	if ended {
		l.st.PreviousEnded()
	}
	l.dvrEndPrevious(v)
	l.runDeletes()
	if err := l.saveState(false); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		l.storeErrors += int64(len(errs))
		return ended, fmt.Errorf("packager: ending the interrupted session: %w", err)
	}
	last := v.Window[len(v.Window)-1]
	l.log.Info("packager interrupted session ended", "first_segment", v.Window[0].N, "last_segment", last.N)
	return true, nil
}
