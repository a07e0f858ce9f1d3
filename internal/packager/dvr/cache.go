package dvr

import (
	"container/list"
	"sync"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// chunkCache keeps decoded sealed chunks, least recently used out first.
// A nil cache keeps nothing.
type chunkCache struct {
	max   int
	mu    sync.Mutex
	order *list.List // of *cached, most recent first
	byKey map[string]*list.Element
}

type cached struct {
	key string
	v   *manifest.View
}

func newChunkCache(max int) *chunkCache {
	return &chunkCache{max: max, order: list.New(), byKey: make(map[string]*list.Element, max)}
}

// get returns the chunk under key if it is cached and still the one ref
// names (same first and last segment: a chunk key is never reused for other
// segments, but a rebuilt index is checked anyway).
func (c *chunkCache) get(key string, ref ChunkRef) *manifest.View {
	if c == nil || ref.Open() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil
	}
	v := e.Value.(*cached).v
	if w := v.Window; w[0].N != ref.First || w[len(w)-1].N != ref.Last {
		c.order.Remove(e)
		delete(c.byKey, key)
		return nil
	}
	c.order.MoveToFront(e)
	return v
}

// put caches a sealed chunk whose segments match ref.
func (c *chunkCache) put(key string, ref ChunkRef, v *manifest.View) {
	if c == nil || len(v.Window) == 0 || v.Window[0].N != ref.First || v.Window[len(v.Window)-1].N != ref.Last {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*cached).v = v
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&cached{key: key, v: v})
	for c.order.Len() > c.max {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byKey, old.Value.(*cached).key)
	}
}
