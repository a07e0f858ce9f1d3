package packager

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/packager/writer"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// The DVR index (Config.DVRWindow > 0; package dvr has the format).
//
// Every published segment joins the session's open chunk, which is
// rewritten with each manifest batch, after the manifests (the live
// manifests do not depend on it), and before dvr.json when that changes (a
// chunk opened or sealed, retention dropped chunks, the session ended):
// a chunk is stored before the catalog names it. A sealed chunk is also a
// durable queued write, so that End (which drops the unwritten batch)
// never loses one. Segments leaving the window stay (window.Config.Retain)
// until retention (retain.go) ages their chunk out; earlier sessions the
// catalog names stay until their last chunk has aged out.
//
// NewLive reads dvr.json back (an unreadable one is logged and rebuilt:
// earlier sessions it named are then deleted the old way, DeleteGrace after
// this session's first publish, when state.json still lists them); a
// continued session reads its last chunk and goes on appending to it.

// dvrState is the live packager's side of the DVR index; l.mu guards it
// (the retainer's goroutine aside).
type dvrState struct {
	x *dvr.Index
	// sealed are chunks sealed since the last batch: queued durably, and
	// in the next batch too so that no older version of them in an
	// unwritten batch is written after.
	sealed []dvr.Object
	// last is the open chunk as last handed to a batch.
	last dvr.Object

	// The retainer (retain.go).
	wake    chan struct{}
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pending bool // a pass is due or running
}

// chunkSize is the configured chunk size.
func (l *Live) chunkSize() int {
	if l.cfg.chunkSize > 0 {
		return l.cfg.chunkSize
	}
	return dvr.ChunkSize
}

// openDVR reads dvr.json and sets up the index; an unreadable catalog is
// logged and rebuilt from what this session knows.
func (l *Live) openDVR() {
	cat, err := readCatalog(l.ctx, l.store, l.prefix)
	if err != nil {
		l.storeErrors++
		l.log.Error("the DVR index is unreadable: rebuilding it (earlier sessions it named are deleted, not indexed)", "error", err)
		cat = nil
	}
	l.dvr = &dvrState{x: dvr.NewIndex(cat, l.chunkSize()), wake: make(chan struct{}, 1)}
}

// dvrRetains reports whether the index keeps session dir (state.json's
// listing then does not delete it).
func (l *Live) dvrRetains(dir string) bool { return l.dvr != nil && l.dvr.x.Has(dir) }

// readCatalog reads dvr.json under prefix; nil, nil when there is none.
func readCatalog(ctx context.Context, store storage.Store, prefix string) (*dvr.Catalog, error) {
	data, err := readObject(ctx, store, manifest.JoinKey(prefix, dvr.CatalogKey))
	if err != nil || data == nil {
		return nil, err
	}
	return dvr.DecodeCatalog(data)
}

// readChunk reads the chunk of session dir whose first segment is first.
func readChunk(ctx context.Context, store storage.Store, prefix, dir string, first uint64) (*manifest.View, error) {
	key := manifest.JoinKey(prefix, dvr.ChunkKey(dir, first))
	data, err := readObject(ctx, store, key)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("%s: %w", key, storage.ErrNotFound)
	}
	return dvr.DecodeChunk(data)
}

// readObject reads key within storeTimeout; nil, nil when it is missing.
func readObject(ctx context.Context, store storage.Store, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	obj, err := store.Open(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return data, nil
}

// dvrAdd adds a published segment to the index.
func (l *Live) dvrAdd(rec *manifest.Segment, streams []manifest.Stream) {
	d := l.dvr
	rends := make(map[string]*manifest.Rendition, len(rec.Entries))
	var maxDur time.Duration
	for _, e := range rec.Entries {
		if m := l.st.Meter(e.Name); m != nil {
			rends[e.Name] = m.Describe()
		}
		if e.TS > 0 {
			maxDur = max(maxDur, timeline.Duration(e.D, e.TS))
		}
	}
	d.x.Describe(streams, rends, l.cfg.SegmentDuration, maxDur)
	sealed, err := d.x.Add(l.dir, rec, l.cfg.Now())
	if err != nil {
		l.storeErrors++
		l.log.Error("indexing a segment for DVR", "segment", rec.N, "error", err)
		return
	}
	if sealed != nil {
		l.dvrStoreSealed(*sealed)
	}
}

// dvrStoreSealed stores a sealed chunk: durably queued while the writer
// runs (and in the next batch), at once otherwise.
func (l *Live) dvrStoreSealed(obj dvr.Object) {
	d := l.dvr
	if d.last.Key == obj.Key {
		d.last = dvr.Object{}
	}
	if l.w == nil {
		if err := l.put(l.key(obj.Key), obj.Data); err != nil {
			l.storeErrors++
			l.log.Error("storing a sealed DVR chunk", "key", obj.Key, "error", err)
		}
		return
	}
	d.sealed = append(d.sealed, obj)
	l.enqueueWrite(&liveOp{Key: l.key(obj.Key), Data: obj.Data, Durable: true, Ref: opRef{track: -1, dvr: true}})
}

// dvrItems returns the index objects of the next batch, in order: chunks
// sealed since the last one, the open chunk (when it changed, or always
// when force: a batch carrying the catalog must carry the chunk it names),
// the catalog when it changed.
func (l *Live) dvrItems(force bool) []writer.Object {
	d := l.dvr
	objs, err := d.x.Pending()
	if err != nil {
		l.storeErrors++
		l.log.Error("encoding the DVR index", "error", err)
	}
	var items []writer.Object
	for _, o := range d.sealed {
		items = append(items, writer.Object{Key: l.key(o.Key), Data: o.Data})
	}
	d.sealed = nil
	chunk := false
	for _, o := range objs {
		chunk = chunk || o.Key != dvr.CatalogKey
		if o.Key != dvr.CatalogKey {
			d.last = o
		}
	}
	if !chunk && force && d.last.Key != "" {
		items = append(items, writer.Object{Key: l.key(d.last.Key), Data: d.last.Data})
	}
	for _, o := range objs {
		items = append(items, writer.Object{Key: l.key(o.Key), Data: o.Data})
	}
	return items
}

// dvrResume continues the index of the session taken over from a crash:
// its last chunk is read back and goes on growing.
func (l *Live) dvrResume(v *manifest.View) {
	sealed, err := l.dvrTakeOver(l.dvr.x, v)
	for _, o := range sealed {
		l.dvrStoreSealed(o)
	}
	if err != nil {
		l.storeErrors++
		l.log.Error("continuing the DVR index of the interrupted session", "error", err)
	}
}

// dvrTakeOver has x take over session v.Dir from its last chunk in
// storage and its window v.
func (l *Live) dvrTakeOver(x *dvr.Index, v *manifest.View) ([]dvr.Object, error) {
	var last *manifest.View
	cat := x.Catalog()
	for _, s := range cat.Sessions {
		if s.Dir != v.Dir || len(s.Chunks) == 0 {
			continue
		}
		ref := s.Chunks[len(s.Chunks)-1]
		c, err := readChunk(l.ctx, l.store, l.prefix, s.Dir, ref.First)
		if err != nil {
			l.storeErrors++
			l.log.Warn("the interrupted session's last DVR chunk is unreadable: its segments are no longer indexed",
				"chunk", ref.First, "error", err)
		}
		last = c
	}
	return x.Resume(v.Dir, last, v.Window)
}

// dvrEndPrevious completes the index of the previous session, which a
// crash left live and which is now ended (endPrevious): its last chunk
// gets the segments of the window state.json recorded, and the session is
// marked ended. Written at once.
func (l *Live) dvrEndPrevious(v *manifest.View) {
	if l.dvr == nil || v.Dir == "" || !l.dvr.x.Has(v.Dir) {
		return
	}
	x := dvr.NewIndex(l.dvr.x.Catalog(), l.chunkSize())
	sealed, err := l.dvrTakeOver(x, v)
	if err != nil {
		l.storeErrors++
		l.log.Error("completing the DVR index of the interrupted session", "error", err)
	}
	x.EndSession()
	objs, err := x.Pending()
	if err != nil {
		l.storeErrors++
		l.log.Error("encoding the DVR index", "error", err)
	}
	for _, o := range append(sealed, objs...) {
		if err := l.put(l.key(o.Key), o.Data); err != nil {
			l.storeErrors++
			l.log.Error("storing the DVR index of the interrupted session", "key", o.Key, "error", err)
			return // the catalog never names what is not stored
		}
	}
}

// dvrEnd ends the session's index: the last chunk and the catalog are
// written at once (the writer is stopped), then retention's pending
// deletions run.
func (l *Live) dvrEnd() {
	d := l.dvr
	d.x.EndSession()
	for _, it := range l.dvrItems(false) {
		if err := l.put(it.Key, it.Data); err != nil {
			l.storeErrors++
			l.log.Error("storing the DVR index at the end of the session", "key", it.Key, "error", err)
			return
		}
	}
}
