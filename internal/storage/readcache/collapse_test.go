package readcache_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/readcache"
	"github.com/ospreyvideo/osprey/internal/storage/storagetest"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// result is what one background Open got.
type result struct {
	data []byte
	info storage.Info
	err  error
}

// openAsync opens and reads key in a goroutine; the result arrives on the
// channel.
func openAsync(ctx context.Context, s storage.Store, key string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		obj, err := s.Open(ctx, key)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer obj.Close()
		data, err := io.ReadAll(obj)
		ch <- result{data: data, info: obj.Info(), err: err}
	}()
	return ch
}

// TestCollapse: concurrent misses of one key make one backend read, and the
// contexts of the readers involved are each honoured.
func TestCollapse(t *testing.T) {
	const key = "live/ch_1/s1/720p/3.m4s"
	data := randomBytes(1<<20, 9)
	tests := []struct {
		name string
		fn   func(t *testing.T, c *readcache.Store, b *counting)
	}{
		{"concurrent misses share one backend read", func(t *testing.T, c *readcache.Store, b *counting) {
			const readers = 8
			inside, release := b.holdOpens()
			defer release()
			var results []<-chan result
			for range readers {
				results = append(results, openAsync(context.Background(), c, key))
			}
			<-inside // one reader is in the backend
			waitFor(t, "the other readers to wait for it", func() bool { return c.Stats().Collapsed == readers-1 })
			release()
			for i, ch := range results {
				r := <-ch
				if r.err != nil || !bytes.Equal(r.data, data) {
					t.Fatalf("reader %d: %d bytes, %v", i, len(r.data), r.err)
				}
			}
			if n := b.count(key); n != 1 {
				t.Fatalf("%d concurrent misses made %d backend Opens, want 1", readers, n)
			}
			if st := c.Stats(); st.Misses != 1 || st.Loads != 1 || st.Collapsed != readers-1 {
				t.Fatalf("Stats %+v, want 1 miss, 1 load, %d collapsed", st, readers-1)
			}
		}},
		{"a waiting reader reads again when the first gives up", func(t *testing.T, c *readcache.Store, b *counting) {
			inside, release := b.holdOpens()
			defer release()
			ctx, cancel := context.WithCancel(context.Background())
			first := openAsync(ctx, c, key)
			<-inside
			second := openAsync(context.Background(), c, key)
			waitFor(t, "the second reader to wait", func() bool { return c.Stats().Collapsed == 1 })
			cancel()
			if r := <-first; !errors.Is(r.err, context.Canceled) {
				t.Fatalf("first reader: %v, want context.Canceled", r.err)
			}
			<-inside // the second reader's own backend read
			release()
			if r := <-second; r.err != nil || !bytes.Equal(r.data, data) {
				t.Fatalf("second reader: %d bytes, %v", len(r.data), r.err)
			}
			if n := b.count(key); n != 2 {
				t.Fatalf("%d backend Opens, want 2", n)
			}
		}},
		{"a waiting reader's context ends", func(t *testing.T, c *readcache.Store, b *counting) {
			inside, release := b.holdOpens()
			defer release()
			first := openAsync(context.Background(), c, key)
			<-inside
			ctx, cancel := context.WithCancel(context.Background())
			second := openAsync(ctx, c, key)
			waitFor(t, "the second reader to wait", func() bool { return c.Stats().Collapsed == 1 })
			cancel()
			if r := <-second; !errors.Is(r.err, context.Canceled) {
				t.Fatalf("second reader: %v, want context.Canceled", r.err)
			}
			release()
			if r := <-first; r.err != nil || !bytes.Equal(r.data, data) {
				t.Fatalf("first reader: %d bytes, %v", len(r.data), r.err)
			}
			wantBytes(t, c, key, data)
			if n := b.count(key); n != 1 {
				t.Fatalf("%d backend Opens, want 1", n)
			}
		}},
		{"a read in progress during a Put is not kept", func(t *testing.T, c *readcache.Store, b *counting) {
			v2 := randomBytes(1000, 10)
			inside, release := b.holdOpens()
			defer release()
			first := openAsync(context.Background(), c, key)
			<-inside // the backend object of the first version is open
			storagetest.Put(t, c, key, v2)
			// A reader arriving now must not join the read of the old version.
			second := openAsync(context.Background(), c, key)
			<-inside
			release()
			if r := <-first; r.err == nil && !bytes.Equal(r.data, data) {
				t.Fatalf("the read begun before the Put got %d bytes that are not the first version", len(r.data))
			}
			if r := <-second; r.err != nil || !bytes.Equal(r.data, v2) {
				t.Fatalf("the Open after the Put: %d bytes, %v; want the %d of the new version", len(r.data), r.err, len(v2))
			}
			for range 2 {
				wantBytes(t, c, key, v2)
			}
			if n := b.count(key); n != 2 {
				t.Fatalf("%d backend Opens, want 2", n)
			}
		}},
		{"a read in progress during an Invalidate is not kept", func(t *testing.T, c *readcache.Store, b *counting) {
			inside, release := b.holdOpens()
			defer release()
			first := openAsync(context.Background(), c, key)
			<-inside
			c.Invalidate("live/ch_1/")
			release()
			if r := <-first; r.err != nil || !bytes.Equal(r.data, data) {
				t.Fatalf("first reader: %d bytes, %v", len(r.data), r.err)
			}
			wantBytes(t, c, key, data)
			if n := b.count(key); n != 2 {
				t.Fatalf("%d backend Opens, want 2: the read begun before Invalidate was kept", n)
			}
		}},
	}
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b := newCounting(be.open(t))
					storagetest.Put(t, b.Store, key, data)
					tc.fn(t, readcache.New(b, readcache.Config{}), b)
				})
			}
		})
	}
}
