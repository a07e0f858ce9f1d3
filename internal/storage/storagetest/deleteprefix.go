package storagetest

import (
	"context"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// deletePrefixCase puts keys, deletes prefix, then checks which keys remain.
func deletePrefixCase(t *testing.T, s storage.Store, prefix string, gone, kept []string) {
	t.Helper()
	for _, k := range append(append([]string(nil), gone...), kept...) {
		Put(t, s, k, []byte(k))
	}
	if err := s.DeletePrefix(context.Background(), prefix); err != nil {
		t.Fatalf("DeletePrefix(%q): %v", prefix, err)
	}
	for _, k := range gone {
		WantMissing(t, s, k)
	}
	for _, k := range kept {
		wantPresent(t, s, k, []byte(k))
	}
}

func testDeletePrefixSubtree(t *testing.T, s storage.Store) {
	deletePrefixCase(t, s, "live/a/",
		[]string{"live/a/x", "live/a/index.m3u8", "live/a/720p/1.m4s", "live/a/720p/deep/2.m4s"},
		[]string{"live/ab/x", "live/abc", "other/live/a/x", "live/b/a/x"})
	// Deleting again, or a prefix with nothing under it, is not an error.
	for _, p := range []string{"live/a/", "live/none/"} {
		if err := s.DeletePrefix(context.Background(), p); err != nil {
			t.Errorf("DeletePrefix(%q) with nothing to delete: %v", p, err)
		}
	}
}

// testDeletePrefixKeepsSibling: "live/a/" does not match the key "live/a".
// (A folder cannot hold both "live/a" and "live/a/x", so this is its own case.)
func testDeletePrefixKeepsSibling(t *testing.T, s storage.Store) {
	deletePrefixCase(t, s, "live/a/", nil, []string{"live/a", "live/ab/x"})
}

func testDeletePrefixPartialName(t *testing.T, s storage.Store) {
	deletePrefixCase(t, s, "live/c/720p/1",
		[]string{"live/c/720p/1.m4s", "live/c/720p/10.m4s", "live/c/720p/1/x"},
		[]string{"live/c/720p/2.m4s", "live/c/720p/21.m4s", "live/c/1080p/1.m4s"})
}
