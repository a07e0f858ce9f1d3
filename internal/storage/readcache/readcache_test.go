package readcache_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/readcache"
	"github.com/ospreyvideo/osprey/internal/storage/storagetest"
)

// TestBehaviour checks, on each backend, what the cache keeps and what it
// drops. Each case gets a fresh backend behind a counting wrapper and a
// cache in front of it.
func TestBehaviour(t *testing.T) {
	const seg = "vod/as_1/720p/1.m4s"
	tests := []struct {
		name string
		cfg  readcache.Config
		fn   func(t *testing.T, c *readcache.Store, b *counting)
	}{
		{"hit keeps the backend's bytes and Info", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			data := randomBytes(300_000, 1)
			storagetest.Put(t, c, seg, data)
			_, direct := storagetest.Read(t, b.Store, seg)
			for i := range 3 {
				info := wantBytes(t, c, seg, data)
				if !sameInfo(info, direct) {
					t.Fatalf("read %d: Info %+v, backend's %+v", i+1, info, direct)
				}
			}
			if n := b.count(seg); n != 1 {
				t.Fatalf("3 Opens through the cache made %d backend Opens, want 1", n)
			}
			if st := c.Stats(); st.Hits != 2 || st.Misses != 1 || st.Entries != 1 || st.Bytes < int64(len(data)) {
				t.Fatalf("Stats %+v, want 2 hits, 1 miss, 1 entry of at least %d bytes", st, len(data))
			}
		}},
		{"manifests and state are read from the backend each time", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			for _, key := range []string{"live/ch_1/index.m3u8", "live/ch_1/manifest.mpd", "live/ch_1/state.json", "sources/as_1/source"} {
				storagetest.Put(t, c, key, []byte("v1 "+key))
				wantBytes(t, c, key, []byte("v1 "+key))
				// Another node rewrites it: seen at once, no Invalidate.
				storagetest.Put(t, b.Store, key, []byte("version 2 "+key))
				wantBytes(t, c, key, []byte("version 2 "+key))
				if n := b.count(key); n != 2 {
					t.Errorf("%s: 2 Opens made %d backend Opens, want 2", key, n)
				}
			}
			if st := c.Stats(); st.Bypassed != 8 || st.Entries != 0 {
				t.Errorf("Stats %+v, want 8 bypassed, nothing cached", st)
			}
		}},
		{"Put through the cache replaces the entry", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			storagetest.Put(t, c, seg, []byte("first version"))
			first := wantBytes(t, c, seg, []byte("first version"))
			storagetest.Put(t, c, seg, []byte("second, longer version"))
			second := wantBytes(t, c, seg, []byte("second, longer version"))
			if first.ETag == second.ETag {
				t.Fatalf("ETag %q kept after a Put", first.ETag)
			}
			wantBytes(t, c, seg, []byte("second, longer version"))
			if n := b.count(seg); n != 2 {
				t.Fatalf("%d backend Opens, want 2 (one per version)", n)
			}
		}},
		{"Upload and Copy through the cache replace the entry", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			ctx := context.Background()
			storagetest.Put(t, c, seg, []byte("first"))
			wantBytes(t, c, seg, []byte("first"))
			if _, err := c.Upload(ctx, seg, bytes.NewReader([]byte("uploaded"))); err != nil {
				t.Fatal(err)
			}
			wantBytes(t, c, seg, []byte("uploaded"))
			storagetest.Put(t, c, "vod/as_1/720p/2.m4s", []byte("copied"))
			if err := c.Copy(ctx, "vod/as_1/720p/2.m4s", seg); err != nil {
				t.Fatal(err)
			}
			wantBytes(t, c, seg, []byte("copied"))
			if n := b.count(seg); n != 3 {
				t.Fatalf("%d backend Opens, want 3 (one per version)", n)
			}
		}},
		{"Delete and DeletePrefix through the cache drop entries", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			keys := []string{"live/a/s1/720p/1.m4s", "live/a/s1/720p/2.m4s", "live/ab/s1/720p/1.m4s", "vod/x/1.m4s"}
			for _, k := range keys {
				storagetest.Put(t, c, k, []byte(k))
				wantBytes(t, c, k, []byte(k))
			}
			ctx := context.Background()
			if err := c.Delete(ctx, "vod/x/1.m4s"); err != nil {
				t.Fatal(err)
			}
			storagetest.WantMissing(t, c, "vod/x/1.m4s")
			if err := c.DeletePrefix(ctx, "live/a/"); err != nil {
				t.Fatal(err)
			}
			storagetest.WantMissing(t, c, "live/a/s1/720p/1.m4s")
			storagetest.WantMissing(t, c, "live/a/s1/720p/2.m4s")
			wantBytes(t, c, "live/ab/s1/720p/1.m4s", []byte("live/ab/s1/720p/1.m4s"))
			if n := b.count("live/ab/s1/720p/1.m4s"); n != 1 {
				t.Fatalf("the sibling was read %d times from the backend, want 1: DeletePrefix dropped it", n)
			}
		}},
		{"Invalidate drops what other nodes changed", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			other := []byte("the asset next door")
			storagetest.Put(t, c, "vod/as_10/720p/1.m4s", other)
			storagetest.Put(t, c, seg, []byte("old"))
			wantBytes(t, c, seg, []byte("old"))
			wantBytes(t, c, "vod/as_10/720p/1.m4s", other)
			// Another node deletes the asset and a new one is stored
			// under the same key (not through this Store).
			storagetest.Put(t, b.Store, seg, []byte("new"))
			wantBytes(t, c, seg, []byte("old")) // cached: the point of the cache
			c.Invalidate("vod/as_1/")
			wantBytes(t, c, seg, []byte("new"))
			wantBytes(t, c, "vod/as_10/720p/1.m4s", other)
			if n := b.count("vod/as_10/720p/1.m4s"); n != 1 {
				t.Fatalf("vod/as_10 read %d times from the backend, want 1: Invalidate(vod/as_1/) dropped it", n)
			}
			if err := b.Store.Delete(context.Background(), seg); err != nil {
				t.Fatal(err)
			}
			c.Invalidate("")
			storagetest.WantMissing(t, c, seg)
			if n := b.count("vod/as_10/720p/1.m4s"); n != 1 {
				t.Fatalf("vod/as_10 read from the backend before being asked for again")
			}
			wantBytes(t, c, "vod/as_10/720p/1.m4s", other)
			if n := b.count("vod/as_10/720p/1.m4s"); n != 2 {
				t.Fatalf("after Invalidate(\"\") vod/as_10 was read %d times from the backend, want 2", n)
			}
		}},
		{"missing objects are not remembered", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			storagetest.WantMissing(t, c, seg)
			storagetest.Put(t, b.Store, seg, []byte("appeared"))
			wantBytes(t, c, seg, []byte("appeared"))
		}},
		{"objects above the size limit are streamed", readcache.Config{MaxObjectBytes: 1000}, func(t *testing.T, c *readcache.Store, b *counting) {
			big, small := randomBytes(1001, 2), randomBytes(1000, 3)
			storagetest.Put(t, c, "vod/a/big.m4s", big)
			storagetest.Put(t, c, "vod/a/small.m4s", small)
			for range 2 {
				wantBytes(t, c, "vod/a/big.m4s", big)
				wantBytes(t, c, "vod/a/small.m4s", small)
			}
			if nb, ns := b.count("vod/a/big.m4s"), b.count("vod/a/small.m4s"); nb != 2 || ns != 1 {
				t.Fatalf("backend Opens: big %d (want 2), small %d (want 1)", nb, ns)
			}
			if st := c.Stats(); st.Uncacheable != 2 || st.Entries != 1 {
				t.Fatalf("Stats %+v, want 2 uncacheable, 1 entry", st)
			}
		}},
		{"empty objects are cached", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			storagetest.Put(t, c, seg, nil)
			wantBytes(t, c, seg, nil)
			info := wantBytes(t, c, seg, []byte{})
			if info.ETag == "" || b.count(seg) != 1 {
				t.Fatalf("ETag %q, %d backend Opens; want an ETag and 1", info.ETag, b.count(seg))
			}
		}},
		{"a cached object reads the same after its entry is dropped", readcache.Config{}, func(t *testing.T, c *readcache.Store, b *counting) {
			v1 := bytes.Repeat([]byte{'a'}, 50_000)
			storagetest.Put(t, c, seg, v1)
			wantBytes(t, c, seg, v1)
			obj, err := c.Open(context.Background(), seg)
			if err != nil {
				t.Fatal(err)
			}
			defer obj.Close()
			storagetest.Put(t, c, seg, bytes.Repeat([]byte{'b'}, 10))
			got, err := io.ReadAll(obj)
			if err != nil || !bytes.Equal(got, v1) {
				t.Fatalf("the open object reads %d bytes of its version (err %v) after an overwrite", bytes.Count(got, []byte{'a'}), err)
			}
		}},
	}
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					b := newCounting(be.open(t))
					tc.fn(t, readcache.New(b, tc.cfg), b)
				})
			}
		})
	}
}

func sameInfo(a, b storage.Info) bool {
	return a.Key == b.Key && a.Size == b.Size && a.ETag == b.ETag && a.ModTime.Equal(b.ModTime)
}
