package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/clip"
)

// Recorder makes a VoD asset of a channel's ended session from its kept
// segments (clip.Service does).
type Recorder interface {
	// Record makes the asset of the session in directory dir of the
	// channel's DVR index ("" means its newest session).
	Record(ctx context.Context, ch catalog.Channel, dir string) (clip.Result, error)
}

// recordTimeout bounds one recording: copying a long session's segments
// and decoding it once for its thumbnails.
const recordTimeout = 30 * time.Minute

// recordSession makes the asset of channel ch's session that has just
// ended, when ch.Record is set (as it was when the session started) and
// rec is not nil. The session end path calls it once the packager's End
// has returned without error (the session's manifests and DVR index are
// ended), with the session's directory ("" names the newest session of
// the index, which is still this one: only the lease holder starts
// sessions). The recording runs on a goroutine of its own, which
// Manager.Wait waits for, so the session's lease is released at once and
// the publisher may start the next session meanwhile. A failure is only
// logged: the session's segments stay in the DVR window, where a clip can
// still be made of them.
func (m *Manager) recordSession(rec Recorder, ch catalog.Channel, dir string, log *slog.Logger) {
	if rec == nil || !ch.Record {
		return
	}
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		defer cancel()
		started := time.Now()
		res, err := rec.Record(ctx, ch, dir)
		if err != nil {
			log.Error("recording the session as an asset", "err", err)
			return
		}
		log.Info("session recorded as an asset", "asset", res.Asset.ID, "duration", res.Asset.Duration,
			"from", res.Start, "to", res.End, "took", time.Since(started))
	})
}
