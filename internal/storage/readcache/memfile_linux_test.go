package readcache

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// TestMemFile: on Linux a large cached body is a sealed memory file that
// each reader opens with an offset of its own, and that net/http can send
// with sendfile(2) (the object is a syscall.Conn); small bodies stay on
// the heap.
func TestMemFile(t *testing.T) {
	t.Run("memory files", func(t *testing.T) { testMemFile(t, "") })
	t.Run("temporary files", func(t *testing.T) { testMemFile(t, t.TempDir()) })
}

func testMemFile(t *testing.T, dir string) {
	backend := newFS(t)
	ctx := context.Background()
	big, small := content(3, memFileMin+10), content(4, memFileMin-1)
	for k, v := range map[string][]byte{"vod/a/big.m4s": big, "vod/a/small.m4s": small} {
		if err := backend.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	s := New(backend, Config{Dir: dir})
	open := func(key string) storage.Object {
		obj, err := s.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = obj.Close() })
		return obj
	}
	a, b := open("vod/a/big.m4s"), open("vod/a/big.m4s")
	if _, ok := a.(syscall.Conn); !ok {
		t.Fatalf("a large cached object is a %T, not a syscall.Conn", a)
	}
	// Independent offsets: read a in part, then b whole, then a's rest.
	head := make([]byte, 1000)
	if _, err := io.ReadFull(a, head); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(b); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("second reader: %d bytes, %v", len(got), err)
	}
	rest, err := io.ReadAll(a)
	if err != nil || !bytes.Equal(append(head, rest...), big) {
		t.Fatalf("first reader: %d bytes, %v", len(head)+len(rest), err)
	}
	e, _ := s.cache.GetIfPresent("vod/a/big.m4s")
	if dir != "" {
		// An unnamed file: nothing in the folder.
		if names, err := os.ReadDir(dir); err != nil || len(names) != 0 {
			t.Fatalf("the cache folder lists %d names (%v), want none", len(names), err)
		}
	} else {
		// Sealed: no writer can change it, not even through its own descriptor.
		if _, err := e.file.f.WriteAt([]byte("x"), 0); err == nil {
			t.Fatal("writing into the cached memory file succeeded")
		}
		if f, err := os.OpenFile(e.file.path, os.O_WRONLY, 0); err == nil {
			_, werr := f.Write([]byte("x"))
			f.Close()
			if werr == nil {
				t.Fatal("writing into the cached memory file through /proc succeeded")
			}
		}
	}
	if obj := open("vod/a/small.m4s"); func() bool { _, ok := obj.(syscall.Conn); return ok }() {
		t.Fatalf("a small cached object is a %T, want it on the heap", obj)
	}
	if st := s.Stats(); st.Hits != 1 || st.Misses != 2 {
		t.Fatalf("Stats %+v, want 1 hit, 2 misses", st)
	}
}

// TestCheckDir: a folder takes unnamed files; a missing one is refused,
// saying so (a cache told to use it would otherwise fall back to the heap
// without a word).
func TestCheckDir(t *testing.T) {
	if err := CheckDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := CheckDir(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("CheckDir of a missing folder: %v", err)
	}
}
