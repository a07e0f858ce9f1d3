package readcache

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are a Store's counters since New.
type Stats struct {
	Hits        int64 // Opens served from memory
	Misses      int64 // Opens that read the backend for the cache
	Collapsed   int64 // Opens that waited for another Open's backend read
	Loads       int64 // backend reads for the cache (Misses, plus retries)
	Uncacheable int64 // reads of objects above MaxObjectBytes, streamed instead
	Bypassed    int64 // Opens of keys that are not immutable
	Evictions   int64 // entries dropped to stay within MaxBytes
	Expired     int64 // entries dropped after MaxAge
	Fallbacks   int64 // hits whose entry was dropped before it could be opened, read from the backend
	Bytes       int64 // weight of the entries held now (bodies, keys, overhead)
	Entries     int64 // entries held now
}

type counters struct {
	hits, misses, collapsed, loads, uncacheable, bypassed, evictions, expired, fallbacks atomic.Int64
	bytes                                                                                atomic.Int64 // resident weight, kept by the weigher and the deletion handler
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	c := &s.stats
	return Stats{
		Hits:        c.hits.Load(),
		Misses:      c.misses.Load(),
		Collapsed:   c.collapsed.Load(),
		Loads:       c.loads.Load(),
		Uncacheable: c.uncacheable.Load(),
		Bypassed:    c.bypassed.Load(),
		Evictions:   c.evictions.Load(),
		Expired:     c.expired.Load(),
		Fallbacks:   c.fallbacks.Load(),
		Bytes:       c.bytes.Load(),
		Entries:     int64(s.cache.EstimatedSize()),
	}
}

// Collectors returns Prometheus series reading the Stats (prefix
// osprey_storage_readcache_), for the caller to register.
func (s *Store) Collectors() []prometheus.Collector {
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "osprey_storage_readcache_" + name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "osprey_storage_readcache_" + name, Help: help}, f)
	}
	c := &s.stats
	return []prometheus.Collector{
		counter("hits_total", "Opens of immutable objects served from memory.", &c.hits),
		counter("misses_total", "Opens of immutable objects that read the backend.", &c.misses),
		counter("collapsed_total", "Opens that waited for another Open's backend read of the same key.", &c.collapsed),
		counter("loads_total", "Backend reads made to fill the cache.", &c.loads),
		counter("uncacheable_total", "Reads of immutable objects too large to cache, streamed instead.", &c.uncacheable),
		counter("bypassed_total", "Opens of objects that are never cached (manifests, state).", &c.bypassed),
		counter("evictions_total", "Entries dropped to stay within the memory budget.", &c.evictions),
		counter("expired_total", "Entries dropped after their maximum age.", &c.expired),
		counter("fallbacks_total", "Hits read from the backend because their entry was dropped meanwhile.", &c.fallbacks),
		gauge("bytes", "Memory held by cached objects (bodies, keys and overhead).", func() float64 { return float64(c.bytes.Load()) }),
		gauge("max_bytes", "The memory budget.", func() float64 { return float64(s.maxBytes) }),
		gauge("entries", "Cached objects.", func() float64 { return float64(s.cache.EstimatedSize()) }),
	}
}
