package intake

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// storeCreator reads the files handed to it from the store (File.Key), as
// the real Creator copies them; it fails while err is set.
type storeCreator struct {
	store *s3.Store
	mu    sync.Mutex
	err   error
	got   [][]byte
}

func (c *storeCreator) CreateAsset(ctx context.Context, f File) (catalog.Asset, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return catalog.Asset{}, c.err
	}
	if f.Key == "" || f.Path != "" {
		return catalog.Asset{}, errors.New("a tus upload on S3 must be handed over by key")
	}
	obj, err := c.store.Open(ctx, f.Key)
	if err != nil {
		return catalog.Asset{}, err
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		return catalog.Asset{}, err
	}
	c.got = append(c.got, data)
	return catalog.Asset{ID: "as_s3test" + strconv.Itoa(len(c.got))}, nil
}

func (c *storeCreator) setErr(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func newS3TusServer(t *testing.T, store *s3.Store) (*Service, *storeCreator, tusClient) {
	t.Helper()
	sc := &storeCreator{store: store}
	s, err := New(Config{DataDir: t.TempDir(), MaxSize: 64 << 20, Creator: sc, Storage: store})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	srv := httptest.NewServer(s.Uploads())
	t.Cleanup(srv.Close)
	return s, sc, tusClient{t: t, base: srv.URL}
}

func bucketState(t *testing.T, store *s3.Store) (objects []string, pending int) {
	t.Helper()
	infos, err := store.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		objects = append(objects, i.Key)
	}
	ups, err := store.ListUploads(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	return objects, len(ups)
}

// TestS3TusRetryAndCleanup: on S3 storage a tus upload lives in the bucket;
// a finished upload whose asset could not be created stays complete and
// is handed over by a retry, after which nothing of it is left; DELETE
// removes an unfinished one; the
// janitor leaves recent uploads alone and removes expired ones, unfinished
// (its multipart upload aborted) or finished but never adopted.
func TestS3TusRetryAndCleanup(t *testing.T) {
	srv := s3test.Start(t)
	store := srv.Store(t, "deploy")
	s, sc, c := newS3TusServer(t, store)

	// Creator fails, then a retry hands the upload over.
	sc.setErr(errors.New("catalog down"))
	data := randomBytes(t, 6<<20+7) // more than S3's minimum part size
	loc := c.create(len(data), map[string]string{"filename": "a.mp4"})
	if !s3UploadID.MatchString(loc[len(c.base+UploadsPath):]) {
		t.Fatalf("upload URL %q does not end in an s3store upload ID", loc)
	}
	wantStatus(t, c.patch(loc, 0, data[:1<<20]), http.StatusNoContent, "first MiB")
	wantStatus(t, c.patch(loc, 1<<20, data[1<<20:]), http.StatusInternalServerError, "last PATCH while the Creator fails")
	resp := c.do(http.MethodHead, loc, nil, nil)
	wantStatus(t, resp, http.StatusOK, "HEAD after the failed creation")
	if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(len(data)) {
		t.Fatalf("Upload-Offset %q, want %d", got, len(data))
	}
	sc.setErr(nil)
	resp = c.patch(loc, len(data), nil)
	wantStatus(t, resp, http.StatusNoContent, "retry")
	if resp.Header.Get(AssetIDHeader) != "as_s3test1" || len(sc.got) != 1 || string(sc.got[0]) != string(data) {
		t.Fatalf("retry: asset %q, %d files handed over", resp.Header.Get(AssetIDHeader), len(sc.got))
	}
	if objects, pending := bucketState(t, store); len(objects) > 0 || pending > 0 {
		t.Fatalf("after the hand-over the bucket holds %v and %d multipart uploads", objects, pending)
	}
	wantStatus(t, c.do(http.MethodHead, loc, nil, nil), http.StatusNotFound, "HEAD after the hand-over")

	// Termination (DELETE) removes an unfinished upload from the bucket.
	gone := c.create(len(data), map[string]string{"filename": "d.mp4"})
	wantStatus(t, c.patch(gone, 0, data[:100<<10]), http.StatusNoContent, "a chunk before DELETE")
	wantStatus(t, c.do(http.MethodDelete, gone, nil, nil), http.StatusNoContent, "DELETE")
	if objects, pending := bucketState(t, store); len(objects) > 0 || pending > 0 {
		t.Fatalf("after DELETE the bucket holds %v and %d multipart uploads", objects, pending)
	}

	// An unfinished upload and a finished one never adopted.
	unfinished := c.create(len(data), map[string]string{"filename": "b.mp4"})
	wantStatus(t, c.patch(unfinished, 0, data[:100<<10]), http.StatusNoContent, "a first chunk")
	sc.setErr(errors.New("catalog down"))
	orphan := c.create(4, map[string]string{"filename": "c.mp4"})
	wantStatus(t, c.patch(orphan, 0, []byte("abcd")), http.StatusInternalServerError, "finished, not adopted")
	if objects, pending := bucketState(t, store); len(objects) == 0 || pending != 1 {
		t.Fatalf("before the janitor the bucket holds %v and %d multipart uploads, want objects and 1", objects, pending)
	}

	if n := s.CleanUploads(time.Now()); n != 0 {
		t.Errorf("the janitor removed %d recent uploads", n)
	}
	wantStatus(t, c.do(http.MethodHead, unfinished, nil, nil), http.StatusOK, "HEAD of a recent upload after the janitor")
	if n := s.CleanUploads(time.Now().Add(DefaultUploadExpiry + time.Hour)); n != 2 {
		t.Errorf("the janitor removed %d expired uploads, want 2", n)
	}
	if objects, pending := bucketState(t, store); len(objects) > 0 || pending > 0 {
		t.Errorf("after the janitor the bucket holds %v and %d multipart uploads", objects, pending)
	}
	wantStatus(t, c.do(http.MethodHead, unfinished, nil, nil), http.StatusNotFound, "HEAD of an expired upload")
}

// TestS3TusAcrossNodes: an upload whose first request stored a whole S3
// part and a partial tail (.part) through one service is resumed through
// a second one with its own data folder and S3 client, and handed over
// complete.
func TestS3TusAcrossNodes(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	storeA, err := s3.New(t.Context(), srv.Config(bucket))
	if err != nil {
		t.Fatal(err)
	}
	storeB, err := s3.New(t.Context(), srv.Config(bucket))
	if err != nil {
		t.Fatal(err)
	}
	_, _, nodeA := newS3TusServer(t, storeA)
	_, created, nodeB := newS3TusServer(t, storeB)
	data := randomBytes(t, 12<<20+3)
	first := s3.DefaultPartSize + 1<<20

	loc := nodeA.create(len(data), map[string]string{"filename": "big.mp4"})
	path := loc[len(nodeA.base):]
	wantStatus(t, nodeA.patch(path, 0, data[:first]), http.StatusNoContent, "first request on node A")
	ups, err := storeA.ListUploads(t.Context(), "")
	if err != nil || len(ups) != 1 {
		t.Fatalf("multipart uploads in the bucket: %+v, %v; want 1", ups, err)
	}
	if last, err := storeA.LastPartTime(t.Context(), ups[0].Key, ups[0].UploadID); err != nil || last.IsZero() {
		t.Fatalf("no S3 part stored by the first request (%v, %v)", last, err)
	}
	resp := nodeB.do(http.MethodHead, path, nil, nil)
	wantStatus(t, resp, http.StatusOK, "HEAD on node B")
	if got := resp.Header.Get("Upload-Offset"); got != strconv.Itoa(first) {
		t.Fatalf("node B sees offset %q, want %d", got, first)
	}
	resp = nodeB.patch(path, first, data[first:])
	wantStatus(t, resp, http.StatusNoContent, "the rest on node B")
	if resp.Header.Get(AssetIDHeader) == "" || len(created.got) != 1 || string(created.got[0]) != string(data) {
		t.Fatalf("node B handed over %d files (asset %q)", len(created.got), resp.Header.Get(AssetIDHeader))
	}
	if objects, pending := bucketState(t, storeA); len(objects) > 0 || pending > 0 {
		t.Errorf("after the hand-over the bucket holds %v and %d multipart uploads", objects, pending)
	}
}
