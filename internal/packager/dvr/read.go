package dvr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Reading the index: a span [start, end) of the channel's DVR window is the
// segments of one session that overlap it. A span that crosses sessions is
// clipped to the session holding start (or, when start falls between two
// sessions, the next one): each session has its own directory, ladder and
// init segments, and a media playlist's URL names one session directory,
// so a joined span would need cross-directory URIs and a ladder check for
// a rare case; the player asks again from the next session's start.

// ErrNoIndex: the channel has no DVR index (it was never live with a DVR
// window, or every session aged out).
var ErrNoIndex = errors.New("dvr: no DVR index")

// ErrNoMedia: the span lies inside the DVR window but no segment overlaps
// it (it falls in a gap between two sessions).
var ErrNoMedia = errors.New("dvr: no segment in the span")

// WindowError is a span outside the DVR window: start before From, or at or
// after To (not recorded yet). Callers answer it naming the window.
type WindowError struct {
	Start, End time.Time // the span asked for (End zero: open)
	From, To   time.Time // the DVR window (see Bounds)
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("span from %s is outside the DVR window %s – %s",
		e.Start.UTC().Format(timeLayout), e.From.UTC().Format(timeLayout), e.To.UTC().Format(timeLayout))
}

// timeLayout is RFC 3339 in UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Found is a span read from the index.
type Found struct {
	// View holds the span's segments (Window), the ladder of the last chunk
	// read (Tracks, Rends) and the session's directory (Dir).
	View *manifest.View
	// From and To are the DVR window.
	From, To time.Time
	// Final is set when the span will not grow: its session has ended (or
	// a later one began), or its last segment reaches the span's end.
	Final bool
}

// Read limits: 64 segments of a large ladder are well under maxChunkBytes;
// maxCatalogBytes holds maxCatalog chunk references.
const (
	maxChunkBytes   = 4 << 20
	maxCatalogBytes = 32 << 20
)

// Span returns the segments of the channel under prefix that overlap
// [start, end) (end zero: up to the newest segment), clipped to one session
// (see above). It reads dvr.json and only the chunks it needs. Errors:
// ErrNoIndex, a *WindowError when start is outside the DVR window,
// ErrNoMedia.
func Span(ctx context.Context, store storage.Store, prefix string, start, end time.Time) (*manifest.View, error) {
	f, err := Find(ctx, store, prefix, start, end)
	if err != nil {
		return nil, err
	}
	return f.View, nil
}

// Bounds returns the channel's DVR window: the media start of its oldest
// indexed segment (its earliest entry) and the end of its newest one (of
// its lead entry, as the playlists give it). ErrNoIndex when there is
// none.
func Bounds(ctx context.Context, store storage.Store, prefix string) (from, to time.Time, err error) {
	return NewReader(store, ReaderOptions{}).Bounds(ctx, prefix)
}

// Find is Span with the window and whether the span is final.
func Find(ctx context.Context, store storage.Store, prefix string, start, end time.Time) (*Found, error) {
	return NewReader(store, ReaderOptions{}).Find(ctx, prefix, start, end)
}

// Reader reads the DVR index of any channel of a store, keeping up to a
// bound of sealed chunks (which never change) in memory, so that a player
// reloading a time-shifted playlist does not read the whole span again.
// The Views it returns share their segments with the cache: read only.
// It is safe for concurrent use.
type Reader struct {
	store storage.Store
	cache *chunkCache // nil: none
	heads *headCache  // nil: every request reads the head
}

// ReaderOptions tune a Reader's memory. The zero value keeps nothing: every
// answer is as fresh as the store.
type ReaderOptions struct {
	// CachedChunks is how many decoded sealed chunks are kept.
	CachedChunks int
	// Reuse is how long a channel's catalog and newest chunk, once read,
	// answer requests (concurrent requests share one read): answers may
	// be that much behind the index. It should be well under a segment.
	Reuse time.Duration
}

// NewReader returns a Reader of store.
func NewReader(store storage.Store, opts ReaderOptions) *Reader {
	r := &Reader{store: store}
	if opts.CachedChunks > 0 {
		r.cache = newChunkCache(opts.CachedChunks)
	}
	if opts.Reuse > 0 {
		r.heads = newHeadCache(opts.Reuse)
	}
	return r
}

// Bounds is the package's Bounds.
func (rd *Reader) Bounds(ctx context.Context, prefix string) (from, to time.Time, err error) {
	r := reader{Reader: rd, prefix: prefix}
	h, err := r.head(ctx)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return h.from, h.to, nil
}

// Find is the package's Find.
func (rd *Reader) Find(ctx context.Context, prefix string, start, end time.Time) (*Found, error) {
	if !end.IsZero() && !end.After(start) {
		return nil, fmt.Errorf("dvr: span end %s is not after its start %s", end.Format(timeLayout), start.Format(timeLayout))
	}
	f, err := rd.find(ctx, prefix, start, end)
	if errors.Is(err, storage.ErrNotFound) && rd.heads != nil {
		// A chunk named by a reused head was deleted meanwhile (the
		// retention of the DVR window): read the head again.
		rd.heads.forget(prefix)
		f, err = rd.find(ctx, prefix, start, end)
	}
	return f, err
}

func (rd *Reader) find(ctx context.Context, prefix string, start, end time.Time) (*Found, error) {
	r := reader{Reader: rd, prefix: prefix}
	h, err := r.head(ctx)
	if err != nil {
		return nil, err
	}
	c, from, to, last := h.c, h.from, h.to, h.last
	if start.Before(from) || !start.Before(to) {
		return nil, &WindowError{Start: start, End: end, From: from, To: to}
	}
	// The session: the first whose end is after start.
	si := len(c.Sessions) - 1
	for i, s := range c.Sessions[:len(c.Sessions)-1] {
		sEnd, err := r.sessionEnd(ctx, s)
		if err != nil {
			return nil, err
		}
		if sEnd.After(start) {
			si = i
			break
		}
	}
	s := c.Sessions[si]
	if si < len(c.Sessions)-1 {
		last = nil // the open chunk read is the newest session's
	}
	f, err := r.span(ctx, s, start, end, last)
	if err != nil {
		return nil, err
	}
	f.From, f.To = from, to
	f.Final = f.Final || s.Ended || si < len(c.Sessions)-1
	return f, nil
}

// reader reads one channel's index.
type reader struct {
	*Reader
	prefix string
}

func (r *reader) catalog(ctx context.Context) (*Catalog, error) {
	data, err := r.read(ctx, manifest.JoinKey(r.prefix, CatalogKey), maxCatalogBytes)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNoIndex
	}
	if err != nil {
		return nil, err
	}
	c, err := DecodeCatalog(data)
	if err != nil {
		return nil, err
	}
	// Sessions without chunks (just begun) hold nothing to play.
	kept := c.Sessions[:0]
	for _, s := range c.Sessions {
		if len(s.Chunks) > 0 {
			kept = append(kept, s)
		}
	}
	c.Sessions = kept
	if len(c.Sessions) == 0 {
		return nil, ErrNoIndex
	}
	return c, nil
}

// head returns the channel's catalog and window, shared for the Reader's
// reuse time when it has one.
func (r *reader) head(ctx context.Context) (*head, error) {
	if r.heads == nil {
		return r.readHead(ctx)
	}
	return r.heads.get(ctx, r.prefix, r.readHead)
}

// readHead reads the catalog and the newest chunk (kept as last, so that a
// span reaching it does not read it again): the window is from the start
// of the oldest chunk to the end of the newest segment's lead entry, the
// instant the playlists give.
func (r *reader) readHead(ctx context.Context) (*head, error) {
	c, err := r.catalog(ctx)
	if err != nil {
		return nil, err
	}
	s := c.Sessions[len(c.Sessions)-1]
	last, err := r.chunk(ctx, s.Dir, s.Chunks[len(s.Chunks)-1])
	if err != nil {
		return nil, err
	}
	_, end := leadSpan(last.Window[len(last.Window)-1])
	return &head{c: c, from: c.Sessions[0].Chunks[0].Start, to: epochTime(end), last: last}, nil
}

// sessionEnd is the media end of an earlier session's last segment (its
// last chunk is read only if it was left open, by a crash).
func (r *reader) sessionEnd(ctx context.Context, s Session) (time.Time, error) {
	ref := s.Chunks[len(s.Chunks)-1]
	if !ref.Open() {
		return ref.End, nil
	}
	v, err := r.chunk(ctx, s.Dir, ref)
	if err != nil {
		return time.Time{}, err
	}
	return epochTime(v.End()), nil
}

// span reads the chunks of session s overlapping [start, end); last, when
// not nil, is its open newest chunk already read.
func (r *reader) span(ctx context.Context, s Session, start, end time.Time, last *manifest.View) (*Found, error) {
	lo := 0 // the last chunk starting at or before start
	for i, ch := range s.Chunks {
		if !ch.Start.After(start) {
			lo = i
		}
	}
	hi := len(s.Chunks) // chunks before hi start before end
	if !end.IsZero() {
		for hi > lo+1 && !s.Chunks[hi-1].Start.Before(end) {
			hi--
		}
	}
	v, err := r.join(ctx, s, lo, hi, last, func(seg *manifest.Segment) bool {
		s, e := leadSpan(seg)
		return e > dur(start) && (end.IsZero() || s < dur(end))
	})
	if err != nil {
		return nil, err
	}
	return &Found{View: v, Final: !end.IsZero() && !epochTime(v.End()).Before(end)}, nil
}

// join reads chunks lo to hi (excluded) of session s into one View of the
// segments keep accepts, with the renditions of every chunk and the
// ladder of the last; last, when not nil, is s's open newest chunk already
// read. ErrNoMedia when no segment is kept.
func (r *reader) join(ctx context.Context, s Session, lo, hi int, last *manifest.View, keep func(*manifest.Segment) bool) (*manifest.View, error) {
	v := &manifest.View{Dir: s.Dir, Rends: map[string]*manifest.Rendition{}}
	for i := lo; i < hi; i++ {
		cv := last
		if i != len(s.Chunks)-1 || cv == nil {
			var err error
			if cv, err = r.chunk(ctx, s.Dir, s.Chunks[i]); err != nil {
				return nil, err
			}
		}
		v.SegDur, v.Tracks, v.Published = cv.SegDur, cv.Tracks, cv.Published
		v.MaxSegDur = max(v.MaxSegDur, cv.MaxSegDur)
		maps.Copy(v.Rends, cv.Rends)
		for _, seg := range cv.Window {
			if keep(seg) {
				v.Window = append(v.Window, seg)
			}
		}
	}
	if len(v.Window) == 0 {
		return nil, ErrNoMedia
	}
	return v, nil
}

// Session returns every kept segment of the channel's session in
// directory dir ("s{k}"; "" names the newest session) as one View.
// ErrNoIndex when the channel has no index or no such session.
func (rd *Reader) Session(ctx context.Context, prefix, dir string) (*manifest.View, error) {
	r := reader{Reader: rd, prefix: prefix}
	c, err := r.catalog(ctx)
	if err != nil {
		return nil, err
	}
	i := len(c.Sessions) - 1
	if dir != "" {
		i = slices.IndexFunc(c.Sessions, func(s Session) bool { return s.Dir == dir })
		if i < 0 {
			return nil, fmt.Errorf("session %s of %s: %w", dir, prefix, ErrNoIndex)
		}
	}
	s := c.Sessions[i]
	return r.join(ctx, s, 0, len(s.Chunks), nil, func(*manifest.Segment) bool { return true })
}

func (r *reader) chunk(ctx context.Context, dir string, ref ChunkRef) (*manifest.View, error) {
	key := manifest.JoinKey(r.prefix, ChunkKey(dir, ref.First))
	if v := r.cache.get(key, ref); v != nil {
		return v, nil
	}
	data, err := r.read(ctx, key, maxChunkBytes)
	if err != nil {
		return nil, err
	}
	v, err := DecodeChunk(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	switch v.Dir {
	case dir:
	case "":
		v.Dir = dir
	default:
		return nil, fmt.Errorf("%s: a chunk of session %q", key, v.Dir)
	}
	if !ref.Open() {
		r.cache.put(key, ref, v)
	}
	return v, nil
}

func (r *reader) read(ctx context.Context, key string, limit int) ([]byte, error) {
	obj, err := r.store.Open(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(io.LimitReader(obj, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("reading %s: more than %d bytes", key, limit)
	}
	return data, nil
}

// leadSpan is when the segment's lead entry starts and ends, since the Unix
// epoch: the instants its program date time and duration give (the other
// entries may start or end a few milliseconds apart, which must not pull
// in a neighbour at an exact segment boundary).
func leadSpan(s *manifest.Segment) (start, end time.Duration) {
	e := s.Entry(s.Lead)
	if e == nil {
		return s.Start(), segEnd(s)
	}
	return timeline.SinceEpoch(e.T, e.TS), timeline.SinceEpoch(e.T+e.D, e.TS)
}

// segEnd is when the segment's last entry ends, since the Unix epoch.
func segEnd(s *manifest.Segment) time.Duration {
	var end time.Duration
	for _, e := range s.Entries {
		end = max(end, timeline.SinceEpoch(e.T+e.D, e.TS))
	}
	return end
}

func dur(t time.Time) time.Duration { return time.Duration(t.UnixNano()) }

func epochTime(d time.Duration) time.Time { return time.Unix(0, int64(d)).UTC() }
