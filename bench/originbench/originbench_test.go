package main

import (
	"testing"
)

// TestVariantsServeTheSegments sets up the three variants (versitygw
// included) with small segments and checks that each serves every one
// byte for byte, and that the cache then holds them all.
func TestVariantsServeTheSegments(t *testing.T) {
	b, err := setup(opts{segments: 4, segmentSize: 200_000, cacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	for _, v := range b.variants {
		if err := b.check(v); err != nil {
			t.Fatal(err)
		}
	}
	st := b.variant(nameS3Cache).cache.Stats()
	if st.Entries != 4 || st.Loads != 4 || st.Hits != 0 {
		t.Fatalf("cache after one pass: %+v, want 4 entries from 4 loads", st)
	}
	if err := b.check(b.variant(nameS3Cache)); err != nil {
		t.Fatal(err)
	}
	if st := b.variant(nameS3Cache).cache.Stats(); st.Hits != 4 || st.Loads != 4 {
		t.Fatalf("cache after a second pass: %+v, want 4 hits and no more loads", st)
	}
}
