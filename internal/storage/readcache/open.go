package readcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// memFileMin is the smallest body kept in a memory file (Linux): below it
// the copy to the socket costs little and a descriptor per entry would
// not pay.
const memFileMin = 64 << 10

// entry is a cached object: its bytes and the Info the backend gave.
type entry struct {
	info   storage.Info
	data   []byte   // the body on the heap (never written after), or
	file   *memFile // the body in a memory file
	loaded time.Time
	weight uint32
}

// call is a backend read in progress, shared by the Opens of its key that
// arrive meanwhile. Its result fields are written before done is closed.
type call struct {
	done chan struct{}
	// Results.
	entry    *entry // the object, on success
	err      error  // the backend's error
	retry    bool   // the reader gave up (its context ended): read again
	tooLarge bool   // the object is not cached: open it from the backend
	// Guarded by Store.mu.
	stale    bool // the key changed during the read: do not store the entry
	waiters  int  // Opens waiting for the result and not done with it
	finished bool
	orphan   bool // the entry was not stored: the last waiter drops its memory file
}

// Open returns the object under key: from memory when the key is immutable
// and cached, else from the backend (storing immutable objects that fit).
func (s *Store) Open(ctx context.Context, key string) (storage.Object, error) {
	if !s.immutable(key) {
		s.stats.bypassed.Add(1)
		return s.inner.Open(ctx, key)
	}
	for {
		if e, ok := s.lookup(key); ok {
			s.stats.hits.Add(1)
			return s.openEntry(ctx, key, e)
		}
		s.mu.Lock()
		if e, ok := s.lookup(key); ok { // stored since the first look
			s.mu.Unlock()
			s.stats.hits.Add(1)
			return s.openEntry(ctx, key, e)
		}
		c, ok := s.inflight[key]
		if !ok {
			c = &call{done: make(chan struct{})}
			s.inflight[key] = c
			s.mu.Unlock()
			s.stats.misses.Add(1)
			return s.load(ctx, key, c)
		}
		c.waiters++
		s.mu.Unlock()

		s.stats.collapsed.Add(1)
		obj, err, again := s.wait(ctx, key, c)
		if !again {
			return obj, err
		}
	}
}

// wait waits for c's result; again means the caller must start over.
func (s *Store) wait(ctx context.Context, key string, c *call) (_ storage.Object, _ error, again bool) {
	defer s.doneWaiting(c)
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("readcache: open %q: waiting for the read in progress: %w", key, ctx.Err()), false
	}
	switch {
	case c.retry:
		return nil, nil, true
	case c.tooLarge:
		obj, err := s.inner.Open(ctx, key)
		return obj, err, false
	case c.err != nil:
		return nil, c.err, false
	}
	obj, err := s.openEntry(ctx, key, c.entry)
	return obj, err, false
}

// doneWaiting ends a waiter of c; the last one of a call whose entry was
// not stored drops its memory file.
func (s *Store) doneWaiting(c *call) {
	s.mu.Lock()
	c.waiters--
	last := c.finished && c.orphan && c.waiters == 0
	s.mu.Unlock()
	if last {
		c.entry.drop()
	}
}

// lookup returns key's entry unless it is missing or too old.
func (s *Store) lookup(key string) (*entry, bool) {
	e, ok := s.cache.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	if s.maxAge > 0 && s.now().Sub(e.loaded) >= s.maxAge {
		s.cache.Invalidate(key)
		s.stats.expired.Add(1)
		return nil, false
	}
	return e, true
}

// openEntry opens e, or the backend's object when e's memory file was
// dropped in the meantime (or cannot be opened again).
func (s *Store) openEntry(ctx context.Context, key string, e *entry) (storage.Object, error) {
	if obj := e.open(); obj != nil {
		return obj, nil
	}
	s.stats.fallbacks.Add(1)
	return s.inner.Open(ctx, key)
}

// load reads key from the backend for c, stores it unless c went stale,
// and ends c.
func (s *Store) load(ctx context.Context, key string, c *call) (storage.Object, error) {
	s.stats.loads.Add(1)
	obj, err := s.inner.Open(ctx, key)
	if err != nil {
		c.err, c.retry = err, ctx.Err() != nil
		s.finish(key, c)
		return nil, err
	}
	info := obj.Info()
	if info.Size > s.maxObject || info.Size < 0 {
		s.stats.uncacheable.Add(1)
		c.tooLarge = true
		s.finish(key, c)
		return obj, nil // streamed, as without the cache
	}
	e, err := s.readEntry(key, obj, info)
	_ = obj.Close() // read whole, or failed: nothing more to report
	if err != nil {
		c.err, c.retry = fmt.Errorf("readcache: reading %q: %w", key, err), ctx.Err() != nil
		s.finish(key, c)
		return nil, c.err
	}
	c.entry = e
	// Opened before it is stored, so that an eviction cannot come first.
	mine := e.open()
	s.finish(key, c)
	if mine == nil {
		s.stats.fallbacks.Add(1)
		return s.inner.Open(ctx, key)
	}
	return mine, nil
}

// readEntry reads obj whole into a new entry: in a memory file when it is
// large enough and the system has them, else on the heap.
func (s *Store) readEntry(key string, obj storage.Object, info storage.Info) (*entry, error) {
	e := &entry{info: info, loaded: s.now(), weight: uint32(info.Size + int64(len(key)) + entryOverhead)}
	if info.Size >= memFileMin && !s.heapOnly {
		if mf, err := newMemFile(key, s.dir); err == nil {
			if err := mf.fill(obj, info.Size); err != nil {
				mf.drop()
				return nil, err
			}
			e.file = mf
			return e, nil
		}
	}
	e.data = make([]byte, info.Size)
	if n, err := io.ReadFull(obj, e.data); err != nil {
		return nil, ended(n, info.Size, err)
	}
	if err := checkEnd(obj, info.Size); err != nil {
		return nil, err
	}
	return e, nil
}

// finish stores c's entry unless c went stale, and wakes its waiters.
func (s *Store) finish(key string, c *call) {
	s.mu.Lock()
	if s.inflight[key] == c {
		delete(s.inflight, key)
	}
	c.finished = true
	dropNow := false
	if c.entry != nil {
		if !c.stale && int64(c.entry.weight) <= s.maxBytes {
			s.cache.Set(key, c.entry)
			// Another goroutine may have held otter's maintenance lock, so
			// that the write is not accounted yet: evict before returning.
			if s.stats.bytes.Load() > s.maxBytes {
				s.cache.CleanUp()
			}
		} else {
			c.orphan = true
			dropNow = c.waiters == 0
		}
	}
	s.mu.Unlock()
	close(c.done)
	if dropNow {
		c.entry.drop()
	}
}

// ended describes a read that stopped after n of size bytes.
func ended[N int | int64](n N, size int64, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("object ended after %d of its %d bytes: %w", n, size, err)
}

// checkEnd checks that r, having yielded size bytes, is at its end.
func checkEnd(r io.Reader, size int64) error {
	var one [1]byte
	switch _, err := io.ReadFull(r, one[:]); {
	case errors.Is(err, io.EOF):
		return nil
	case err == nil:
		return fmt.Errorf("object longer than its size %d", size)
	default:
		return err
	}
}

// open returns a new reader of e, or nil when its memory file was dropped.
func (e *entry) open() storage.Object {
	if e.file == nil {
		return &object{Reader: bytes.NewReader(e.data), info: e.info}
	}
	f := e.file.reopen()
	if f == nil {
		return nil
	}
	return &fileObject{File: f, info: e.info}
}

// drop releases e's memory file, if any.
func (e *entry) drop() {
	if e.file != nil {
		e.file.drop()
	}
}

// object is an open cached object on the heap. Readers share the bytes.
type object struct {
	*bytes.Reader
	info storage.Info
}

// Info describes the object as the backend did when it was read.
func (o *object) Info() storage.Info { return o.info }

// Close does nothing: the bytes belong to the cache.
func (o *object) Close() error { return nil }

// fileObject is an open cached object in a memory file. Embedding *os.File
// keeps its SyscallConn and WriteTo methods, so net/http sends it with
// sendfile(2).
type fileObject struct {
	*os.File
	info storage.Info
}

// Info describes the object as the backend did when it was read.
func (o *fileObject) Info() storage.Info { return o.info }
