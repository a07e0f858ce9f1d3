package cache

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentOperations mixes every operation on both tiers and checks
// that a hit never pairs a body with another version's Meta, and that the
// disk ends up consistent with the index.
func TestConcurrentOperations(t *testing.T) {
	dir := t.TempDir()
	c := openTest(t, Config{MemoryBytes: 256 << 10, MaxMemoryObject: 16 << 10, Dir: dir, DiskBytes: 512 << 10, DiskQueue: 32}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for i := range 800 {
				key := fmt.Sprintf("/vod/%d/%d", r.IntN(4), r.IntN(40))
				switch op := r.IntN(100); {
				case op < 40:
					seed := uint64(w)<<32 | uint64(i)
					size := 1 + r.IntN(24<<10)
					m := newMeta(key, size, time.Now())
					m.Header.Set("X-Seed", strconv.FormatUint(seed, 10))
					c.Put(m, bodyOf(seed, size))
				case op < 85:
					e, ok := c.Get(key)
					if !ok {
						continue
					}
					if err := checkEntry(e); err != nil {
						errs <- err
						return
					}
				case op < 92:
					c.Refresh(key, func(m *Meta) { m.Stored = time.Now(); m.Header.Set("X-Refreshed", "1") })
				case op < 98:
					c.Delete(key)
				default:
					prefix := fmt.Sprintf("/vod/%d/", r.IntN(4))
					c.DeleteFunc(func(k string) bool { return strings.HasPrefix(k, prefix) })
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.Flush()
	files := diskFiles(t, dir)
	var sum int64
	for _, size := range files {
		sum += size
	}
	s := c.Stats()
	if int64(len(files)) != s.DiskObjects || sum != s.DiskBytes || sum > s.DiskLimit {
		t.Fatalf("%d files of %d bytes on disk; index: %d objects, %d bytes, limit %d",
			len(files), sum, s.DiskObjects, s.DiskBytes, s.DiskLimit)
	}
	for key, e := range c.disk.idx.All() {
		if e.Meta.Key != key {
			t.Fatalf("index key %q holds %q", key, e.Meta.Key)
		}
		if err := checkEntry(e); err != nil {
			t.Fatal(err)
		}
	}
}

// checkEntry checks that e's body is the one Put with its X-Seed.
func checkEntry(e *Entry) error {
	seed, err := strconv.ParseUint(e.Meta.Header.Get("X-Seed"), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: no X-Seed: %v", e.Meta.Key, err)
	}
	b, err := e.Open()
	if err != nil {
		// Dropped since Get: a miss for the caller, not an inconsistency.
		if isNotExist(err) {
			return nil
		}
		return err
	}
	defer b.Close()
	got := make([]byte, e.Meta.Size)
	if _, err := b.ReadAt(got, 0); err != nil && e.Meta.Size > 0 {
		return fmt.Errorf("%s (%v): reading body: %v", e.Meta.Key, e.Tier, err)
	}
	if !bytes.Equal(got, bodyOf(seed, int(e.Meta.Size))) {
		return fmt.Errorf("%s (%v): body does not match its Meta", e.Meta.Key, e.Tier)
	}
	return nil
}
