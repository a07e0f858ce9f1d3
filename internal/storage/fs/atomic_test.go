package fs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
)

// TestAtomicReplace replaces one object over and over with whole new
// contents while readers open and read it in a loop. Every version is 1 MiB
// of a single byte value, so a partial or mixed read is easy to detect: a
// reader must always see exactly 1 MiB of one value, whose size matches
// Info, and no ETag may ever describe two different versions.
func TestAtomicReplace(t *testing.T) {
	t.Parallel()
	const (
		size    = 1 << 20
		writes  = 60
		readers = 3
		key     = "live/ch_1/720p/index.m3u8"
	)
	s := newStore(t)
	ctx := context.Background()
	if err := s.Put(ctx, key, bytes.Repeat([]byte{0}, size)); err != nil {
		t.Fatal(err)
	}

	var (
		done  atomic.Bool
		reads atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		etags = make(map[string]byte) // ETag -> version value seen with it
	)
	errs := make(chan error, readers+1)

	wg.Go(func() {
		defer done.Store(true)
		for i := 1; i <= writes; i++ {
			if err := s.Put(ctx, key, bytes.Repeat([]byte{byte(i)}, size)); err != nil {
				errs <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
	})
	for range readers {
		wg.Go(func() {
			for !done.Load() {
				if err := readOnce(ctx, s, key, size, &mu, etags); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if reads.Load() < readers {
		t.Fatalf("only %d reads overlapped the writes", reads.Load())
	}
	t.Logf("%d writes, %d reads, %d distinct versions seen", writes, reads.Load(), len(etags))
}

func readOnce(ctx context.Context, s *Store, key string, size int, mu *sync.Mutex, etags map[string]byte) error {
	obj, err := s.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	info := obj.Info()
	if len(data) != size || info.Size != int64(size) {
		return fmt.Errorf("read %d bytes, Info.Size %d, want %d", len(data), info.Size, size)
	}
	if n := bytes.Count(data, data[:1]); n != size {
		return fmt.Errorf("mixed object: only %d of %d bytes equal %d", n, size, data[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if v, ok := etags[info.ETag]; ok && v != data[0] {
		return fmt.Errorf("ETag %q seen for versions %d and %d", info.ETag, v, data[0])
	}
	etags[info.ETag] = data[0]
	return nil
}
