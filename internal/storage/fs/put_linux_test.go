//go:build linux

package fs

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestPutModeUnderStrictUmask: objects are 0644 whatever the umask, also
// now that the temporary file gets its mode at creation. Not parallel: the
// umask is process-wide.
func TestPutModeUnderStrictUmask(t *testing.T) {
	for _, mask := range []int{0o022, 0o077, 0o002, 0o000} {
		old := syscall.Umask(mask)
		s, err := New(t.TempDir())
		if err != nil {
			syscall.Umask(old)
			t.Fatal(err)
		}
		if want := mask&0o644 != 0; s.chmod != want {
			t.Errorf("umask %03o: chmod = %v, want %v", mask, s.chmod, want)
		}
		err = s.Put(context.Background(), "live/ch/a.m4s", []byte("x"))
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(s.Root(), "live/ch/a.m4s"))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o644 {
			t.Errorf("umask %03o: mode = %v, want 0644", mask, perm)
		}
	}
}

// TestPutIntoFileParent: a key below an existing object fails cleanly and
// leaves no temporary file behind.
func TestPutIntoFileParent(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, "a/b", []byte("file")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a/b/c", []byte("x")); err == nil {
		t.Fatal("Put below a file succeeded")
	}
	entries, err := os.ReadDir(filepath.Join(s.Root(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "b" {
		t.Fatalf("directory holds %v, want only b", entries)
	}
}
