package vod

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/jobs"
	"github.com/ospreyvideo/osprey/internal/storage/s3"
	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// s3Env is a pipeline stack on a fresh bucket of a real S3 server.
func s3Env(t *testing.T, srv *s3test.Server, bucket string, opt envOptions) (*env, *s3.Store) {
	t.Helper()
	store, err := s3.New(t.Context(), srv.Config(bucket))
	if err != nil {
		t.Fatal(err)
	}
	opt.store = store
	return newEnv(t, opt), store
}

// keys lists the bucket's keys under prefix.
func keys(t *testing.T, store *s3.Store, prefix string) []string {
	t.Helper()
	infos, err := store.List(t.Context(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}

// wantNoPendingUploads fails unless the bucket has no multipart upload left.
func wantNoPendingUploads(t *testing.T, store *s3.Store) {
	t.Helper()
	ups, err := store.ListUploads(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) > 0 {
		t.Errorf("multipart uploads left in the bucket: %+v", ups)
	}
}

// scratchFiles lists the files of the scratch folder for sources.
func (e *env) scratchFiles() []string {
	e.t.Helper()
	return filesIn(e.t, filepath.Join(e.dir, "tmp", "sources"))
}

// TestS3AssetReadyThenDeleted runs an asset through the real pipeline on
// S3 storage: the source is streamed into the bucket, the job works on a
// scratch copy that is gone afterwards, outputs land in the bucket, and
// Delete leaves no object of the asset.
func TestS3AssetReadyThenDeleted(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	e, store := s3Env(t, srv, bucket, envOptions{})
	e.start()
	src := makeClip(t, t.TempDir(), "clip.mp4", 3)
	original, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	a := e.create(src)
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the uploaded file is still on local disk (stat: %v)", err)
	}
	if got := e.object(sourceKey(a.ID)); !bytes.Equal(got, original) {
		t.Errorf("the source in the bucket is %d bytes, not the %d uploaded", len(got), len(original))
	}
	done := e.waitDone(a.ID)
	if done.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", done.Status, done.Error)
	}
	outputs := keys(t, store, Prefix(a.ID)+"/")
	for _, want := range []string{"index.m3u8", "manifest.mpd", "vod.json", "thumbs/thumbnails.vtt", done.Output.Poster} {
		if !slices.Contains(outputs, Prefix(a.ID)+"/"+want) {
			t.Errorf("%s is not in the bucket; outputs: %v", want, outputs)
		}
	}
	if !slices.ContainsFunc(outputs, func(k string) bool { return strings.HasSuffix(k, ".m4s") }) {
		t.Errorf("no media segment in the bucket: %v", outputs)
	}
	e.waitJob(done.JobID, "completed")
	if got := e.scratchFiles(); len(got) > 0 {
		t.Errorf("scratch copies left after success: %v", got)
	}
	if _, err := e.svc.AddSubtitle(e.ctx, a.ID, catalog.AssetSubtitle{Language: "en"}, []byte("WEBVTT\n")); err != nil {
		t.Fatal(err)
	}

	if err := e.svc.Delete(e.ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if left := keys(t, store, ""); len(left) > 0 {
		t.Errorf("objects left in the bucket after Delete: %v", left)
	}
	wantNoPendingUploads(t, store)
}

// TestS3FailureAndScratch: a file that is not media fails with its reason
// and leaves no scratch copy; a source larger than the scratch limit fails
// with a reason saying so; New empties the scratch folder (kill -9).
func TestS3FailureAndScratch(t *testing.T) {
	srv := s3test.Start(t)
	e, store := s3Env(t, srv, srv.NewBucket(t), envOptions{scratchLimit: 64 << 10})
	e.start()
	dir := t.TempDir()
	junk := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a video "), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	a := e.waitDone(e.create(junk).ID)
	if a.Status != catalog.AssetFailed || !strings.Contains(a.Error, "not a video") {
		t.Errorf("junk: status %s, error %q", a.Status, a.Error)
	}
	if got := e.scratchFiles(); len(got) > 0 {
		t.Errorf("scratch copies left after a failure: %v", got)
	}
	big := e.waitDone(e.create(makeClip(t, dir, "big.mp4", 4)).ID)
	if big.Status != catalog.AssetFailed || !strings.Contains(big.Error, "larger than the scratch space") {
		t.Errorf("a source over the scratch limit: status %s, error %q", big.Status, big.Error)
	}
	if got := e.scratchFiles(); len(got) > 0 {
		t.Errorf("scratch copies left after a refusal: %v", got)
	}
	if left := keys(t, store, Prefix(a.ID)+"/"); len(left) > 0 {
		t.Errorf("outputs of a failed asset left: %v", left)
	}

	// A copy a crash left behind is gone when the service starts again.
	crashed := filepath.Join(e.dir, "tmp", "sources", "as_crashed-1.source")
	touch(t, crashed)
	queue, err := jobs.OpenSQLite(e.ctx, e.cat.DB(), jobs.Config{}, nil) // not started
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Catalog: e.cat, Storage: store, Queue: queue, TempDir: filepath.Join(e.dir, "tmp")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(crashed); !os.IsNotExist(err) {
		t.Errorf("New left the scratch copy of a crashed attempt (stat: %v)", err)
	}
}

// tusRequest sends one tus 1.0 request.
func tusRequest(t *testing.T, method, url string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// TestS3TusAcrossNodes: a tus upload begun through one intake service is
// finished through a second one (two nodes: separate data folders, one
// bucket), becomes an asset that gets ready, and leaves nothing under
// uploads/ in the bucket.
func TestS3TusAcrossNodes(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	e, store := s3Env(t, srv, bucket, envOptions{})
	e.start()
	node := func() string {
		st, err := s3.New(t.Context(), srv.Config(bucket)) // each node has its own client
		if err != nil {
			t.Fatal(err)
		}
		in, err := intake.New(intake.Config{DataDir: t.TempDir(), Storage: st, Creator: e.svc})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = in.Close() })
		hs := httptest.NewServer(in.Uploads())
		t.Cleanup(hs.Close)
		return hs.URL
	}
	a, b := node(), node()
	data, err := os.ReadFile(makeClip(t, t.TempDir(), "trip.mp4", 3))
	if err != nil {
		t.Fatal(err)
	}

	resp := tusRequest(t, http.MethodPost, a+intake.UploadsPath, nil, map[string]string{
		"Upload-Length":   strconv.Itoa(len(data)),
		"Upload-Metadata": "filename " + base64.StdEncoding.EncodeToString([]byte("trip.mp4")),
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creation on node A: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	path := loc[strings.Index(loc, intake.UploadsPath):]
	half := len(data) / 2
	patch := func(base string, off int, chunk []byte) *http.Response {
		return tusRequest(t, http.MethodPatch, base+path, chunk, map[string]string{
			"Upload-Offset": strconv.Itoa(off), "Content-Type": "application/offset+octet-stream",
		})
	}
	if resp := patch(a, 0, data[:half]); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first half on node A: %d", resp.StatusCode)
	}
	head := tusRequest(t, http.MethodHead, b+path, nil, nil)
	if head.StatusCode != http.StatusOK || head.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("HEAD on node B: %d, offset %q, want 200 and %d", head.StatusCode, head.Header.Get("Upload-Offset"), half)
	}
	resp = patch(b, half, data[half:])
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second half on node B: %d", resp.StatusCode)
	}
	id := resp.Header.Get(intake.AssetIDHeader)
	if id == "" {
		t.Fatal("the finishing PATCH has no asset ID")
	}
	asset := e.waitDone(id)
	if asset.Status != catalog.AssetReady || asset.Source.Filename != "trip.mp4" || asset.Source.Origin != "tus" {
		t.Fatalf("asset: status %s, error %q, source %+v", asset.Status, asset.Error, asset.Source)
	}
	if got := e.object(sourceKey(id)); !bytes.Equal(got, data) {
		t.Errorf("the source is %d bytes, not the %d uploaded", len(got), len(data))
	}
	if left := keys(t, store, "uploads/"); len(left) > 0 {
		t.Errorf("the finished upload is still in the bucket: %v", left)
	}
	wantNoPendingUploads(t, store)
	if resp := tusRequest(t, http.MethodHead, a+path, nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of the finished upload: %d, want 404", resp.StatusCode)
	}
	if err := e.svc.Delete(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	if left := keys(t, store, ""); len(left) > 0 {
		t.Errorf("objects left after Delete: %v", left)
	}
}
