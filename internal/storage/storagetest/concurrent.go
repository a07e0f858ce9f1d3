package storagetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// testConcurrentPutsAndReads replaces one key with versions of different
// sizes from two writers while two readers open and read it in a loop.
// Version v is versionSize(v) bytes all equal to v, so a mix of versions or a
// truncation is easy to see. Every read must be one whole version whose
// length matches its Info.Size, and no ETag may describe two versions.
func testConcurrentPutsAndReads(t *testing.T, s storage.Store) {
	testConcurrentPutsAndReadsWith(t, s, Options{})
}

func testConcurrentPutsAndReadsWith(t *testing.T, s storage.Store, opts Options) {
	const (
		key      = "live/ch_1/720p/index.m3u8"
		versions = 40 // split between the writers
		writers  = 2
		readers  = 2
	)
	ctx := context.Background()
	Put(t, s, key, version(0))

	var (
		wg      sync.WaitGroup
		writing atomic.Int32
		reads   atomic.Int64
		mu      sync.Mutex
		etags   = make(map[string]byte)
	)
	errs := make(chan error, writers+readers)
	writing.Store(writers)
	for w := range writers {
		wg.Go(func() {
			defer writing.Add(-1)
			for v := 1 + w; v <= versions; v += writers {
				if err := s.Put(ctx, key, version(byte(v))); err != nil {
					errs <- fmt.Errorf("put version %d: %w", v, err)
					return
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			// Read at least once after the writers finish, too.
			for more := true; more; {
				more = writing.Load() > 0
				if err := readVersion(ctx, s, key, &mu, etags, opts); err != nil {
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
	t.Logf("%d puts, %d reads, %d distinct versions seen", versions, reads.Load(), len(etags))
}

func versionSize(v byte) int { return 16<<10 + int(v)*997 }

func version(v byte) []byte { return bytes.Repeat([]byte{v}, versionSize(v)) }

func readVersion(ctx context.Context, s storage.Store, key string, mu *sync.Mutex, etags map[string]byte, opts Options) error {
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
	if len(data) == 0 {
		return fmt.Errorf("read an empty object (Info().Size %d)", info.Size)
	}
	v := data[0]
	if n := bytes.Count(data, data[:1]); n != len(data) {
		return fmt.Errorf("mixed versions: only %d of %d bytes equal %d", n, len(data), v)
	}
	if len(data) != versionSize(v) || info.Size != int64(len(data)) {
		return fmt.Errorf("version %d read as %d bytes with Info().Size %d, want %d", v, len(data), info.Size, versionSize(v))
	}
	mu.Lock()
	defer mu.Unlock()
	if prev, ok := etags[info.ETag]; ok && prev != v && !(opts.ETagMayLag && lagging(prev, v)) {
		return fmt.Errorf("ETag %q seen for versions %d and %d", info.ETag, prev, v)
	}
	etags[info.ETag] = v
	return nil
}

// lagging tells whether two versions are close enough in the writers'
// order for an ETag written apart from the data to pair them in a read
// racing the overwrite (two writers interleave, so up to two apart).
func lagging(a, b byte) bool {
	d := int(a) - int(b)
	return d >= -2 && d <= 2
}
