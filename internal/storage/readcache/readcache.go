// Package readcache is a bounded in-memory read cache in front of a
// storage.Store, for the origin serving from S3: the objects that never
// change under their key (media and init segments, subtitles, thumbnails)
// are read from the backend once and then served from memory.
//
// Store wraps another storage.Store and is one itself:
//   - Open of a key the Config calls immutable (by default: media segments,
//     init segments, WebVTT files and JPEG images under live/ and vod/; never
//     manifests nor packager state) returns the cached object when there is
//     one; otherwise it reads the whole object from the backend, keeps it,
//     and returns it. The Info (size, ETag, ModTime) is the backend's, so
//     conditional requests and Range answers are what the backend's own
//     object would give.
//   - Concurrent misses of one key are collapsed: one backend read, the
//     others wait for it (each within its own context). When the reader
//     that started the read gives up (its context ends), a waiting one
//     starts another read.
//   - Open of any other key, and of objects above Config.MaxObjectBytes, go
//     straight to the backend, streamed as before: a live manifest is never
//     served from here.
//   - Put, Delete and DeletePrefix go to the backend and then drop the
//     entries they may have changed, also when they fail. A read that began
//     before the change and ends after it is not kept either, so once the
//     call returns no later Open sees the previous object.
//   - Invalidate(prefix) drops entries without touching the backend: for
//     changes made by other processes (another node deleting an asset).
//   - Entries are dropped after Config.MaxAge (10 minutes by default), which
//     bounds how long an object changed elsewhere without an Invalidate
//     stays visible.
//
// The cache is bounded by the bytes it keeps (Config.MaxBytes, 256 MiB by
// default; each entry weighs its body plus its key and a fixed overhead),
// evicting with otter's W-TinyLFU policy; the bound holds whenever no Open
// is between storing an entry and returning. Objects being read into the
// cache (at most MaxObjectBytes each, one per key) and objects still open
// by readers after their entry was dropped are not counted. Misses are not
// cached: an object that does not exist yet is looked up again next time.
//
// Where bodies live: under 64 KiB, on the Go heap (a bytes.Reader per
// Open). From 64 KiB, on Linux, in an anonymous memory file (memfd),
// sealed, that each Open reopens through /proc/self/fd for an offset of
// its own, so that net/http sends it with sendfile(2) like the folder
// backend's files. With Config.Dir, those bodies are instead unnamed
// temporary files (O_TMPFILE) in that folder: the same, on a disk
// filesystem's page cache, which sends large files with less CPU than
// shmem does when shmem has no transparent huge pages (the usual default:
// memfd pages are 4 KiB, each looked up by sendfile). Either kind of file
// has no name and is released when its entry is dropped and its last
// reader closes it, and when the process ends, also by kill -9. Elsewhere
// than Linux, or when such a file cannot be made, bodies stay on the heap.
//
// Store runs no goroutine of its own and needs no Close.
package readcache

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Defaults of Config's zero values.
const (
	DefaultMaxBytes       = 256 << 20
	DefaultMaxObjectBytes = 16 << 20
	DefaultMaxAge         = 10 * time.Minute
)

// entryOverhead is the weight added to each entry's body and key for its
// Info, the otter node and the maps around it.
const entryOverhead = 256

// Config configures a Store. The zero value takes the defaults.
type Config struct {
	// MaxBytes bounds the memory the cached objects take; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// MaxObjectBytes is the largest object kept; larger ones are streamed
	// from the backend. 0 means DefaultMaxObjectBytes; it is capped at
	// MaxBytes.
	MaxObjectBytes int64
	// MaxAge is how long an entry is served before it is read again; 0
	// means DefaultMaxAge, negative means no limit.
	MaxAge time.Duration
	// Immutable reports whether the object under key never changes, so
	// that it may be cached; nil means DefaultImmutable.
	Immutable func(key string) bool
	// Dir, when set (Linux), keeps bodies of 64 KiB and more in unnamed
	// temporary files (O_TMPFILE) in this folder, on a disk filesystem's
	// page cache, instead of in memory files: see the package doc. The
	// folder must exist; the files have no name and vanish with the
	// process. MaxBytes bounds the space they take.
	Dir string
}

// Store is a storage.Store that serves immutable objects from memory.
type Store struct {
	inner     storage.Store
	immutable func(string) bool
	maxBytes  int64
	maxObject int64
	maxAge    time.Duration // 0: no limit
	now       func() time.Time
	heapOnly  bool   // keep every body on the heap (tests of both kinds)
	dir       string // folder of unnamed cache files; "" for memory files

	cache *otter.Cache[string, *entry]
	stats counters

	mu       sync.Mutex
	inflight map[string]*call // backend reads in progress, by key
}

// New returns a Store caching the immutable objects of store. It panics on
// a negative MaxBytes or MaxObjectBytes, a programming error.
func New(store storage.Store, cfg Config) *Store {
	if cfg.MaxBytes < 0 || cfg.MaxObjectBytes < 0 {
		panic(fmt.Sprintf("readcache: negative size limit (MaxBytes %d, MaxObjectBytes %d)", cfg.MaxBytes, cfg.MaxObjectBytes))
	}
	s := &Store{
		inner:     store,
		immutable: cfg.Immutable,
		maxBytes:  cmpOr(cfg.MaxBytes, DefaultMaxBytes),
		maxObject: cmpOr(cfg.MaxObjectBytes, DefaultMaxObjectBytes),
		maxAge:    cmpOr(cfg.MaxAge, DefaultMaxAge),
		now:       time.Now,
		dir:       cfg.Dir,
		inflight:  make(map[string]*call),
	}
	if s.immutable == nil {
		s.immutable = DefaultImmutable
	}
	if s.maxAge < 0 {
		s.maxAge = 0
	}
	// An entry's weight is a uint32 and must fit in the budget.
	s.maxObject = min(s.maxObject, s.maxBytes, math.MaxUint32-64<<10)
	s.cache = otter.Must(&otter.Options[string, *entry]{
		MaximumWeight: uint64(s.maxBytes),
		Weigher: func(_ string, e *entry) uint32 {
			// otter calls the weigher exactly once per stored value.
			s.stats.bytes.Add(int64(e.weight))
			return e.weight
		},
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *entry]) {
			s.stats.bytes.Add(-int64(ev.Value.weight))
			ev.Value.drop()
			if ev.WasEvicted() {
				s.stats.evictions.Add(1)
			}
		},
		// Eviction runs inside the storing call: no goroutine, and the
		// bound holds when Open returns.
		Executor: func(fn func()) { fn() },
	})
	return s
}

func cmpOr[T int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Unwrap returns the wrapped Store.
func (s *Store) Unwrap() storage.Store { return s.inner }

// Put stores data in the backend, then drops the key's entry.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	defer s.invalidate(key, false)
	return s.inner.Put(ctx, key, data)
}

// Delete deletes key in the backend, then drops its entry.
func (s *Store) Delete(ctx context.Context, key string) error {
	defer s.invalidate(key, false)
	return s.inner.Delete(ctx, key)
}

// DeletePrefix deletes the keys under prefix in the backend, then drops
// their entries.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	defer s.invalidate(prefix, true)
	return s.inner.DeletePrefix(ctx, prefix)
}

// Invalidate drops the entries of every key that starts with prefix ("" is
// every key), and keeps reads in progress for them from being stored. It
// does not touch the backend. Give a trailing slash to mean a folder:
// "live/ch_1" also matches "live/ch_10/...".
func (s *Store) Invalidate(prefix string) { s.invalidate(prefix, true) }

// invalidate drops key's entry, or those of every key under it when
// isPrefix, and marks the matching reads in progress stale.
func (s *Store) invalidate(key string, isPrefix bool) {
	match := func(k string) bool { return k == key || isPrefix && strings.HasPrefix(k, key) }
	s.mu.Lock()
	for k, c := range s.inflight {
		if match(k) {
			c.stale = true
			delete(s.inflight, k)
		}
	}
	s.mu.Unlock()
	// An entry stored before the marking is removed here; a read finishing
	// after it is stale and stores nothing.
	if !isPrefix {
		s.cache.Invalidate(key)
		return
	}
	var keys []string
	for k := range s.cache.Keys() {
		if match(k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		s.cache.Invalidate(k)
	}
}

// Store is a storage.Store, and forwards the optional capabilities every
// backend has. It is not a storage.FileStore even over one: code that
// needs local paths (VoD sources) uses Unwrap.
var (
	_ storage.Store    = (*Store)(nil)
	_ storage.Uploader = (*Store)(nil)
	_ storage.Copier   = (*Store)(nil)
)
