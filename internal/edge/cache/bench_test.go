package cache

import (
	"fmt"
	"testing"
	"time"
)

func newHitCache(tb testing.TB) (*Cache, []string) {
	c := openTest(tb, Config{MemoryBytes: 64 << 20}, nil)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("/vod/abc/seg-%d.m4s", i)
		c.Put(newMeta(keys[i], 1024, time.Now()), bodyOf(uint64(i), 1024))
	}
	return c, keys
}

func TestGetMemoryHitDoesNotAllocate(t *testing.T) {
	c, keys := newHitCache(t)
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		if _, ok := c.Get(keys[i%len(keys)]); !ok {
			t.Fatal("miss")
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("memory hit allocates %.2f times per Get", allocs)
	}
}

func BenchmarkGetMemoryHit(b *testing.B) {
	c, keys := newHitCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%len(keys)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
