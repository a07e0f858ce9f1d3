package cache

import (
	"fmt"
	"math"
	"sync/atomic"
)

// memTier is the memory tier: bodies as []byte, weighed by body length plus
// an estimate of the Meta.
type memTier struct {
	idx       *index
	limit     int64
	maxObject int64
	// resident is the total weight of the values in idx, including writes
	// that otter's policy has not accounted yet: when it passes limit, the
	// writer runs maintenance itself before returning.
	resident atomic.Int64
}

func newMemTier(limit, maxObject int64, ic indexConfig) (*memTier, error) {
	m := &memTier{limit: limit, maxObject: maxObject}
	ic.limit = limit
	ic.weigh = func(e *Entry) uint32 {
		// otter calls the weigher exactly once per stored value.
		w := memWeight(e)
		m.resident.Add(int64(w))
		return w
	}
	ic.onDrop = func(e *Entry) { m.resident.Add(-int64(memWeight(e))) }
	idx, err := newIndex(ic)
	if err != nil {
		return nil, fmt.Errorf("creating memory index: %w", err)
	}
	m.idx = idx
	return m, nil
}

// memWeight is the weight of a memory entry: never 0.
func memWeight(e *Entry) uint32 {
	return uint32(min(int64(len(e.body))+metaWeight(&e.Meta), math.MaxUint32))
}

// fits reports whether e may enter the memory tier.
func (m *memTier) fits(e *Entry) bool {
	return e.Meta.Size <= m.maxObject && int64(memWeight(e)) <= m.limit
}

// put stores e (a memory entry that fits), replacing the key's entry.
func (m *memTier) put(e *Entry) {
	m.idx.Set(e.Meta.Key, e)
	m.settle()
}

// addIfAbsent stores e unless the key has an entry, and returns the key's
// entry. It may run under the disk index's bucket lock: it only touches the
// memory index.
func (m *memTier) addIfAbsent(e *Entry) *Entry {
	got, _ := m.idx.ComputeIfAbsent(e.Meta.Key, func() (*Entry, bool) { return e, false })
	return got
}

// settle brings the tier back under its budget if writes that otter has not
// processed yet (another goroutine held its maintenance lock) pushed it over.
func (m *memTier) settle() {
	if m.resident.Load() > m.limit {
		m.idx.CleanUp()
	}
}

func (m *memTier) refresh(key string, update func(*Meta)) bool {
	ok := refreshIndex(m.idx, key, update, func(cur *Entry, meta Meta) *Entry {
		return &Entry{Meta: meta, Tier: TierMemory, body: cur.body}
	}, nil)
	m.settle()
	return ok
}

// deleteFunc removes every key for which match is true and adds it to removed.
func (m *memTier) deleteFunc(match func(string) bool, removed map[string]struct{}) {
	var keys []string
	for k := range m.idx.Keys() {
		if match(k) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if _, ok := m.idx.Invalidate(k); ok {
			removed[k] = struct{}{}
		}
	}
}
