package readcache_test

import (
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/readcache"
	"github.com/ospreyvideo/osprey/internal/storage/storagetest"
)

// TestConformance runs the storage suite through the cache on each
// backend, with every key cached and with none.
func TestConformance(t *testing.T) {
	modes := []struct {
		name      string
		immutable func(string) bool
	}{
		{"every key immutable", func(string) bool { return true }},
		{"no key immutable", func(string) bool { return false }},
	}
	for _, b := range backends(t) {
		for _, m := range modes {
			t.Run(b.name+"/"+m.name, func(t *testing.T) {
				// versitygw's ETag may lag its data under a racing
				// overwrite (see storagetest.Options).
				storagetest.RunWith(t, func(t *testing.T) storage.Store {
					return readcache.New(b.open(t), readcache.Config{Immutable: m.immutable})
				}, storagetest.Options{ETagMayLag: b.name == "s3"})
			})
		}
	}
}
