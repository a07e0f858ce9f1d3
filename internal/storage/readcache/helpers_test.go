package readcache_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
	"github.com/ospreyvideo/osprey/internal/storage/storagetest"
)

// backend makes a fresh, empty Store of one kind.
type backend struct {
	name string
	open func(t *testing.T) storage.Store
}

// backends returns the file backend and, on a versitygw started for the
// calling test, the S3 backend.
func backends(t *testing.T) []backend {
	srv := s3test.Start(t)
	return []backend{
		{"fs", func(t *testing.T) storage.Store {
			s, err := fs.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"s3", func(t *testing.T) storage.Store { return srv.Store(t, "") }},
	}
}

// counting is a Store that counts Opens per key and, when hold is set,
// makes each Open wait after the backend's Open until hold is closed or
// its context ends.
type counting struct {
	storage.Store

	mu     sync.Mutex
	opens  map[string]int
	hold   chan struct{}
	inside chan string // receives the key of each held Open, when not nil
}

func newCounting(s storage.Store) *counting {
	return &counting{Store: s, opens: map[string]int{}}
}

func (c *counting) Open(ctx context.Context, key string) (storage.Object, error) {
	c.mu.Lock()
	c.opens[key]++
	hold, inside := c.hold, c.inside
	c.mu.Unlock()
	obj, err := c.Store.Open(ctx, key)
	if err != nil || hold == nil {
		return obj, err
	}
	if inside != nil {
		inside <- key
	}
	select {
	case <-hold:
		return obj, nil
	case <-ctx.Done():
		_ = obj.Close()
		return nil, ctx.Err()
	}
}

// Upload and Copy pass through (the backends under test have both).
func (c *counting) Upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	return c.Store.(storage.Uploader).Upload(ctx, key, r)
}

func (c *counting) Copy(ctx context.Context, src, dst string) error {
	return c.Store.(storage.Copier).Copy(ctx, src, dst)
}

// count returns the Opens of key so far.
func (c *counting) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opens[key]
}

// holdOpens makes later Opens wait after the backend's Open, each
// announcing its key on the returned channel, until release is called.
func (c *counting) holdOpens() (inside <-chan string, release func()) {
	ch := make(chan string, 64)
	hold := make(chan struct{})
	c.mu.Lock()
	c.hold, c.inside = hold, ch
	c.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.mu.Lock()
			c.hold, c.inside = nil, nil
			c.mu.Unlock()
			close(hold)
		})
	}
}

// wantBytes fails unless key reads as want through s.
func wantBytes(t *testing.T, s storage.Store, key string, want []byte) storage.Info {
	t.Helper()
	got, info := storagetest.Read(t, s, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("%q read %d bytes %.16q, want %d bytes %.16q", key, len(got), got, len(want), want)
	}
	if info.Size != int64(len(want)) {
		t.Fatalf("%q: Info().Size %d, want %d", key, info.Size, len(want))
	}
	return info
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
