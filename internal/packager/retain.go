package packager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// DVR retention (see dvr/retain.go for the rules). While the channel is
// packaged, a goroutine of the session (the retainer) runs a pass after
// each manifest batch: it reads the aged chunks off the media path, then
// drops them from the catalog and hands the catalog (with the open chunk
// it names) to the writer as the latest batch, and the deletions after it.
// When nobody packages the channel, Sweep does the same directly.

// retention is what a pass found: sessions completed (a crash left their
// last chunk open), chunks aged out and the objects to delete with them.
type retention struct {
	completed map[string]*manifest.View // by session dir; nil view: the chunk is unreadable
	aged      []dvr.Aged
	deletes   []writer.Delete // keys under the prefix (the caller prefixes them)
}

// planRetention reads what a retention pass over cat needs and lists the
// deletions. live is the session being packaged (""), openInit the init
// version of its open chunk's first segment. cat is not modified.
func planRetention(ctx context.Context, store storage.Store, prefix string, cat *dvr.Catalog, live string,
	openInit func(dir string) (uint64, bool), now time.Time, window time.Duration,
) (*retention, error) {
	r := &retention{completed: map[string]*manifest.View{}}
	var errs []error
	work := cloneCatalog(cat)
	for _, u := range work.Unfinished(live) {
		v, err := readChunk(ctx, store, prefix, u.Dir, u.Ref.First)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			errs = append(errs, err) // not forgotten on a read error: next pass
			continue
		}
		r.completed[u.Dir] = v
		work.Complete(u.Dir, v)
	}
	for _, a := range work.Aged(now, window, live) {
		if a.Whole {
			r.aged = append(r.aged, a)
			r.deletes = append(r.deletes, writer.Delete{Key: a.Dir + "/", Prefix: true})
			continue
		}
		keepInit, known := uint64(0), false
		if a.Next != nil {
			if a.Next.Open() {
				keepInit, known = openInit(a.Dir)
			}
			if !known {
				if v, err := readChunk(ctx, store, prefix, a.Dir, a.Next.First); err == nil && len(v.Window) > 0 {
					keepInit, known = v.Window[0].InitV, true
				}
			}
		}
		var done []dvr.ChunkRef
		for _, ch := range a.Chunks {
			v, err := readChunk(ctx, store, prefix, a.Dir, ch.First)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				errs = append(errs, err)
				break // the older chunks go first
			}
			for _, k := range dvr.Deletions(a.Dir, ch.First, v, keepInit, known) {
				r.deletes = append(r.deletes, writer.Delete{Key: k})
			}
			done = append(done, ch)
		}
		if len(done) > 0 {
			a.Chunks = done
			r.aged = append(r.aged, a)
		}
	}
	return r, errors.Join(errs...)
}

// apply records the pass in cat; it reports whether cat changed.
func (r *retention) apply(cat *dvr.Catalog) bool {
	changed := false
	for dir, v := range r.completed {
		changed = cat.Complete(dir, v) || changed
	}
	for _, a := range r.aged {
		cat.Drop(a)
		changed = true
	}
	return changed
}

// cloneCatalog copies the sessions and chunk lists of c.
func cloneCatalog(c *dvr.Catalog) *dvr.Catalog {
	out := &dvr.Catalog{Version: c.Version, Sessions: make([]dvr.Session, len(c.Sessions))}
	for i, s := range c.Sessions {
		s.Chunks = append([]dvr.ChunkRef(nil), s.Chunks...)
		out.Sessions[i] = s
	}
	return out
}

// startRetainer starts the session's retainer; stopRetainer ends it.
func (l *Live) startRetainer() {
	d := l.dvr
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.wake:
			}
			l.retainPass(ctx)
		}
	})
}

// stopRetainer stops the retainer and waits for it; l.mu must not be held.
func (l *Live) stopRetainer() {
	if l.dvr == nil || l.dvr.cancel == nil {
		return
	}
	l.dvr.cancel()
	l.dvr.wg.Wait()
	l.mu.Lock()
	l.dvr.pending = false
	l.mu.Unlock()
}

// wakeRetainer asks for a retention pass; l.mu is held.
func (l *Live) wakeRetainer() {
	if l.dvr == nil || l.dvr.cancel == nil {
		return
	}
	l.dvr.pending = true
	select {
	case l.dvr.wake <- struct{}{}:
	default:
	}
}

// retainIdle reports whether no retention pass is due or running.
func (l *Live) retainIdle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dvr == nil || !l.dvr.pending
}

// retainPass runs one retention pass of the live session.
func (l *Live) retainPass(ctx context.Context) {
	l.mu.Lock()
	d := l.dvr
	if l.ended || l.w == nil {
		d.pending = false
		l.mu.Unlock()
		return
	}
	cat := cloneCatalog(d.x.Catalog())
	first, ok := d.x.OpenFirstInit(l.dir)
	live, now := l.dir, l.cfg.Now()
	l.mu.Unlock()
	openInit := func(dir string) (uint64, bool) { return first, ok && dir == live }
	r, err := planRetention(ctx, l.store, l.prefix, cat, live, openInit, now, l.cfg.DVRWindow)
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-d.wake:
		// Asked again meanwhile: this pass covers it.
	default:
	}
	d.pending = false
	if err != nil {
		l.storeErrors++
		l.log.Warn("DVR retention: reading the index", "error", err)
	}
	if l.ended || l.w == nil || !r.apply(d.x.Catalog()) {
		return
	}
	d.x.Touch()
	l.w.SetBatch(l.dvrItems(true))
	ops := make([]writer.Delete, len(r.deletes))
	for i, del := range r.deletes {
		ops[i] = writer.Delete{Key: l.key(del.Key), Prefix: del.Prefix}
	}
	l.w.AddDeletes(ops)
	l.log.Info("DVR retention: aged chunks dropped", "sessions", len(r.aged), "objects", len(ops))
}

// Sweep applies the DVR retention of the channel under prefix when nobody
// packages it (the caller holds the channel's lease): it reads dvr.json,
// completes sessions a crash left unfinished, deletes the chunks whose
// media ended more than dvrWindow before now (their segments, the init
// versions no kept segment names, the chunk objects; a session whose last
// chunk aged out goes as a whole directory) and rewrites dvr.json. Objects
// are deleted before the catalog forgets them, so a failed pass is simply
// run again: Sweep is idempotent. When the last session goes, the
// channel's multivariant playlist and MPD go with it. No dvr.json, or
// dvrWindow 0: nothing to do.
func Sweep(ctx context.Context, store storage.Store, prefix string, dvrWindow time.Duration, now time.Time) error {
	if dvrWindow <= 0 {
		return nil
	}
	cat, err := readCatalog(ctx, store, prefix)
	if err != nil {
		return fmt.Errorf("packager: DVR sweep: %w", err)
	}
	if cat == nil {
		return nil
	}
	none := func(string) (uint64, bool) { return 0, false }
	r, planErr := planRetention(ctx, store, prefix, cat, "", none, now, dvrWindow)
	// Delete first; what failed stays in the catalog for the next sweep.
	failed := map[string]bool{} // session dirs with a failed deletion
	for _, d := range r.deletes {
		dctx, cancel := context.WithTimeout(ctx, storeTimeout)
		key := manifest.JoinKey(prefix, d.Key)
		if d.Prefix {
			err = store.DeletePrefix(dctx, key)
		} else {
			err = store.Delete(dctx, key)
		}
		cancel()
		if err != nil {
			failed[dirOf(d.Key)] = true
			planErr = errors.Join(planErr, fmt.Errorf("deleting %s: %w", key, err))
		}
	}
	kept := r.aged[:0]
	for _, a := range r.aged {
		if !failed[a.Dir] {
			kept = append(kept, a)
		}
	}
	r.aged = kept
	if r.apply(cat) {
		data, err := cat.Encode()
		if err == nil {
			err = putWithin(ctx, store, manifest.JoinKey(prefix, dvr.CatalogKey), data)
		}
		if err != nil {
			return fmt.Errorf("packager: DVR sweep: writing %s: %w", dvr.CatalogKey, errors.Join(planErr, err))
		}
		if len(cat.Sessions) == 0 && len(r.aged) > 0 {
			// Nothing left to play: the channel's stable URLs go too.
			for _, k := range []string{manifest.MultivariantKey, manifest.MPDKey} {
				if err := deleteWithin(ctx, store, manifest.JoinKey(prefix, k)); err != nil {
					planErr = errors.Join(planErr, err)
				}
			}
		}
	}
	if planErr != nil {
		return fmt.Errorf("packager: DVR sweep: %w", planErr)
	}
	return nil
}

// dirOf is the session directory of a key relative to the prefix.
func dirOf(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return key
}

func putWithin(ctx context.Context, store storage.Store, key string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return store.Put(ctx, key, data)
}

func deleteWithin(ctx context.Context, store storage.Store, key string) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	return store.Delete(ctx, key)
}

// SweepDue reports, reading dvr.json only, whether Sweep has something to
// do: a chunk aged out, or a session a crash left unfinished. It writes
// nothing and needs no lease: a cheap check before taking the channel's.
func SweepDue(ctx context.Context, store storage.Store, prefix string, dvrWindow time.Duration, now time.Time) (bool, error) {
	if dvrWindow <= 0 {
		return false, nil
	}
	cat, err := readCatalog(ctx, store, prefix)
	if err != nil {
		return false, fmt.Errorf("packager: %w", err)
	}
	if cat == nil {
		return false, nil
	}
	return len(cat.Unfinished("")) > 0 || len(cat.Aged(now, dvrWindow, "")) > 0, nil
}
