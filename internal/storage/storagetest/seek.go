package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

func testSeek(t *testing.T, s storage.Store) {
	const key = "vod/as_1/720p/3.m4s"
	data := randomBytes(10_000, 4)
	Put(t, s, key, data)
	obj := open(t, s, key)

	// Steps run in order on one Object; read < 0 reads to the end.
	steps := []struct {
		name    string
		offset  int64
		whence  int
		wantPos int64
		read    int
	}{
		{"start", 100, io.SeekStart, 100, 50},
		{"current forward", 25, io.SeekCurrent, 175, 25},
		{"current backward", -75, io.SeekCurrent, 125, 10},
		{"end", -10, io.SeekEnd, 9990, -1},
		{"size probe", 0, io.SeekEnd, 10_000, -1},
		{"rewind", 0, io.SeekStart, 0, -1},
		{"middle after EOF", 5000, io.SeekStart, 5000, 100},
		{"past the end", 20_000, io.SeekStart, 20_000, -1},
	}
	for _, st := range steps {
		pos, err := obj.Seek(st.offset, st.whence)
		if err != nil || pos != st.wantPos {
			t.Fatalf("%s: Seek(%d, %d) = %d, %v; want %d", st.name, st.offset, st.whence, pos, err, st.wantPos)
		}
		var got []byte
		if st.read < 0 {
			got, err = io.ReadAll(obj)
		} else {
			got = make([]byte, st.read)
			_, err = io.ReadFull(obj, got)
		}
		if err != nil {
			t.Fatalf("%s: reading after Seek: %v", st.name, err)
		}
		end := min(int64(len(data)), pos+int64(len(got)))
		want := data[min(pos, end):end]
		if st.read < 0 && end != int64(len(data)) {
			t.Fatalf("%s: read to %d, want the end %d", st.name, end, len(data))
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: read %d bytes at %d that differ from the object", st.name, len(got), pos)
		}
	}
	if pos, err := obj.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek(-1, SeekStart) = %d, nil; want an error", pos)
	}
}

// testServeContentRange serves an Object the way the origin does, so the
// Seek and Read calls are exactly those of Range requests.
func testServeContentRange(t *testing.T, s storage.Store) {
	const key = "vod/as_1/720p/4.m4s"
	data := randomBytes(10_000, 5)
	Put(t, s, key, data)
	tests := []struct {
		rng    string
		status int
		want   []byte
	}{
		{"", http.StatusOK, data},
		{"bytes=100-199", http.StatusPartialContent, data[100:200]},
		{"bytes=-50", http.StatusPartialContent, data[9950:]},
		{"bytes=9990-", http.StatusPartialContent, data[9990:]},
		{"bytes=0-0", http.StatusPartialContent, data[:1]},
		{"bytes=20000-", http.StatusRequestedRangeNotSatisfiable, nil},
	}
	for _, tc := range tests {
		obj, err := s.Open(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/"+key, nil)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		rec := httptest.NewRecorder()
		http.ServeContent(rec, req, "", obj.Info().ModTime, obj)
		_ = obj.Close()
		if rec.Code != tc.status {
			t.Errorf("Range %q: status %d, want %d", tc.rng, rec.Code, tc.status)
			continue
		}
		if tc.want != nil && !bytes.Equal(rec.Body.Bytes(), tc.want) {
			t.Errorf("Range %q: body of %d bytes differs from the %d expected", tc.rng, rec.Body.Len(), len(tc.want))
		}
	}
}

// testOpenThenOverwrite: an Object opened before an overwrite reads the
// version it opened, or fails; it never returns bytes of the new version,
// whether it keeps reading or seeks elsewhere first.
func testOpenThenOverwrite(t *testing.T, s storage.Store) {
	const key = "live/ch_1/720p/index.m3u8"
	v1 := bytes.Repeat([]byte{'a'}, 64<<10)
	v2 := bytes.Repeat([]byte{'b'}, 32<<10)
	for _, seekTo := range []int64{-1, 1000} {
		Put(t, s, key, v1)
		obj := open(t, s, key)
		head := make([]byte, 10)
		if _, err := io.ReadFull(obj, head); err != nil {
			t.Fatalf("reading before the overwrite: %v", err)
		}
		Put(t, s, key, v2)
		from := int64(len(head))
		if seekTo >= 0 {
			if _, err := obj.Seek(seekTo, io.SeekStart); err != nil {
				t.Fatalf("Seek after the overwrite: %v", err)
			}
			from = seekTo
		}
		rest, err := io.ReadAll(obj)
		if n := bytes.Count(rest, []byte{'a'}); n != len(rest) {
			t.Fatalf("seek %d: read %d bytes of the new version through an Object opened before it", seekTo, len(rest)-n)
		}
		if err == nil && int64(len(rest)) != int64(len(v1))-from {
			t.Fatalf("seek %d: read %d bytes without error, want the %d left of the opened version", seekTo, len(rest), int64(len(v1))-from)
		}
		if errors.Is(err, io.EOF) {
			t.Fatalf("seek %d: ReadAll returned io.EOF as an error", seekTo)
		}
		if err != nil {
			t.Logf("seek %d: reading after the overwrite failed (allowed): %v", seekTo, err)
		}
		_ = obj.Close()
	}
}
