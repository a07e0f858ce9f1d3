package storagetest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// modTimeSlack allows for backends that keep whole seconds (S3's
// Last-Modified) and for a server clock slightly off the test's.
const modTimeSlack = 3 * time.Second

func testPutOpen(t *testing.T, s storage.Store) {
	const key = "live/ch_1/720p/42.m4s"
	data := randomBytes(100_000, 1)
	before := time.Now()
	Put(t, s, key, data)
	after := time.Now()

	got, info := Read(t, s, key)
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes that differ from the %d stored", len(got), len(data))
	}
	if info.Key != key {
		t.Errorf("Info().Key = %q, want %q", info.Key, key)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Info().Size = %d, want %d", info.Size, len(data))
	}
	if info.ETag == "" || strings.ContainsRune(info.ETag, '"') {
		t.Errorf("Info().ETag = %q, want a non-empty tag without quotes", info.ETag)
	}
	if info.ModTime.Before(before.Add(-modTimeSlack)) || info.ModTime.After(after.Add(modTimeSlack)) {
		t.Errorf("Info().ModTime = %v, want about %v", info.ModTime, before)
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	const key = "live/ch_1/720p/index.m3u8"
	long := bytes.Repeat([]byte("first version\n"), 1000)
	short := []byte("#EXTM3U\nsecond\n")
	Put(t, s, key, long)
	_, first := Read(t, s, key)

	Put(t, s, key, short)
	got, second := Read(t, s, key)
	if !bytes.Equal(got, short) {
		t.Errorf("after overwrite read %d bytes %.30q, want %q", len(got), got, short)
	}
	if second.Size != int64(len(short)) {
		t.Errorf("Info().Size = %d after overwrite, want %d", second.Size, len(short))
	}
	if second.ETag == first.ETag {
		t.Errorf("ETag %q unchanged by an overwrite with different bytes", first.ETag)
	}
}

func testBufferNotKept(t *testing.T, s storage.Store) {
	const key = "vod/as_1/720p/init.mp4"
	buf := randomBytes(64<<10, 2)
	want := bytes.Clone(buf)
	Put(t, s, key, buf)
	for i := range buf {
		buf[i] ^= 0xff
	}
	wantPresent(t, s, key, want)
}

func testEmpty(t *testing.T, s storage.Store) {
	const key = "live/ch_1/empty"
	for _, data := range [][]byte{nil, {}} {
		Put(t, s, key, data)
		got, info := Read(t, s, key)
		if len(got) != 0 || info.Size != 0 {
			t.Errorf("empty object read as %d bytes, Info().Size %d", len(got), info.Size)
		}
		if info.ETag == "" {
			t.Error("empty object has no ETag")
		}
	}
}

func testLarge(t *testing.T, s storage.Store) {
	const key = "vod/as_1/source"
	data := randomBytes(8<<20, 3)
	Put(t, s, key, data)
	got, info := Read(t, s, key)
	if info.Size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("8 MiB object read as %d bytes (Info().Size %d), equal: %v",
			len(got), info.Size, bytes.Equal(got, data))
	}
}

func testOpenMissing(t *testing.T, s storage.Store) {
	WantMissing(t, s, "live/none/index.m3u8")
	Put(t, s, "live/ch_1/720p/1.m4s", []byte("x"))
	WantMissing(t, s, "live/ch_1/720p") // a prefix of a key holds no object
	WantMissing(t, s, "live/ch_1/720p/1.m4")
}

func testDeleteMissing(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.Delete(ctx, "live/none/1.m4s"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
	Put(t, s, "live/ch_1/720p/1.m4s", []byte("segment"))
	if err := s.Delete(ctx, "live/ch_1/720p"); err != nil {
		t.Errorf("Delete of a key that is only a prefix: %v", err)
	}
	wantPresent(t, s, "live/ch_1/720p/1.m4s", []byte("segment"))
}

func testDeleteThenOpen(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const key = "live/ch_1/720p/7.m4s"
	Put(t, s, key, []byte("segment 7"))
	Put(t, s, "live/ch_1/720p/8.m4s", []byte("segment 8"))
	for i := range 2 {
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
		WantMissing(t, s, key)
	}
	wantPresent(t, s, "live/ch_1/720p/8.m4s", []byte("segment 8"))
}

func testNestedKeys(t *testing.T, s storage.Store) {
	keys := []string{
		"top",
		"vod/as_1/index.m3u8",
		"vod/as_1/1080p/index.m3u8",
		"vod/as_1/1080p/seg/00001.m4s",
		"vod/as_1/1080p/seg/deeper/still/00002.m4s",
	}
	for _, k := range keys {
		Put(t, s, k, []byte("content of "+k))
	}
	for _, k := range keys {
		got, info := Read(t, s, k)
		if string(got) != "content of "+k || info.Key != k {
			t.Errorf("%q read %q with Info().Key %q", k, got, info.Key)
		}
	}
}

func testCancelledPut(t *testing.T, s storage.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const key = "live/ch_1/720p/9.m4s"
	if err := s.Put(ctx, key, []byte("never")); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	WantMissing(t, s, key)
}

func testEmptyKey(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if err := s.Put(ctx, "", []byte("x")); err == nil {
		t.Error(`Put("") succeeded`)
	}
	if obj, err := s.Open(ctx, ""); err == nil {
		_ = obj.Close()
		t.Error(`Open("") succeeded`)
	}
}
