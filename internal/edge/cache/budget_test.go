package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"
)

// churn has workers Put random-size bodies totalling total bytes, with keys
// drawn from nkeys, and calls check after every Put.
func churn(t *testing.T, c *Cache, workers int, total, minSize, maxSize int64, nkeys int, check func() error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for put := int64(0); put < total/int64(workers); {
				size := minSize + r.Int64N(maxSize-minSize+1)
				key := fmt.Sprintf("/vod/%d/seg-%d.m4s", r.IntN(8), r.IntN(nkeys))
				c.Put(newMeta(key, int(size), time.Now()), make([]byte, size))
				put += size
				if err := check(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestMemoryBudgetUnderChurn(t *testing.T) {
	const budget = 4 << 20
	base := heapInUse()
	c := openTest(t, Config{MemoryBytes: budget}, nil) // MaxMemoryObject = 512 KiB
	churn(t, c, 4, 20*budget, 1<<10, 256<<10, 2000, func() error {
		if s := c.Stats(); s.MemoryBytes > s.MemoryLimit {
			return fmt.Errorf("after a Put: MemoryBytes %d > MemoryLimit %d", s.MemoryBytes, s.MemoryLimit)
		}
		return nil
	})
	s := c.Stats()
	if s.MemoryBytes > budget || s.MemoryBytes < budget/2 {
		t.Errorf("MemoryBytes %d at the end, want in [%d, %d]", s.MemoryBytes, budget/2, budget)
	}
	// What the index really holds, not only what its policy accounted.
	var held, n int64
	for _, e := range c.mem.idx.All() {
		held += int64(memWeight(e))
		n++
	}
	if held > budget {
		t.Errorf("entries in the memory index weigh %d bytes, over the %d budget", held, budget)
	}
	if n != s.MemoryObjects {
		t.Errorf("%d entries in the index, MemoryObjects %d", n, s.MemoryObjects)
	}
	// The Go heap holds the budget plus modest overhead, not the 80 MiB put.
	grown := int64(heapInUse()) - int64(base)
	if slack := int64(budget/2 + 2<<20); grown > budget+slack {
		t.Errorf("heap grew by %d bytes, more than budget %d + slack %d", grown, budget, slack)
	}
	runtime.KeepAlive(c)
	t.Logf("end: %d objects, %d bytes; heap grew %d bytes", s.MemoryObjects, s.MemoryBytes, grown)
}

func TestDiskBudgetUnderChurn(t *testing.T) {
	const budget = 1 << 20
	dir := t.TempDir()
	c := openTest(t, Config{Dir: dir, DiskBytes: budget, DiskQueue: 64}, nil)
	churn(t, c, 4, 20*budget, 1<<10, 32<<10, 300, func() error {
		if s := c.Stats(); s.DiskBytes > s.DiskLimit {
			return fmt.Errorf("after a Put: DiskBytes %d > DiskLimit %d", s.DiskBytes, s.DiskLimit)
		}
		return nil
	})
	c.Flush()
	files := diskFiles(t, dir)
	var sum int64
	for _, size := range files {
		sum += size
	}
	s := c.Stats()
	if sum > budget {
		t.Errorf("files on disk total %d bytes, over the %d budget", sum, budget)
	}
	if int64(len(files)) != s.DiskObjects {
		t.Errorf("%d files on disk, DiskObjects %d", len(files), s.DiskObjects)
	}
	if sum != s.DiskBytes {
		t.Errorf("files total %d bytes, DiskBytes %d", sum, s.DiskBytes)
	}
	if sum < budget/2 {
		t.Errorf("files total %d bytes: the tier is barely used", sum)
	}
	// Every indexed entry reads back with its own key.
	for key, e := range c.disk.idx.All() {
		if e.Meta.Key != key || int64(len(readAll(t, e))) != e.Meta.Size {
			t.Fatalf("entry %q: key %q, body size mismatch", key, e.Meta.Key)
		}
	}
	t.Logf("end: %d files, %d bytes", len(files), sum)
}
