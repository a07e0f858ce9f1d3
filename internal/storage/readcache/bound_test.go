package readcache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
)

func newFS(t *testing.T) storage.Store {
	s, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// content is the deterministic body of object i.
func content(i, size int) []byte {
	return bytes.Repeat([]byte{byte(i)}, size-i%7) // sizes differ a little
}

// checkBound fails unless the entries held weigh at most the budget and
// the Bytes counter is their exact weight.
func checkBound(t *testing.T, s *Store) {
	t.Helper()
	var sum, bodies int64
	for _, e := range s.cache.All() {
		sum += int64(e.weight)
		bodies += int64(len(e.data))
	}
	if got := s.Stats().Bytes; got != sum {
		t.Fatalf("Stats().Bytes = %d, but the entries weigh %d", got, sum)
	}
	if sum > s.maxBytes || bodies > s.maxBytes {
		t.Fatalf("entries weigh %d (bodies %d bytes), over the %d-byte budget", sum, bodies, s.maxBytes)
	}
}

// TestByteBound: whatever is read, the cache holds at most MaxBytes, and
// evicted objects still read correctly; with bodies on the heap and in
// memory files (whose descriptors are closed when their entries go).
func TestByteBound(t *testing.T) {
	t.Run("heap", func(t *testing.T) { testByteBound(t, true, "") })
	t.Run("memory files", func(t *testing.T) { testByteBound(t, false, "") })
	t.Run("temporary files", func(t *testing.T) { testByteBound(t, false, t.TempDir()) })
}

func testByteBound(t *testing.T, heapOnly bool, dir string) {
	const (
		size    = 70_000 // above memFileMin
		budget  = 10 * size
		objects = 40 // 4× the budget
	)
	backend := newFS(t)
	ctx := context.Background()
	key := func(i int) string { return fmt.Sprintf("live/ch_1/s1/720p/%d.m4s", i) }
	for i := range objects {
		if err := backend.Put(ctx, key(i), content(i, size)); err != nil {
			t.Fatal(err)
		}
	}
	s := New(backend, Config{MaxBytes: budget, Dir: dir})
	s.heapOnly = heapOnly
	readOK := func(i int) error {
		obj, err := s.Open(ctx, key(i))
		if err != nil {
			return err
		}
		defer obj.Close()
		got, err := io.ReadAll(obj)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, content(i, size)) {
			return fmt.Errorf("%s read %d bytes that are not its content", key(i), len(got))
		}
		return nil
	}
	check := func(t *testing.T) {
		t.Helper()
		checkBound(t, s)
		for _, e := range s.cache.All() {
			if (e.file == nil) != heapOnly {
				t.Fatalf("an entry has its body in a memory file: %v, want %v", e.file != nil, !heapOnly)
			}
		}
		if n, want := memFiles(t, dir), s.Stats().Entries; !heapOnly && n != want {
			t.Fatalf("%d memory files open for %d entries", n, want)
		}
	}

	t.Run("sequential", func(t *testing.T) {
		for round := range 3 {
			for i := range objects {
				if err := readOK(i); err != nil {
					t.Fatal(err)
				}
				check(t)
			}
			t.Logf("round %d: %+v", round+1, s.Stats())
		}
		if st := s.Stats(); st.Evictions == 0 || st.Entries == 0 || st.Bytes < budget/2 {
			t.Fatalf("Stats %+v: want evictions, and the budget mostly used", st)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 1))
				for range 150 {
					if err := readOK(r.IntN(objects)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		check(t)
		t.Logf("%+v", s.Stats())
	})

	t.Run("an object open across its eviction reads whole", func(t *testing.T) {
		obj, err := s.Open(ctx, key(0))
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < objects; i++ { // evicts key(0) several times over
			if err := readOK(i); err != nil {
				t.Fatal(err)
			}
		}
		s.Invalidate("")
		got, err := io.ReadAll(obj)
		_ = obj.Close()
		if err != nil || !bytes.Equal(got, content(0, size)) {
			t.Fatalf("read %d bytes, %v; want its %d", len(got), err, size)
		}
		check(t)
	})

	t.Run("objects over the budget are not kept", func(t *testing.T) {
		small := New(backend, Config{MaxBytes: size / 2, MaxObjectBytes: size * 2})
		if small.maxObject != size/2 {
			t.Fatalf("MaxObjectBytes is %d, want it capped at MaxBytes %d", small.maxObject, size/2)
		}
		for range 2 {
			if err := readOK(0); err != nil {
				t.Fatal(err)
			}
			obj, err := small.Open(ctx, key(0))
			if err != nil {
				t.Fatal(err)
			}
			_ = obj.Close()
		}
		if st := small.Stats(); st.Entries != 0 || st.Uncacheable != 2 {
			t.Fatalf("Stats %+v, want nothing kept, 2 uncacheable reads", st)
		}
	})
}

// memFiles counts this process's open memory files of the cache, or its
// unnamed files in dir.
func memFiles(t *testing.T, dir string) int64 {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, fd := range fds {
		target, err := os.Readlink("/proc/self/fd/" + fd.Name())
		if err == nil && (dir == "" && strings.HasPrefix(target, "/memfd:osprey-readcache:") ||
			dir != "" && strings.HasPrefix(target, dir+"/#")) {
			n++
		}
	}
	return n
}

// TestMaxAge: an entry is read again from the backend once it is MaxAge
// old, and served from memory before.
func TestMaxAge(t *testing.T) {
	backend := newFS(t)
	ctx := context.Background()
	const key = "vod/as_1/720p/1.m4s"
	if err := backend.Put(ctx, key, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(backend, Config{MaxAge: time.Minute})
	s.now = func() time.Time { return now }
	read := func() string {
		obj, err := s.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		b, _ := io.ReadAll(obj)
		return string(b)
	}
	read()
	if err := backend.Put(ctx, key, []byte("v2")); err != nil { // changed elsewhere
		t.Fatal(err)
	}
	now = now.Add(time.Minute - time.Nanosecond)
	if got := read(); got != "v1" {
		t.Fatalf("before MaxAge read %q, want the cached v1", got)
	}
	now = now.Add(time.Nanosecond)
	if got := read(); got != "v2" {
		t.Fatalf("at MaxAge read %q, want v2 from the backend", got)
	}
	if st := s.Stats(); st.Expired != 1 || st.Misses != 2 || st.Hits != 1 {
		t.Fatalf("Stats %+v, want 1 expired, 2 misses, 1 hit", st)
	}

	// A negative MaxAge keeps entries for ever.
	s = New(backend, Config{MaxAge: -1})
	s.now = func() time.Time { return now }
	read()
	now = now.Add(1000 * time.Hour)
	read()
	if st := s.Stats(); st.Hits != 1 || st.Expired != 0 {
		t.Fatalf("with no MaxAge: Stats %+v, want 1 hit", st)
	}
}
