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
		// The kernel creates a file asked for with 0644 with mode
		// 0644 &^ umask; Put must chmod exactly when that is not 0644.
		created := os.FileMode(0o644) &^ os.FileMode(mask)
		if got := createdMode(t, s.Root()); got != created {
			t.Errorf("umask %03o: a file created 0644 is %v, want %v", mask, got, created)
		}
		if want := created != 0o644; s.chmod != want {
			t.Errorf("umask %03o: chmod = %v, want %v (a new file would be %v)", mask, s.chmod, want, created)
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

// createdMode creates a file with mode 0644 in dir, under the current
// umask, and returns the permissions it got.
func createdMode(t *testing.T, dir string) os.FileMode {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "umask-probe"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
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
