package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// uploadSize is larger than two parts of the S3 backend (8 MiB), so a
// multipart upload with a short last part is exercised.
const uploadSize = 20<<20 + 12345

// runUploadCases runs the cases of the streaming capabilities every
// backend must have for VoD sources: storage.Uploader and storage.Copier.
func runUploadCases(t *testing.T, open func(t *testing.T) storage.Store) {
	for _, tc := range []testCase{
		{"UploadLarge", testUploadLarge},
		{"UploadSmallAndEmpty", testUploadSmallAndEmpty},
		{"UploadReaderFails", testUploadReaderFails},
		{"UploadCancelled", testUploadCancelled},
		{"Copy", testCopy},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func uploader(t *testing.T, s storage.Store) storage.Uploader {
	t.Helper()
	u, ok := s.(storage.Uploader)
	if !ok {
		t.Fatalf("%T does not implement storage.Uploader (VoD sources need it)", s)
	}
	return u
}

// stream hides the reader's length (bytes.Reader's Len, WriterTo), as a
// network body would.
type stream struct{ r io.Reader }

func (s stream) Read(p []byte) (int, error) { return s.r.Read(p) }

// failingReader yields n bytes of data, then err (after calling before, if set).
type failingReader struct {
	data   []byte
	n      int
	err    error
	before func()
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		if f.before != nil {
			f.before()
		}
		return 0, f.err
	}
	k := min(len(p), f.n)
	copy(p, f.data[:k])
	f.data, f.n = f.data[k:], f.n-k
	return k, nil
}

func testUploadLarge(t *testing.T, s storage.Store) {
	u := uploader(t, s)
	ctx := context.Background()
	Put(t, s, "sources/a/source", randomBytes(30<<20, 1)) // a longer previous version
	data := randomBytes(uploadSize, 2)
	n, err := u.Upload(ctx, "sources/a/source", stream{bytes.NewReader(data)})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if n != int64(len(data)) {
		t.Errorf("Upload returned %d bytes, want %d", n, len(data))
	}
	got, info := Read(t, s, "sources/a/source")
	if !bytes.Equal(got, data) || info.Size != int64(len(data)) {
		t.Errorf("stored %d bytes (Info.Size %d), equal=%v; want the %d uploaded", len(got), info.Size, bytes.Equal(got, data), len(data))
	}
	if info.ETag == "" {
		t.Error("an uploaded object has no ETag")
	}
}

func testUploadSmallAndEmpty(t *testing.T, s storage.Store) {
	u := uploader(t, s)
	for _, size := range []int{0, 1, 1000} {
		data := randomBytes(size, uint64(size))
		n, err := u.Upload(context.Background(), "sources/b/source", stream{bytes.NewReader(data)})
		if err != nil || n != int64(size) {
			t.Fatalf("Upload of %d bytes = %d, %v", size, n, err)
		}
		wantPresent(t, s, "sources/b/source", data)
	}
}

func testUploadReaderFails(t *testing.T, s storage.Store) {
	u := uploader(t, s)
	boom := errors.New("the client went away")
	for _, at := range []int{100, uploadSize - 100} { // within the first part; after several parts
		Put(t, s, "sources/c/old", []byte("previous"))
		for _, key := range []string{"sources/c/new", "sources/c/old"} {
			r := &failingReader{data: randomBytes(uploadSize, 3), n: at, err: boom}
			if _, err := u.Upload(context.Background(), key, r); !errors.Is(err, boom) {
				t.Errorf("Upload(%q) failing after %d bytes = %v, want an error wrapping the reader's", key, at, err)
			}
		}
		WantMissing(t, s, "sources/c/new")
		wantPresent(t, s, "sources/c/old", []byte("previous"))
	}
}

func testUploadCancelled(t *testing.T, s storage.Store) {
	u := uploader(t, s)
	for _, at := range []int{100, uploadSize - 100} {
		ctx, cancel := context.WithCancel(context.Background())
		// The reader cancels the context, then carries on: the upload
		// must stop on the context alone.
		r := io.MultiReader(&failingReader{data: randomBytes(uploadSize, 4), n: at, err: io.EOF, before: cancel},
			bytes.NewReader(randomBytes(1000, 5)))
		_, err := u.Upload(ctx, "sources/d/source", r)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Upload cancelled after %d bytes = %v, want context.Canceled", at, err)
		}
		WantMissing(t, s, "sources/d/source")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := u.Upload(ctx, "sources/d/source", bytes.NewReader([]byte("x"))); err == nil {
		t.Error("Upload with a cancelled context succeeded")
	}
	WantMissing(t, s, "sources/d/source")
}

func testCopy(t *testing.T, s storage.Store) {
	c, ok := s.(storage.Copier)
	if !ok {
		t.Fatalf("%T does not implement storage.Copier", s)
	}
	ctx := context.Background()
	data := randomBytes(3<<20, 6)
	Put(t, s, "uploads/x y+1", data)
	Put(t, s, "sources/e/source", []byte("previous"))
	if err := c.Copy(ctx, "uploads/x y+1", "sources/e/source"); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	wantPresent(t, s, "sources/e/source", data)
	wantPresent(t, s, "uploads/x y+1", data)
	if err := c.Copy(ctx, "uploads/missing", "sources/f/source"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Copy of a missing key = %v, want ErrNotFound", err)
	}
	WantMissing(t, s, "sources/f/source")
}
