package cache

import (
	"fmt"
	"net/http"
	"time"
)

// Tier says where an Entry is stored.
type Tier int

// The tiers, fastest first.
const (
	TierMemory Tier = iota + 1
	TierDisk
)

// String returns "memory" or "disk".
func (t Tier) String() string {
	switch t {
	case TierMemory:
		return "memory"
	case TierDisk:
		return "disk"
	default:
		return fmt.Sprintf("Tier(%d)", int(t))
	}
}

// minKeep is the shortest time an entry is kept after Stored.
const minKeep = time.Second

// Meta describes a stored response. JSON-encodable (it is the disk file header).
type Meta struct {
	Key                  string        `json:"key"`
	Status               int           `json:"status"`
	Header               http.Header   `json:"header"`      // end-to-end response headers as stored
	Size                 int64         `json:"size"`        // body length
	Stored               time.Time     `json:"stored"`      // when the response arrived or was last revalidated
	InitialAge           time.Duration `json:"initial_age"` // age it already had then (RFC 9111 §4.2.3 corrected_initial_age)
	Fresh                time.Duration `json:"fresh"`       // freshness lifetime
	StaleWhileRevalidate time.Duration `json:"swr"`
	StaleIfError         time.Duration `json:"sie"`
}

// Age is the entry's current age (RFC 9111 §4.2.3): InitialAge plus the
// time spent in the cache since Stored, never negative.
func (m *Meta) Age(now time.Time) time.Duration {
	return max(m.InitialAge+now.Sub(m.Stored), 0)
}

// TTL is how long the entry stays fresh: Fresh - Age(now), negative once it
// is stale.
func (m *Meta) TTL(now time.Time) time.Duration {
	return m.Fresh - m.Age(now)
}

// Keep is how long after Stored the entry is still worth keeping:
// Fresh - InitialAge + max(StaleWhileRevalidate, StaleIfError), at least 1s.
// The cache drops the entry after that.
func (m *Meta) Keep() time.Duration {
	return max(m.Fresh-m.InitialAge+max(m.StaleWhileRevalidate, m.StaleIfError), minKeep)
}

// expires is when the cache drops the entry: Stored + Keep.
func (m *Meta) expires() time.Time {
	return m.Stored.Add(m.Keep())
}

// clone returns a copy of m that shares no map with it.
func (m *Meta) clone() Meta {
	c := *m
	c.Header = m.Header.Clone()
	return c
}

// entryOverhead is the estimated fixed cost of a memory entry besides its
// body, key and headers: the Entry, otter's node and its hash-table slot.
const entryOverhead = 200

// metaWeight estimates the heap bytes held by m (its key and headers) plus a
// memory entry's fixed overhead.
func metaWeight(m *Meta) int64 {
	// A map entry costs its key and a []string header (16+24 bytes) plus
	// bucket overhead; each value a string header (16 bytes) plus its bytes.
	n := int64(entryOverhead + len(m.Key))
	for k, vs := range m.Header {
		n += int64(len(k)) + 16 + 24 + 16
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}
