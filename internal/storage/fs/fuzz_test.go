package fs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzKey: a key or prefix that passes validation never maps outside the
// store's root (nor onto the root itself, nor onto a temporary file), and
// a real Put/Open/Delete/DeletePrefix with it touches nothing outside the
// root.
func FuzzKey(f *testing.F) {
	for _, k := range []string{
		"live/ch_1/720p/42.m4s", "a", "a/", "../x", "a/../../x", "a/./b", "/etc/passwd", "a//b",
		"a\\..\\b", "a\x00b", ".osprey-tmp-1", "a/.osprey-tmp-x/b", "..", ".", "...", "a/..b", "..a/b",
		"sources/as_1/source", "ü/ñ", "a/b/",
	} {
		f.Add(k)
	}
	parent := f.TempDir()
	root := filepath.Join(parent, "root")
	s, err := New(root)
	if err != nil {
		f.Fatal(err)
	}
	sentinel := filepath.Join(parent, "outside")
	if err := os.WriteFile(sentinel, []byte("keep"), 0o644); err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, key string) {
		inside := func(p string) bool {
			rel, err := filepath.Rel(s.root, p)
			return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
		}
		if checkKey(key) == nil {
			p := s.path(key)
			if !inside(p) {
				t.Fatalf("key %q maps to %s, outside %s", key, p, s.root)
			}
			if strings.HasPrefix(filepath.Base(p), tempPrefix) {
				t.Fatalf("key %q names a temporary file", key)
			}
			if err := s.Put(ctx, key, []byte("x")); err == nil {
				if o, err := s.Open(ctx, key); err != nil {
					t.Fatalf("Put %q then Open: %v", key, err)
				} else {
					o.Close()
				}
			}
			_ = s.Delete(ctx, key) // fails only when a parent is a file (a/b after a)
			first, _, _ := strings.Cut(key, "/")
			_ = s.DeletePrefix(ctx, first+"/")
		} else if err := s.Put(ctx, key, []byte("x")); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
		if checkPrefix(key) == nil {
			dir, base := splitPrefix(key)
			if base == "" && !inside(s.path(dir)) {
				t.Fatalf("prefix %q removes %s, not strictly inside the root", key, s.path(dir))
			}
			if dir != "" && !inside(s.path(dir)) {
				t.Fatalf("prefix %q lists %s, outside the root", key, s.path(dir))
			}
		}
		if b, err := os.ReadFile(sentinel); err != nil || string(b) != "keep" {
			t.Fatalf("after key %q the file outside the root is %q, %v", key, b, err)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 2 {
			t.Fatalf("after key %q the root's parent holds %d entries, want root and the sentinel", key, len(entries))
		}
		if _, err := os.Stat(root); err != nil {
			t.Fatalf("after key %q the root is gone: %v", key, err)
		}
	})
}

// splitPrefix is deletePrefix's split: the directory (without its
// trailing slash) and the partial last element.
func splitPrefix(prefix string) (dir, base string) {
	i := strings.LastIndexByte(prefix, '/')
	return strings.TrimSuffix(prefix[:i+1], "/"), prefix[i+1:]
}
