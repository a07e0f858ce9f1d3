package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/clocktest"
)

func crcOf(b []byte) uint32 { return crc32.Checksum(b, crcTable) }

// fakeClock is a manual clock for expiry tests.
type fakeClock = clocktest.Clock

func newFakeClock() *fakeClock {
	return clocktest.New(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC))
}

// openTest opens a cache closed at the end of the test; clk may be nil.
func openTest(t testing.TB, cfg Config, clk *fakeClock) *Cache {
	t.Helper()
	var now func() time.Time
	if clk != nil {
		now = clk.Now
	}
	c, err := open(cfg, now)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newMeta is a typical segment response stored at now.
func newMeta(key string, size int, now time.Time) Meta {
	return Meta{
		Key:                  key,
		Status:               200,
		Header:               http.Header{"Content-Type": {"video/iso.segment"}, "Etag": {`"` + key + `"`}},
		Size:                 int64(size),
		Stored:               now,
		InitialAge:           2 * time.Second,
		Fresh:                time.Hour,
		StaleWhileRevalidate: time.Minute,
		StaleIfError:         10 * time.Minute,
	}
}

// bodyOf returns size pseudo-random bytes determined by seed.
func bodyOf(seed uint64, size int) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, size)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

func assertMeta(t testing.TB, got, want Meta) {
	t.Helper()
	if got.Key != want.Key || got.Status != want.Status || got.Size != want.Size ||
		!got.Stored.Equal(want.Stored) || got.InitialAge != want.InitialAge || got.Fresh != want.Fresh ||
		got.StaleWhileRevalidate != want.StaleWhileRevalidate || got.StaleIfError != want.StaleIfError {
		t.Fatalf("meta = %+v\nwant   %+v", got, want)
	}
	if len(got.Header) != 0 || len(want.Header) != 0 {
		if !reflect.DeepEqual(got.Header, want.Header) {
			t.Fatalf("header = %v, want %v", got.Header, want.Header)
		}
	}
}

// readAll reads e's body through Open.
func readAll(t testing.TB, e *Entry) []byte {
	t.Helper()
	b, err := e.Open()
	if err != nil {
		t.Fatalf("Open(%q): %v", e.Meta.Key, err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("reading %q: %v", e.Meta.Key, err)
	}
	return data
}

// assertHit checks that key is cached with meta and body.
func assertHit(t testing.TB, c *Cache, meta Meta, body []byte) *Entry {
	t.Helper()
	e, ok := c.Get(meta.Key)
	if !ok {
		t.Fatalf("Get(%q): miss", meta.Key)
	}
	assertMeta(t, e.Meta, meta)
	if got := readAll(t, e); !bytes.Equal(got, body) {
		t.Fatalf("body of %q: %d bytes differ from the %d stored", meta.Key, len(got), len(body))
	}
	return e
}

// diskFiles walks dir and returns the entry files (path -> size); it fails
// the test if Dir/tmp holds anything.
func diskFiles(t testing.TB, dir string) map[string]int64 {
	t.Helper()
	files := make(map[string]int64)
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasPrefix(rel, tmpDirName+string(filepath.Separator)) {
			t.Errorf("leftover temporary file %s", rel)
		}
		if !strings.HasSuffix(path, fileExt) {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return err
		}
		files[path] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// diskKeys returns the keys of the entry files in dir.
func diskKeys(t testing.TB, dir string) map[string]bool {
	t.Helper()
	keys := make(map[string]bool)
	for path := range diskFiles(t, dir) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := decodeHeader(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		keys[m.Key] = true
	}
	return keys
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
