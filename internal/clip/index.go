package clip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Index reads a channel's DVR index (dvr.json and the chunks it names,
// internal/packager/dvr) straight from storage. It is the Spanner the
// server uses until dvr.Span lands, and what Record reads a whole
// session with.
type Index struct {
	Store storage.Store
}

// Span implements Spanner: the segments overlapping [start, end) of the
// session holding start (a span running past the end of that session is
// cut there: two sessions may have different ladders and timelines).
// The DVR window is from the start of the oldest kept segment to the end
// of the newest; a span not inside it is a *WindowError.
func (x Index) Span(ctx context.Context, prefix string, start, end time.Time) (*manifest.View, error) {
	cat, err := x.catalog(ctx, prefix)
	if err != nil {
		return nil, err
	}
	from, to, err := x.bounds(ctx, prefix, cat)
	if err != nil {
		return nil, err
	}
	if start.Before(from) || end.After(to) || !end.After(start) {
		return nil, &WindowError{From: from, To: to}
	}
	var sess *dvr.Session
	for i := range cat.Sessions {
		s := &cat.Sessions[i]
		if len(s.Chunks) > 0 && !s.Chunks[0].Start.After(start) {
			sess = s
		}
	}
	if sess == nil {
		return nil, &WindowError{From: from, To: to}
	}
	var refs []dvr.ChunkRef
	for i, c := range sess.Chunks {
		last := i == len(sess.Chunks)-1
		// A chunk ends where the next begins (or at its End once sealed).
		if !c.Open() && !c.End.After(start) {
			continue
		}
		if !last && !sess.Chunks[i+1].Start.After(start) {
			continue
		}
		if !c.Start.Before(end) {
			break
		}
		refs = append(refs, c)
	}
	v, err := x.read(ctx, prefix, sess.Dir, refs)
	if err != nil {
		return nil, err
	}
	v = Select(v, start, end)
	if len(v.Window) == 0 {
		return nil, &WindowError{From: from, To: to}
	}
	return v, nil
}

// Session returns every kept segment of the session in directory dir
// ("s{k}") as one View.
func (x Index) Session(ctx context.Context, prefix, dir string) (*manifest.View, error) {
	cat, err := x.catalog(ctx, prefix)
	if err != nil {
		return nil, err
	}
	for _, s := range cat.Sessions {
		if s.Dir == dir {
			return x.read(ctx, prefix, dir, s.Chunks)
		}
	}
	return nil, fmt.Errorf("clip: session %s of %s: %w", dir, prefix, ErrNeverLive)
}

// LastSession is the directory of the channel's newest session.
func (x Index) LastSession(ctx context.Context, prefix string) (string, error) {
	cat, err := x.catalog(ctx, prefix)
	if err != nil {
		return "", err
	}
	return cat.Sessions[len(cat.Sessions)-1].Dir, nil
}

// catalog reads dvr.json; a channel without one, or without a session
// holding a chunk, has never been live (as far as the index knows).
func (x Index) catalog(ctx context.Context, prefix string) (*dvr.Catalog, error) {
	data, err := read(ctx, x.Store, manifest.JoinKey(prefix, dvr.CatalogKey))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("clip: %s: %w", prefix, ErrNeverLive)
	}
	if err != nil {
		return nil, err
	}
	cat, err := dvr.DecodeCatalog(data)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", prefix, err)
	}
	cat.Sessions = deleteEmpty(cat.Sessions)
	if len(cat.Sessions) == 0 {
		return nil, fmt.Errorf("clip: %s: %w", prefix, ErrNeverLive)
	}
	return cat, nil
}

func deleteEmpty(ss []dvr.Session) []dvr.Session {
	out := ss[:0]
	for _, s := range ss {
		if len(s.Chunks) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// bounds is the DVR window the index holds: the start of the oldest
// chunk to the end of the newest (read from the chunk while it is open).
func (x Index) bounds(ctx context.Context, prefix string, cat *dvr.Catalog) (from, to time.Time, err error) {
	first, last := cat.Sessions[0], cat.Sessions[len(cat.Sessions)-1]
	from = first.Chunks[0].Start
	ref := last.Chunks[len(last.Chunks)-1]
	if !ref.Open() {
		return from, ref.End, nil
	}
	v, err := x.read(ctx, prefix, last.Dir, []dvr.ChunkRef{ref})
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	_, to = Bounds(v)
	return from, to, nil
}

// read joins the chunks of session dir into one View: their segments in
// order, the renditions of every chunk, the ladder of the last one.
func (x Index) read(ctx context.Context, prefix, dir string, refs []dvr.ChunkRef) (*manifest.View, error) {
	out := &manifest.View{Dir: dir, Rends: map[string]*manifest.Rendition{}}
	for _, ref := range refs {
		data, err := read(ctx, x.Store, manifest.JoinKey(prefix, dvr.ChunkKey(dir, ref.First)))
		if err != nil {
			return nil, err
		}
		v, err := dvr.DecodeChunk(data)
		if err != nil {
			return nil, fmt.Errorf("clip: %s chunk %d: %w", dir, ref.First, err)
		}
		for _, r := range v.Window {
			if n := len(out.Window); n == 0 || r.N > out.Window[n-1].N {
				out.Window = append(out.Window, r)
			}
		}
		maps.Copy(out.Rends, v.Rends)
		out.Tracks, out.SegDur = v.Tracks, v.SegDur
		out.MaxSegDur = max(out.MaxSegDur, v.MaxSegDur)
	}
	if len(out.Window) == 0 {
		return nil, fmt.Errorf("clip: %s/%s: %w", prefix, dir, ErrNeverLive)
	}
	return out, nil
}

// read returns the object under key.
func read(ctx context.Context, store storage.Store, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	obj, err := store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("clip: opening %s: %w", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return nil, fmt.Errorf("clip: reading %s: %w", key, err)
	}
	return data, nil
}
