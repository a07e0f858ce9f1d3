package fs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s *Store, key, data string) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(data)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func read(t *testing.T, s *Store, key string) (string, storage.Info) {
	t.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return string(b), obj.Info()
}

func exists(s *Store, key string) bool {
	_, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(key)))
	return err == nil
}

func TestPutOpen(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	before := time.Now().Add(-time.Second)
	put(t, s, "live/ch_1/720p/1.m4s", "first")

	got, info := read(t, s, "live/ch_1/720p/1.m4s")
	if got != "first" {
		t.Fatalf("content = %q, want %q", got, "first")
	}
	if info.Key != "live/ch_1/720p/1.m4s" || info.Size != 5 || info.ETag == "" {
		t.Fatalf("info = %+v", info)
	}
	if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Second)) {
		t.Fatalf("ModTime = %v, want about now", info.ModTime)
	}
	if info.ModTime.Location() != time.UTC {
		t.Fatalf("ModTime location = %v, want UTC", info.ModTime.Location())
	}

	// Same size, different content: the ETag must change.
	put(t, s, "live/ch_1/720p/1.m4s", "again")
	got2, info2 := read(t, s, "live/ch_1/720p/1.m4s")
	if got2 != "again" {
		t.Fatalf("content after replace = %q", got2)
	}
	if info2.ETag == info.ETag {
		t.Fatalf("ETag unchanged after replace: %q", info.ETag)
	}
	// Reopening an unchanged object yields the same ETag.
	if _, info3 := read(t, s, "live/ch_1/720p/1.m4s"); info3.ETag != info2.ETag {
		t.Fatalf("ETag of unchanged object changed: %q -> %q", info2.ETag, info3.ETag)
	}

	fi, err := os.Stat(filepath.Join(s.Root(), "live/ch_1/720p/1.m4s"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o644 {
		t.Fatalf("file mode = %v, want 0644", perm)
	}
}

func TestObjectSeek(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	put(t, s, "a/b.m4s", "0123456789")
	obj, err := s.Open(context.Background(), "a/b.m4s")
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if _, err := obj.Seek(4, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 3)
	if _, err := io.ReadFull(obj, b); err != nil {
		t.Fatal(err)
	}
	if string(b) != "456" {
		t.Fatalf("read after seek = %q, want 456", b)
	}
}

func TestETagsDistinctUnderRapidPuts(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	seen := make(map[string]int)
	for i := range 300 {
		data := bytes.Repeat([]byte{byte(i)}, 4096) // same size every time
		if err := s.Put(context.Background(), "x.m4s", data); err != nil {
			t.Fatal(err)
		}
		_, info := read(t, s, "x.m4s")
		if prev, dup := seen[info.ETag]; dup {
			t.Fatalf("Put %d reused the ETag %q of Put %d", i, info.ETag, prev)
		}
		seen[info.ETag] = i
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	put(t, s, "live/ch_1/index.m3u8", "x")
	for _, key := range []string{
		"missing.m4s",
		"live/ch_2/index.m3u8",
		"live/ch_1",                  // a directory is not an object
		"live/ch_1/index.m3u8/child", // parent is a file
	} {
		_, err := s.Open(context.Background(), key)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
		}
	}
}

func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	tests := []struct {
		name, key string
	}{
		{"empty", ""},
		{"absolute", "/etc/passwd"},
		{"dotdot", ".."},
		{"leading dotdot", "../escape"},
		{"inner dotdot", "live/../../escape"},
		{"dot", "live/./x"},
		{"empty element", "live//x"},
		{"trailing slash", "live/x/"},
		{"backslash", `live\..\x`},
		{"NUL", "live/x\x00.m4s"},
		{"temp file", tempPrefix + "123"},
		{"nested temp file", "live/ch/" + tempPrefix + "abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Put(ctx, tc.key, []byte("x")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put = %v, want ErrInvalidKey", err)
			}
			if _, err := s.Open(ctx, tc.key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Open = %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(ctx, tc.key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete = %v, want ErrInvalidKey", err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Root()), "escape")); err == nil {
		t.Fatal("a rejected Put created a file outside the root")
	}
	// Names that merely look unusual are fine.
	for _, key := range []string{"a/..b", "a/.hidden", "a/b..c.m4s", "x y/é.vtt"} {
		put(t, s, key, key)
		if got, _ := read(t, s, key); got != key {
			t.Errorf("round trip of %q = %q", key, got)
		}
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	put(t, s, "live/ch_1/1.m4s", "x")
	put(t, s, "live/ch_1/sub/2.m4s", "x")

	if err := s.Delete(ctx, "live/ch_1/1.m4s"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "live/ch_1/1.m4s"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Open after Delete = %v, want ErrNotFound", err)
	}
	for _, key := range []string{"live/ch_1/1.m4s", "nothing/here.m4s", "live/ch_1/sub/2.m4s/x", "live/ch_1/sub"} {
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", key, err)
		}
	}
	if !exists(s, "live/ch_1/sub/2.m4s") {
		t.Fatal("Delete of a directory key removed its contents")
	}
}

func TestDeletePrefix(t *testing.T) {
	t.Parallel()
	all := []string{
		"live/ch_1/index.m3u8",
		"live/ch_1/720p/1.m4s",
		"live/ch_1/720p/10.m4s",
		"live/ch_1/720p/1x/deep.m4s",
		"live/ch_1/720p/2.m4s",
		"live/ch_10/index.m3u8",
		"live/ch_2/index.m3u8",
		"vod/a/index.m3u8",
	}
	tests := []struct {
		prefix  string
		removed []string
	}{
		{"live/ch_1/", []string{"live/ch_1/index.m3u8", "live/ch_1/720p/1.m4s", "live/ch_1/720p/10.m4s", "live/ch_1/720p/1x/deep.m4s", "live/ch_1/720p/2.m4s"}},
		{"live/ch_1", []string{"live/ch_1/index.m3u8", "live/ch_1/720p/1.m4s", "live/ch_1/720p/10.m4s", "live/ch_1/720p/1x/deep.m4s", "live/ch_1/720p/2.m4s", "live/ch_10/index.m3u8"}},
		{"live/ch_1/720p/1", []string{"live/ch_1/720p/1.m4s", "live/ch_1/720p/10.m4s", "live/ch_1/720p/1x/deep.m4s"}},
		{"live/ch_1/720p/1.m4s", []string{"live/ch_1/720p/1.m4s"}},
		{"v", []string{"vod/a/index.m3u8"}},
		{"live/ch_9/", nil},
		{"nothing/at/all", nil},
	}
	for _, tc := range tests {
		t.Run(tc.prefix, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			for _, k := range all {
				put(t, s, k, k)
			}
			if err := s.DeletePrefix(context.Background(), tc.prefix); err != nil {
				t.Fatal(err)
			}
			for _, k := range all {
				want := !slices.Contains(tc.removed, k)
				if got := exists(s, k); got != want {
					t.Errorf("after DeletePrefix(%q): %q exists = %v, want %v", tc.prefix, k, got, want)
				}
			}
		})
	}
	s := newStore(t)
	for _, bad := range []string{"", "/", "/live/", "../", "live/../", "live//", `live\`} {
		if err := s.DeletePrefix(context.Background(), bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("DeletePrefix(%q) = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func TestNewRemovesTempFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	files := map[string]bool{ // path -> should survive
		"live/ch_1/1.m4s":                          true,
		"live/ch_1/" + tempPrefix + "123":          false,
		"live/ch_1/720p/" + tempPrefix + "9876543": false,
		tempPrefix + "top":                         false,
		"live/.keep":                               true,
	}
	for p := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := New(root); err != nil {
		t.Fatal(err)
	}
	for p, survive := range files {
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		if got := err == nil; got != survive {
			t.Errorf("%q exists = %v, want %v", p, got, survive)
		}
	}
}

func TestPutLeavesNoTempFiles(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	s.Sync = true // exercise the fsync path too
	for i := range 5 {
		put(t, s, "a/b.m4s", strings.Repeat("x", i))
	}
	// A failed Put (the key's path is a directory) must clean up after itself.
	put(t, s, "a/dir/c.m4s", "x")
	if err := s.Put(context.Background(), "a/dir", []byte("x")); err == nil {
		t.Fatal("Put over a directory succeeded")
	}
	entries, err := os.ReadDir(filepath.Join(s.Root(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
	if got, _ := read(t, s, "a/b.m4s"); got != "xxxx" {
		t.Fatalf("content = %q", got)
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "a.m4s", []byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put = %v, want context.Canceled", err)
	}
	if exists(s, "a.m4s") {
		t.Error("Put with a canceled context wrote the object")
	}
	if _, err := s.Open(ctx, "a.m4s"); !errors.Is(err, context.Canceled) {
		t.Errorf("Open = %v, want context.Canceled", err)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(file); err == nil {
		t.Error("New on a regular file succeeded")
	}
}
