package cache

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		cfg       Config // Dir is filled in when disk is true
		disk      bool
		size      int
		wantTier  Tier
		wantMem   int64 // MemoryObjects after Flush
		wantFiles int
	}{
		{name: "memory only", cfg: Config{MemoryBytes: 1 << 20}, size: 3000, wantTier: TierMemory, wantMem: 1},
		{name: "disk only", cfg: Config{DiskBytes: 1 << 20}, disk: true, size: 3000, wantTier: TierDisk, wantFiles: 1},
		{name: "both tiers", cfg: Config{MemoryBytes: 1 << 20, DiskBytes: 1 << 20}, disk: true, size: 3000,
			wantTier: TierMemory, wantMem: 1, wantFiles: 1},
		{name: "large object skips memory", cfg: Config{MemoryBytes: 1 << 20, MaxMemoryObject: 1024, DiskBytes: 1 << 20},
			disk: true, size: 4096, wantTier: TierDisk, wantMem: 0, wantFiles: 1},
		{name: "empty body on disk", cfg: Config{DiskBytes: 1 << 20}, disk: true, size: 0, wantTier: TierDisk, wantFiles: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.disk {
				cfg.Dir = t.TempDir()
			}
			c := openTest(t, cfg, nil)
			meta := newMeta("/vod/abc/seg.m4s", tt.size, time.Now())
			body := bodyOf(1, tt.size)
			c.Put(meta, body)
			c.Flush()
			e := assertHit(t, c, meta, body)
			if e.Tier != tt.wantTier {
				t.Errorf("Tier = %v, want %v", e.Tier, tt.wantTier)
			}
			if e.Tier == TierMemory && !bytes.Equal(e.Bytes(), body) {
				t.Errorf("Bytes() of a memory entry differs from the body")
			}
			if e.Tier == TierDisk && e.Bytes() != nil {
				t.Errorf("Bytes() of a disk entry = %d bytes, want nil", len(e.Bytes()))
			}
			s := c.Stats()
			if s.MemoryObjects != tt.wantMem {
				t.Errorf("MemoryObjects = %d, want %d", s.MemoryObjects, tt.wantMem)
			}
			if tt.disk {
				files := diskFiles(t, cfg.Dir)
				if len(files) != tt.wantFiles || s.DiskObjects != int64(tt.wantFiles) {
					t.Errorf("%d files, DiskObjects %d, want %d", len(files), s.DiskObjects, tt.wantFiles)
				}
			}
		})
	}
}

func TestPutClonesHeaderAndReplaces(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 1 << 20}, nil)
	meta := newMeta("/k", 10, time.Now())
	c.Put(meta, bodyOf(1, 10))
	meta.Header.Set("Etag", `"changed by caller"`)
	e, ok := c.Get("/k")
	if !ok || e.Meta.Header.Get("Etag") != `"/k"` {
		t.Fatalf("stored header follows the caller's map: %v", e.Meta.Header)
	}

	v2 := newMeta("/k", 20, time.Now())
	v2.Header.Set("Etag", `"v2"`)
	c.Put(v2, bodyOf(2, 20))
	assertHit(t, c, v2, bodyOf(2, 20))
	c.Flush()
	if keys := diskKeys(t, dir); len(keys) != 1 {
		t.Fatalf("%d files on disk after replacing a key, want 1", len(keys))
	}
	// The disk copy is the new version too.
	c.mem.idx.Invalidate("/k")
	e = assertHit(t, c, v2, bodyOf(2, 20))
	if e.Meta.Header.Get("Etag") != `"v2"` {
		t.Fatalf("disk has the old version")
	}

	// A replacement too large for memory removes the old memory copy.
	big := newMeta("/k", 200<<10, time.Now())
	c.Put(big, bodyOf(3, 200<<10))
	if _, ok := c.mem.idx.GetIfPresent("/k"); ok {
		t.Fatal("old memory copy survives a Put too large for memory")
	}
}

func TestPutRejectsSizeMismatch(t *testing.T) {
	c := openTest(t, Config{MemoryBytes: 1 << 20}, nil)
	c.Put(newMeta("/k", 10, time.Now()), make([]byte, 9))
	if _, ok := c.Get("/k"); ok {
		t.Fatal("stored a body whose length differs from Meta.Size")
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		disk bool
	}{
		{"memory", Config{MemoryBytes: 1 << 20}, false},
		{"disk", Config{DiskBytes: 1 << 20}, true},
		{"both", Config{MemoryBytes: 1 << 20, DiskBytes: 1 << 20}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.disk {
				cfg.Dir = t.TempDir()
			}
			clk := newFakeClock()
			c := openTest(t, cfg, clk)
			meta := newMeta("/live/seg-1", 100, clk.Now())
			meta.InitialAge, meta.Fresh = 2*time.Second, 10*time.Second
			meta.StaleWhileRevalidate, meta.StaleIfError = 3*time.Second, 5*time.Second // Keep = 13s
			c.Put(meta, bodyOf(1, 100))
			c.Flush()

			clk.Advance(12 * time.Second)
			if _, ok := c.Get(meta.Key); !ok {
				t.Fatal("miss before Keep has passed")
			}
			clk.Advance(2 * time.Second)
			if e, ok := c.Get(meta.Key); ok {
				t.Fatalf("hit on %v entry past Keep", e.Tier)
			}
			c.Flush()
			if tt.disk {
				if files := diskFiles(t, cfg.Dir); len(files) != 0 {
					t.Fatalf("expired entry's file still on disk: %v", files)
				}
			}

			// An entry already past Keep is not stored at all.
			old := newMeta("/live/old", 10, clk.Now().Add(-2*time.Hour)) // Keep is 1h8m
			c.Put(old, bodyOf(2, 10))
			c.Flush()
			if _, ok := c.Get(old.Key); ok {
				t.Fatal("stored an entry already past Keep")
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	dir := t.TempDir()
	clk := newFakeClock()
	cfg := Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 1 << 20}
	c := openTest(t, cfg, clk)
	meta := newMeta("/vod/m.m3u8", 500, clk.Now())
	meta.InitialAge, meta.Fresh, meta.StaleWhileRevalidate, meta.StaleIfError = 0, 10*time.Second, 0, 0
	body := bodyOf(1, 500)
	c.Put(meta, body)
	c.Flush()

	if c.Refresh("/absent", func(*Meta) {}) {
		t.Fatal("Refresh of an absent key returned true")
	}
	clk.Advance(8 * time.Second)
	want := meta
	want.Stored = clk.Now()
	want.Fresh = 10 * time.Second
	want.Header = meta.Header.Clone()
	want.Header.Set("X-Revalidated", "1")
	header := want.Header.Clone()
	calls := 0
	ok := c.Refresh(meta.Key, func(m *Meta) {
		calls++
		m.Stored, m.Fresh, m.Header = want.Stored, want.Fresh, header
		m.Size = 1 // ignored
	})
	if !ok || calls != 2 {
		t.Fatalf("Refresh = %v with %d update calls, want true and 2 (one per tier)", ok, calls)
	}
	header.Set("X-Revalidated", "mutated by caller")

	assertHit(t, c, want, body) // memory
	de, ok := c.disk.idx.GetIfPresent(meta.Key)
	if !ok {
		t.Fatal("disk entry gone after Refresh")
	}
	assertMeta(t, de.Meta, want)

	// Refresh extends the expiry: the old Keep (10s) would have passed.
	clk.Advance(8 * time.Second)
	if _, ok := c.mem.idx.GetIfPresent(meta.Key); !ok {
		t.Fatal("memory entry expired at its pre-Refresh Keep")
	}
	if _, ok := c.disk.idx.GetIfPresent(meta.Key); !ok {
		t.Fatal("disk entry expired at its pre-Refresh Keep")
	}

	// The rewritten header survives a restart.
	c.Flush()
	if files := diskFiles(t, dir); len(files) != 1 {
		t.Fatalf("%d files after the header rewrite, want 1", len(files))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := openTest(t, Config{Dir: dir, DiskBytes: 1 << 20}, clk)
	e := assertHit(t, c2, want, body)
	if e.Tier != TierDisk {
		t.Fatalf("tier %v after restart without memory", e.Tier)
	}
}

func TestRefreshQueuedWrite(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, Config{Dir: dir, DiskBytes: 1 << 20, DiskWriters: 1}, nil)
	release := make(chan struct{})
	started := make(chan string, 4)
	c.disk.hookWrite = func(key string) {
		started <- key
		<-release
	}
	writing := newMeta("/writing", 10, time.Now())
	queued := newMeta("/queued", 10, time.Now())
	c.Put(writing, bodyOf(1, 10))
	<-started // the writer holds /writing; /queued stays in the queue
	c.Put(queued, bodyOf(2, 10))
	for _, key := range []string{"/writing", "/queued"} {
		if !c.Refresh(key, func(m *Meta) { m.Header.Set("X-Refreshed", "yes") }) {
			t.Fatalf("Refresh(%q) of a queued write = false", key)
		}
	}
	close(release)
	c.Flush()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c2 := openTest(t, Config{Dir: dir, DiskBytes: 1 << 20}, nil)
	for _, m := range []Meta{writing, queued} {
		m.Header = m.Header.Clone()
		m.Header.Set("X-Refreshed", "yes")
		assertHit(t, c2, m, bodyOf(map[string]uint64{"/writing": 1, "/queued": 2}[m.Key], 10))
	}
}

func TestDeleteFunc(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, Config{MemoryBytes: 1 << 20, MaxMemoryObject: 1000, Dir: dir, DiskBytes: 1 << 20, DiskWriters: 1}, nil)
	put := func(key string, size int) {
		c.Put(newMeta(key, size, time.Now()), bodyOf(uint64(len(key)), size))
	}
	for _, k := range []string{"/vod/abc/1", "/vod/abc/2", "/vod/xyz/1"} {
		put(k, 100) // both tiers
	}
	put("/vod/abc/big", 5000) // disk only
	put("/vod/xyz/big", 5000)
	c.Flush()

	// Queued writes: the writer is stuck in one ("writing"), the next waits.
	release := make(chan struct{})
	started := make(chan string, 4)
	c.disk.hookWrite = func(key string) {
		started <- key
		<-release
	}
	put("/vod/abc/new-writing", 5000)
	<-started
	put("/vod/abc/new-queued", 5000)

	n := c.DeleteFunc(func(key string) bool { return strings.HasPrefix(key, "/vod/abc/") })
	close(release)
	if n != 5 {
		t.Errorf("DeleteFunc removed %d keys, want 5", n)
	}
	c.Flush()
	for _, k := range []string{"/vod/abc/1", "/vod/abc/2", "/vod/abc/big", "/vod/abc/new-writing", "/vod/abc/new-queued"} {
		if _, ok := c.Get(k); ok {
			t.Errorf("Get(%q) hits after DeleteFunc", k)
		}
	}
	for _, k := range []string{"/vod/xyz/1", "/vod/xyz/big"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("Get(%q) misses: DeleteFunc removed a key it did not match", k)
		}
	}
	keys := diskKeys(t, dir)
	if len(keys) != 2 || !keys["/vod/xyz/1"] || !keys["/vod/xyz/big"] {
		t.Errorf("files on disk for %v, want only the /vod/xyz/ keys", keys)
	}
}

func TestDelete(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, Config{MemoryBytes: 1 << 20, Dir: dir, DiskBytes: 1 << 20}, nil)
	c.Put(newMeta("/a", 10, time.Now()), bodyOf(1, 10))
	c.Flush()
	if !c.Delete("/a") {
		t.Fatal("Delete of a cached key = false")
	}
	if len(diskFiles(t, dir)) != 0 {
		t.Fatal("file still on disk when Delete returns")
	}
	if _, ok := c.Get("/a"); ok {
		t.Fatal("hit after Delete")
	}
	if c.Delete("/a") {
		t.Fatal("second Delete = true")
	}
	// A Put immediately followed by Delete leaves nothing behind.
	c.Put(newMeta("/b", 10, time.Now()), bodyOf(1, 10))
	if !c.Delete("/b") {
		t.Fatal("Delete right after Put = false")
	}
	c.Flush()
	if len(diskFiles(t, dir)) != 0 {
		t.Fatal("a deleted Put was written to disk")
	}
}

func TestOpenAfterEviction(t *testing.T) {
	tests := []struct {
		name  string
		evict func(c *Cache, clk *fakeClock, key string)
	}{
		{"deleted", func(c *Cache, _ *fakeClock, key string) { c.Delete(key) }},
		{"evicted by budget", func(c *Cache, clk *fakeClock, key string) {
			// Both do not fit: the older, never read, entry goes.
			c.Put(newMeta("/other", 40<<10, clk.Now()), bodyOf(9, 40<<10))
			c.Flush()
		}},
		{"expired", func(c *Cache, clk *fakeClock, _ string) {
			clk.Advance(2 * time.Hour)
			c.Flush()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := newFakeClock()
			c := openTest(t, Config{Dir: dir, DiskBytes: 64 << 10}, clk)
			meta := newMeta("/seg", 30<<10, clk.Now())
			body := bodyOf(1, 30<<10)
			c.Put(meta, body)
			c.Flush()
			// The entry Get would return, taken without counting a read: a read
			// entry would win W-TinyLFU's admission against /other.
			oe, ok := c.disk.idx.GetEntryQuietly(meta.Key)
			if !ok {
				t.Fatal("miss")
			}
			e := oe.Value
			b, err := e.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			tt.evict(c, clk, meta.Key)
			if _, ok := c.Get(meta.Key); ok {
				t.Fatal("still cached")
			}
			if _, err := os.Stat(e.file.path); !isNotExist(err) {
				t.Fatalf("file of the dropped entry: stat error %v, want not-exist", err)
			}
			got := make([]byte, len(body))
			if _, err := b.ReadAt(got, 0); err != nil || !bytes.Equal(got, body) {
				t.Fatalf("reading the open body after eviction: %v (equal %v)", err, bytes.Equal(got, body))
			}
			if _, err := e.Open(); !isNotExist(err) {
				t.Fatalf("Open after the file is gone: %v, want fs.ErrNotExist", err)
			}
		})
	}
}

func TestPromotion(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, Config{Dir: dir, DiskBytes: 4 << 20}, nil)
	small := newMeta("/small", 1000, time.Now())
	large := newMeta("/large", 300<<10, time.Now()) // above inlinePromoteMax
	c.Put(small, bodyOf(1, 1000))
	c.Put(large, bodyOf(2, 300<<10))
	c.Close()

	c = openTest(t, Config{MemoryBytes: 8 << 20, Dir: dir, DiskBytes: 4 << 20}, nil)
	e := assertHit(t, c, small, bodyOf(1, 1000))
	if e.Tier != TierMemory {
		t.Errorf("small disk hit returned a %v entry, want it promoted inline", e.Tier)
	}
	e = assertHit(t, c, large, bodyOf(2, 300<<10))
	if e.Tier != TierDisk {
		t.Errorf("first large disk hit returned a %v entry, want disk", e.Tier)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if e, ok := c.Get(large.Key); ok && e.Tier == TierMemory {
			assertHit(t, c, large, bodyOf(2, 300<<10))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("large disk hit never promoted to memory")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Deleting the key removes the promoted copy too.
	c.Delete(large.Key)
	if _, ok := c.Get(large.Key); ok {
		t.Fatal("promoted copy survives Delete")
	}
}

func TestOpenChecksDir(t *testing.T) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Config{Dir: foreign, DiskBytes: 1 << 20}); err == nil {
		t.Fatal("Open accepted a non-empty folder that is not a cache")
	}
	if _, err := os.Stat(filepath.Join(foreign, "notes.txt")); err != nil {
		t.Fatalf("Open touched a foreign file: %v", err)
	}
	// A dedicated filesystem's root, with its lost+found, is accepted.
	mount := t.TempDir()
	if err := os.Mkdir(filepath.Join(mount, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mount, "lost+found", "#123"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Open(Config{Dir: mount, DiskBytes: 1 << 20})
	if err != nil {
		t.Fatalf("Open of a filesystem root with lost+found: %v", err)
	}
	c.Close()
	if _, err := os.Stat(filepath.Join(mount, "lost+found", "#123")); err != nil {
		t.Fatalf("Open touched lost+found: %v", err)
	}
	notDir := filepath.Join(foreign, "notes.txt", "sub")
	if _, err := Open(Config{Dir: notDir, DiskBytes: 1 << 20}); err == nil {
		t.Fatal("Open accepted a Dir under a file")
	}
	for _, cfg := range []Config{
		{MemoryBytes: -1},
		{Dir: t.TempDir()}, // no DiskBytes
		{MemoryBytes: 1, MaxMemoryObject: -1},
	} {
		if _, err := Open(cfg); err == nil {
			t.Errorf("Open(%+v) accepted an invalid config", cfg)
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	c, err := Open(Config{MemoryBytes: 1 << 20, Dir: t.TempDir(), DiskBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Put after Close stores in memory only, and does not panic.
	c.Put(newMeta("/late", 1, time.Now()), []byte{1})
	c.Flush()
}

func TestPutTrimsSpareCapacity(t *testing.T) {
	c := openTest(t, Config{MemoryBytes: 1 << 20}, nil)
	buf := make([]byte, 1000, 64<<10) // as a grown bytes.Buffer would hand over
	c.Put(newMeta("/k", 1000, time.Now()), buf)
	e, ok := c.Get("/k")
	if !ok {
		t.Fatal("miss")
	}
	if got := cap(e.Bytes()); got > 2000 {
		t.Fatalf("memory entry holds a %d-byte array for a 1000-byte body", got)
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	c, err := Open(Config{MemoryBytes: 1 << 20, Dir: t.TempDir(), DiskBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	c.Put(newMeta("/k", 10, time.Now()), bodyOf(1, 10))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before Open", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
