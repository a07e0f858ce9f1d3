package cache

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
)

// Defaults of Config.
const (
	defaultDiskWriters = 2
	defaultDiskQueue   = 256
	promoteQueue       = 16
	// inlinePromoteMax is the largest body a disk hit promotes to memory
	// inline; larger ones are promoted by a background goroutine.
	inlinePromoteMax = 256 << 10
	// clockResolution is the precision of the indexes' clock.
	clockResolution = 10 * time.Millisecond
)

// Config configures a Cache.
type Config struct {
	MemoryBytes     int64        // memory tier budget; 0 disables the memory tier
	Dir             string       // disk tier folder; "" disables the disk tier
	DiskBytes       int64        // disk tier budget (body + header bytes of the files)
	MaxMemoryObject int64        // bodies larger than this skip the memory tier; 0 means MemoryBytes/8
	DiskWriters     int          // goroutines writing disk files; 0 means 2
	DiskQueue       int          // disk writes that may wait for a writer, beyond which Put drops them; 0 means 256
	Log             *slog.Logger // nil: discard
}

// Stats is a snapshot of the tiers' sizes, in bytes (weights) and objects.
type Stats struct {
	MemoryBytes, MemoryObjects, MemoryLimit int64
	DiskBytes, DiskObjects, DiskLimit       int64
}

// Cache is the two-tier response cache. Its methods are safe for concurrent
// use.
type Cache struct {
	log  *slog.Logger
	now  func() time.Time
	mem  *memTier  // nil if disabled
	disk *diskTier // nil if disabled

	promoteC  chan *Entry
	promoteMu sync.Mutex
	promoting map[string]struct{} // keys being promoted to memory

	coarse    *otter.CoarseClock // nil with a test clock
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Open creates the cache. With a Dir, it creates the folder, or scans it and
// rebuilds the disk index from the file headers (files that do not parse,
// temporary files left by a crash and entries already past Keep are
// deleted). It refuses a non-empty folder that is not a cache folder.
func Open(cfg Config) (*Cache, error) {
	return open(cfg, nil)
}

// open is Open with a clock for tests (nil: the real one).
func open(cfg Config, now func() time.Time) (*Cache, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "edge.cache")
	ic := indexConfig{now: now, log: log}
	var coarse *otter.CoarseClock
	if now == nil {
		// Reading the clock is a large part of a hit's cost: the indexes
		// read a coarse one (expiry is up to a resolution late).
		coarse = otter.NewCoarseClock(clockResolution)
		ic.now, ic.clock = time.Now, coarse
	} else {
		ic.clock = funcClock{now}
	}
	c := &Cache{
		coarse:    coarse,
		log:       log,
		now:       ic.now,
		promoteC:  make(chan *Entry, promoteQueue),
		promoting: make(map[string]struct{}),
		stop:      make(chan struct{}),
	}
	if cfg.MemoryBytes > 0 {
		maxObject := cfg.MaxMemoryObject
		if maxObject == 0 {
			maxObject = cfg.MemoryBytes / 8
		}
		maxObject = min(maxObject, cfg.MemoryBytes, math.MaxUint32/2)
		m, err := newMemTier(cfg.MemoryBytes, maxObject, ic)
		if err != nil {
			c.stopIndexes()
			return nil, err
		}
		c.mem = m
	}
	if cfg.Dir != "" {
		dc := diskConfig{dir: cfg.Dir, limit: cfg.DiskBytes, writers: cfg.DiskWriters, queue: cfg.DiskQueue}
		if dc.writers == 0 {
			dc.writers = defaultDiskWriters
		}
		if dc.queue == 0 {
			dc.queue = defaultDiskQueue
		}
		d, err := openDisk(dc, ic)
		if err != nil {
			c.stopIndexes()
			return nil, fmt.Errorf("opening disk cache: %w", err)
		}
		c.disk = d
	}
	if c.mem != nil && c.disk != nil {
		c.wg.Add(1)
		go c.promoter()
	}
	return c, nil
}

func (cfg *Config) validate() error {
	switch {
	case cfg.MemoryBytes < 0:
		return fmt.Errorf("cache: MemoryBytes %d is negative", cfg.MemoryBytes)
	case cfg.MaxMemoryObject < 0:
		return fmt.Errorf("cache: MaxMemoryObject %d is negative", cfg.MaxMemoryObject)
	case cfg.Dir != "" && cfg.DiskBytes <= 0:
		return fmt.Errorf("cache: DiskBytes %d must be positive with a Dir", cfg.DiskBytes)
	case cfg.DiskWriters < 0 || cfg.DiskQueue < 0:
		return errors.New("cache: DiskWriters and DiskQueue cannot be negative")
	}
	return nil
}

// Get looks in memory, then on disk. A disk hit whose body fits
// MaxMemoryObject is promoted to memory.
func (c *Cache) Get(key string) (*Entry, bool) {
	if c.mem != nil {
		if e, ok := c.mem.idx.GetIfPresent(key); ok {
			return e, true
		}
	}
	if c.disk == nil {
		return nil, false
	}
	e, ok := c.disk.idx.GetIfPresent(key)
	if !ok {
		return nil, false
	}
	if c.mem != nil && e.Meta.Size <= c.mem.maxObject {
		if m := c.startPromote(e); m != nil {
			return m, true
		}
	}
	return e, true
}

// Put stores a complete response: in memory synchronously (if it fits), on
// disk asynchronously through a bounded queue (a full queue drops the write,
// logged at debug level; Put never blocks on I/O). A Put replaces the key's
// entry in both tiers. Put clones meta.Header; body is kept as is (copied
// only if it has much spare capacity): the caller must not modify it
// afterwards. len(body) must equal meta.Size.
func (c *Cache) Put(meta Meta, body []byte) {
	switch {
	case meta.Key == "":
		c.log.Warn("not caching a response without a key")
		return
	case int64(len(body)) != meta.Size:
		c.log.Warn("not caching: body length differs from Meta.Size",
			"key", meta.Key, "len", len(body), "size", meta.Size)
		return
	}
	meta.Header = meta.Header.Clone()
	if c.mem != nil && meta.Size <= c.mem.maxObject && cap(body)-len(body) > len(body)/8+1024 {
		// Spare capacity would be held by the memory tier without being
		// weighed (a bytes.Buffer's, say): keep an exact copy instead.
		body = bytes.Clone(body)
	}
	expired := !meta.expires().After(c.now())
	var j *job
	if c.disk != nil {
		j = c.disk.claim(meta, body, !expired)
	}
	if c.mem != nil {
		e := &Entry{Meta: meta, Tier: TierMemory, body: body}
		if !expired && c.mem.fits(e) {
			c.mem.put(e)
		} else {
			c.mem.idx.Invalidate(meta.Key)
		}
	}
	if j != nil {
		c.disk.submit(j)
	}
}

// Refresh applies update to the stored Meta of key in each tier (after a 304
// revalidation: new Stored, Fresh, headers), and to a queued disk write of
// the key. update is called once per stored copy, each time on a private
// copy; it cannot change Key or Size. The disk file's header is rewritten
// in the background (atomically: a new file replaces the old). Refresh
// returns false if key is not cached.
func (c *Cache) Refresh(key string, update func(*Meta)) bool {
	found := false
	if c.mem != nil && c.mem.refresh(key, update) {
		found = true
	}
	if c.disk != nil && c.disk.refresh(key, update) {
		found = true
	}
	return found
}

// Delete removes key from both tiers and cancels its queued disk write; its
// file is gone when Delete returns. It reports whether key was cached.
func (c *Cache) Delete(key string) bool {
	removed := false
	// Disk first: a promotion to memory only happens while the disk entry is
	// indexed, so once it is gone the memory removal is final.
	if c.disk != nil && c.disk.delete(key) {
		removed = true
	}
	if c.mem != nil {
		if _, ok := c.mem.idx.Invalidate(key); ok {
			removed = true
		}
	}
	return removed
}

// DeleteFunc removes every key (both tiers, and queued-but-unwritten disk
// writes) for which match is true, and returns how many distinct keys were
// removed. match must not call the Cache.
func (c *Cache) DeleteFunc(match func(key string) bool) int {
	removed := make(map[string]struct{})
	if c.disk != nil {
		c.disk.deleteFunc(match, removed)
	}
	if c.mem != nil {
		c.mem.deleteFunc(match, removed)
	}
	return len(removed)
}

// Stats returns the tiers' current sizes. MemoryBytes and DiskBytes are the
// weights accounted by the indexes (never above the limits); the objects
// may include expired entries not yet removed.
func (c *Cache) Stats() Stats {
	var s Stats
	if c.mem != nil {
		s.MemoryBytes = int64(c.mem.idx.WeightedSize())
		s.MemoryObjects = int64(c.mem.idx.EstimatedSize())
		s.MemoryLimit = c.mem.limit
	}
	if c.disk != nil {
		s.DiskBytes = int64(c.disk.idx.WeightedSize())
		s.DiskObjects = int64(c.disk.idx.EstimatedSize())
		s.DiskLimit = c.disk.limit
	}
	return s
}

// Flush waits until the queued disk writes are done and the files of
// dropped entries are removed.
func (c *Cache) Flush() {
	if c.disk != nil {
		c.disk.flush()
	}
}

// Close flushes, and stops the goroutines. It is idempotent. Get still works
// after Close; Put no longer writes to disk.
func (c *Cache) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		if c.disk != nil {
			c.disk.close()
		}
		c.stopIndexes()
	})
	return nil
}

// stopIndexes stops otter's periodic clean-up goroutines and the clock's.
func (c *Cache) stopIndexes() {
	if c.mem != nil {
		c.mem.idx.StopAllGoroutines()
	}
	if c.disk != nil {
		c.disk.idx.StopAllGoroutines()
	}
	if c.coarse != nil {
		c.coarse.Stop()
	}
}
