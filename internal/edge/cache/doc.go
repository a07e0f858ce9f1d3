// Package cache holds the edge's stored responses in two tiers, memory and
// disk, each bounded in bytes.
//
// Both tiers are indexed by an otter cache (W-TinyLFU admission and
// eviction) weighted in bytes, with a per-entry expiry at Stored+Keep, so an
// entry disappears once it is too old to be served even stale. Maintenance
// (eviction, expiry) runs synchronously inside the call that wrote, so a tier
// never stays above its budget after a write returns.
//
// The memory tier keeps bodies as []byte. A Get that hits it returns the
// stored *Entry itself: no allocation, no lock held across I/O. Entries are
// immutable and shared between callers: treat an Entry, its Meta and its
// Header as read-only (copy the Entry to change it).
//
// The disk tier keeps one file per object (see format.go for the layout)
// under Dir/xx/yy/, named after the SHA-256 of the key plus a random suffix,
// so a replaced object never shares a name with its successor. Put hands the
// write to a bounded queue served by a few writer goroutines: a full queue
// drops the write, it never blocks the caller. Files of evicted, replaced,
// expired or deleted objects are unlinked outside otter's locks, by a reaper
// goroutine or, for Delete and DeleteFunc, before the call returns. Open
// rebuilds the index from the file headers, so the disk tier survives a
// restart.
//
// A disk hit whose body fits MaxMemoryObject is promoted to memory: inline
// for small bodies, by a background goroutine (bounded queue, dropped when
// full) for larger ones.
package cache
