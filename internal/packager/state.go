package packager

import (
	"errors"
	"fmt"
	"io"

	"github.com/ospreyvideo/osprey/internal/packager/window"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// stateKey is the object, under the channel prefix, that keeps what must
// survive sessions and process restarts (package window).
const stateKey = window.Key

// loadState reads state.json; a missing object is a fresh channel.
func (l *Live) loadState() error {
	data, err := l.readState()
	if err != nil {
		return err
	}
	st, err := window.Load(data, window.Config{
		Window: l.cfg.Window, SegmentDuration: l.cfg.SegmentDuration, DeleteGrace: l.cfg.DeleteGrace,
		ContinueGrace: l.cfg.ContinueGrace, MemoryEdge: l.ll != nil, Now: l.cfg.Now, Retain: l.retainFunc(),
	}, l.log)
	if err != nil {
		return err
	}
	l.st = st
	return nil
}

// readState returns the bytes of state.json, nil if there is none.
func (l *Live) readState() ([]byte, error) {
	ctx, cancel := l.opCtx()
	defer cancel()
	obj, err := l.store.Open(ctx, l.key(stateKey))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", stateKey, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", stateKey, err)
	}
	return data, nil
}

// saveState writes state.json. exact writes the next segment number
// itself instead of the reservation (when nothing more will be allocated).
func (l *Live) saveState(exact bool) error {
	data, err := l.st.Marshal(exact)
	if err != nil {
		return err
	}
	if err := l.put(l.key(stateKey), data); err != nil {
		return fmt.Errorf("writing %s: %w", stateKey, err)
	}
	return nil
}

// persistState saves state.json: through the background writer (before
// the manifests of its batch) while it runs, else at once.
func (l *Live) persistState() error {
	if l.w == nil {
		return l.saveState(false)
	}
	data, err := l.st.Marshal(false)
	if err != nil {
		return err
	}
	l.w.SetBatch([]writer.Object{{Key: l.key(stateKey), Data: data}})
	return nil
}

// allocSegment returns a new segment number, persisting a reservation first
// whenever the previous one is used up.
func (l *Live) allocSegment() (uint64, error) {
	n, persist := l.st.AllocSegment()
	if persist {
		if err := l.persistState(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// runDeletes deletes what is due: through the background writer (after
// the manifests it queued) while it runs, else at once.
func (l *Live) runDeletes() {
	due := l.st.DueDeletes()
	if len(due) == 0 {
		return
	}
	ops := make([]writer.Delete, len(due))
	for i, d := range due {
		ops[i] = writer.Delete{Key: l.key(d.Key), Prefix: d.Prefix}
	}
	if l.w != nil {
		l.w.AddDeletes(ops)
		return
	}
	l.deleteNow(ops)
}

// deleteNow runs deletions, logging failures.
func (l *Live) deleteNow(ops []writer.Delete) {
	for _, d := range ops {
		ctx, cancel := l.opCtx()
		var err error
		if d.Prefix {
			err = l.store.DeletePrefix(ctx, d.Key)
		} else {
			err = l.store.Delete(ctx, d.Key)
		}
		cancel()
		if err != nil {
			l.storeErrors++
			l.log.Warn("deleting expired object", "key", d.Key, "error", err)
		}
	}
}

// retainFunc is window.Config.Retain: with DVR, what leaves the window
// stays for the index to age out, and so do the earlier sessions it keeps.
func (l *Live) retainFunc() func(dir string) bool {
	if l.cfg.DVRWindow <= 0 {
		return nil
	}
	return l.dvrRetains
}
