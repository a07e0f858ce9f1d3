package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// asset runs `osprey asset args...` against s with the right token.
func (s *tusServer) asset(ctx context.Context, args ...string) result {
	return run(Options{Context: ctx}, append([]string{"asset", "--server", s.url, "--token", adminToken, "--data", "/nonexistent"}, args...)...)
}

// uploadEnv points the resume records at a fresh cache directory and makes
// a file of random bytes; it returns the file and the records' path.
func uploadEnv(t *testing.T, size int) (file string, records string, data []byte) {
	t.Helper()
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	data = make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), 7))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	file = filepath.Join(t.TempDir(), "holiday clip.mp4")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return file, filepath.Join(cache, "osprey", "uploads.json"), data
}

// savedUploads reads the resume records.
func savedUploads(t *testing.T, path string) map[string]resumeRecord {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var f resumeFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("resume records: %v\n%s", err, b)
	}
	return f.Uploads
}

const mib = 1 << 20

func TestAssetUpload(t *testing.T) {
	s := newTusServer(t)
	file, records, data := uploadEnv(t, 5*mib+12345)

	r := s.asset(context.Background(), "upload", file, "--title", "Été à Paris", "--chunk-size", "1")
	if r.code != 0 || r.stdout != "as_test1\n" {
		t.Fatalf("upload: %+v", r)
	}
	s.check(t)
	if got := s.uploadedData(t, "as_test1"); !bytes.Equal(got, data) {
		t.Fatalf("the server has %d bytes that differ from the file's %d", len(got), len(data))
	}
	created, received := s.stats()
	if created != 1 || received != int64(len(data)) {
		t.Errorf("%d uploads created, %d bytes received; want 1 and %d", created, received, len(data))
	}
	for _, p := range s.patchLogs() {
		if p.received > mib {
			t.Errorf("a PATCH of %d bytes, more than --chunk-size 1 (MiB)", p.received)
		}
	}
	up := s.upload("up1")
	if up.meta["filename"] != "holiday clip.mp4" || up.meta["title"] != "Été à Paris" {
		t.Errorf("Upload-Metadata: %v", up.meta)
	}
	// Not a terminal: a progress line per 10 %, ending at 100 %.
	lines := strings.Count(r.stderr, "uploaded ")
	if lines < 5 || lines > 12 || !strings.Contains(r.stderr, "uploaded 100%: 5.3 MB of 5.3 MB") {
		t.Errorf("progress lines (%d):\n%s", lines, r.stderr)
	}
	if !strings.Contains(r.stderr, "Uploaded holiday clip.mp4 (5.3 MB) as asset as_test1.") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if recs := savedUploads(t, records); len(recs) != 0 {
		t.Errorf("resume records left after completion: %v", recs)
	}
}

// A killed upload (its context cancelled mid-PATCH) resumes from the
// server's offset on the next run, without sending any byte twice.
func TestAssetUploadResumesAfterInterruption(t *testing.T) {
	s := newTusServer(t)
	file, records, data := uploadEnv(t, 6*mib+777)

	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	s.duringPatch = func(_ *fakeUpload, offset int64) bool {
		if offset >= 2*mib+mib/2 {
			kill()
		}
		return false
	}
	r := s.asset(ctx, "upload", file, "--chunk-size", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "upload interrupted") || !strings.Contains(r.stderr, "run the same command again to resume") {
		t.Fatalf("interrupted upload: %+v", r)
	}
	recs := savedUploads(t, records)
	if len(recs) != 1 {
		t.Fatalf("resume records after the interruption: %v", recs)
	}
	for _, rec := range recs {
		if rec.URL != s.url+"/api/v1/uploads/up1" || rec.Size != int64(len(data)) || !filepath.IsAbs(rec.Path) {
			t.Errorf("resume record %+v", rec)
		}
	}
	// What the server holds once the broken PATCH is over.
	up := s.upload("up1")
	up.lock.Lock()
	acked := int64(len(up.data))
	up.lock.Unlock()
	if acked < 2*mib || acked >= int64(len(data)) {
		t.Fatalf("the server has %d bytes after the interruption", acked)
	}
	firstRun := len(s.patchLogs())

	s.duringPatch = nil
	r = s.asset(context.Background(), "upload", file, "--chunk-size", "1")
	if r.code != 0 || r.stdout != "as_test1\n" {
		t.Fatalf("resumed upload: %+v", r)
	}
	if !strings.Contains(r.stderr, "Resuming the upload at") {
		t.Errorf("stderr does not say it resumes:\n%s", r.stderr)
	}
	s.check(t)
	if got := s.uploadedData(t, "as_test1"); !bytes.Equal(got, data) {
		t.Fatal("the uploaded bytes differ from the file")
	}
	created, received := s.stats()
	if created != 1 {
		t.Errorf("%d uploads created, want 1", created)
	}
	if received != int64(len(data)) {
		t.Errorf("the server received %d bytes for a file of %d: some were sent twice", received, len(data))
	}
	if p := s.patchLogs()[firstRun]; p.offset != acked {
		t.Errorf("the second run's first PATCH is at %d, the server had %d", p.offset, acked)
	}
	if recs := savedUploads(t, records); len(recs) != 0 {
		t.Errorf("resume records left: %v", recs)
	}
}

// A connection the server drops mid-PATCH is resumed within the same run.
func TestAssetUploadSurvivesDroppedConnection(t *testing.T) {
	s := newTusServer(t)
	file, _, data := uploadEnv(t, 3*mib+5)
	dropped := 0
	s.duringPatch = func(_ *fakeUpload, offset int64) bool {
		if dropped == 0 && offset >= mib+mib/3 {
			dropped++
			return true
		}
		return false
	}
	r := s.asset(context.Background(), "upload", file, "--chunk-size", "1")
	if r.code != 0 || r.stdout != "as_test1\n" {
		t.Fatalf("upload: %+v", r)
	}
	if dropped != 1 || !strings.Contains(r.stderr, "retrying in") {
		t.Errorf("dropped %d connections; stderr:\n%s", dropped, r.stderr)
	}
	s.check(t)
	if got := s.uploadedData(t, "as_test1"); !bytes.Equal(got, data) {
		t.Fatal("the uploaded bytes differ from the file")
	}
	if _, received := s.stats(); received != int64(len(data)) {
		t.Errorf("the server received %d bytes for a file of %d", received, len(data))
	}
}

// An upload the server forgot (404 for the saved URL) starts over.
func TestAssetUploadStartsOverWhenTheServerForgot(t *testing.T) {
	s := newTusServer(t)
	file, records, data := uploadEnv(t, 2*mib+3)
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	s.duringPatch = func(_ *fakeUpload, offset int64) bool {
		if offset >= mib {
			kill()
		}
		return false
	}
	if r := s.asset(ctx, "upload", file, "--chunk-size", "1"); r.code != 1 {
		t.Fatalf("interrupted upload: %+v", r)
	}
	s.duringPatch = nil
	up := s.upload("up1")
	up.lock.Lock() // held by the broken PATCH until it has finished
	kept := len(up.data)
	up.lock.Unlock()
	if kept < mib {
		t.Fatalf("the server kept %d bytes of the interrupted upload, want at least %d", kept, mib)
	}
	s.mu.Lock()
	delete(s.uploads, "up1") // expired
	s.mu.Unlock()

	r := s.asset(context.Background(), "upload", file, "--chunk-size", "1")
	if r.code != 0 || r.stdout != "as_test1\n" {
		t.Fatalf("upload after expiry: %+v", r)
	}
	if !strings.Contains(r.stderr, "no longer has the earlier, unfinished upload") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if created, _ := s.stats(); created != 2 {
		t.Errorf("%d uploads created, want 2", created)
	}
	if got := s.uploadedData(t, "as_test1"); !bytes.Equal(got, data) {
		t.Fatal("the uploaded bytes differ from the file")
	}
	if s.upload("up2").assetID != "as_test1" {
		t.Errorf("the asset did not come from the new upload")
	}
	if recs := savedUploads(t, records); len(recs) != 0 {
		t.Errorf("resume records left: %v", recs)
	}
	s.check(t)
}

// An upload that completed although its last answer was lost is not sent
// again: the asset is found by its upload ID.
func TestAssetUploadAlreadyComplete(t *testing.T) {
	s := newTusServer(t)
	file, records, data := uploadEnv(t, mib+1)
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	// The last PATCH is stored, then the client is killed before the answer.
	s.duringPatch = func(up *fakeUpload, offset int64) bool {
		if offset == up.length {
			kill()
			up.assetID = s.addAsset(up)
			return true
		}
		return false
	}
	if r := s.asset(ctx, "upload", file, "--chunk-size", "1"); r.code != 1 {
		t.Fatalf("interrupted upload: %+v", r)
	}
	s.duringPatch = nil
	s.mu.Lock()
	delete(s.uploads, "up1") // completed uploads turn into assets
	s.mu.Unlock()

	r := s.asset(context.Background(), "upload", file)
	if r.code != 0 || r.stdout != "as_test1\n" || !strings.Contains(r.stderr, "uploaded already, as asset as_test1") {
		t.Fatalf("second run: %+v", r)
	}
	if created, received := s.stats(); created != 1 || received != int64(len(data)) {
		t.Errorf("%d uploads, %d bytes received; want 1 and %d", created, received, len(data))
	}
	if recs := savedUploads(t, records); len(recs) != 0 {
		t.Errorf("resume records left: %v", recs)
	}
}

func TestAssetUploadFindsAssetWithoutHeader(t *testing.T) {
	s := newTusServer(t)
	s.noAssetHeader = true
	file, _, _ := uploadEnv(t, 1000)
	r := s.asset(context.Background(), "upload", file)
	if r.code != 0 || r.stdout != "as_test1\n" {
		t.Fatalf("upload: %+v", r)
	}
}

func TestAssetUploadWait(t *testing.T) {
	tests := []struct {
		name     string
		statuses []string
		code     int
		stdout   string
		stderr   []string
	}{
		{"ready", []string{"queued", "processing", "ready"}, 0, "as_test1\n",
			[]string{"queued 0%", "processing transcode 40%", "Asset as_test1 is ready. Watch it at http://"}},
		{"failed", []string{"processing", "failed"}, 1, "",
			[]string{"processing transcode 40%", "osprey: error: asset as_test1: processing failed: the file holds no audio or video stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTusServer(t)
			s.statuses = tt.statuses
			file, _, _ := uploadEnv(t, 1000)
			r := s.asset(context.Background(), "upload", file, "--wait", "--poll-interval", "100ms")
			if r.code != tt.code || r.stdout != tt.stdout {
				t.Fatalf("got %+v; want exit %d", r, tt.code)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
}

func TestAssetUploadJSON(t *testing.T) {
	s := newTusServer(t)
	file, _, _ := uploadEnv(t, 1000)
	r := s.asset(context.Background(), "upload", file, "--json")
	var a assetView
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || r.code != 0 || a.ID != "as_test1" || a.Source.Size != 1000 {
		t.Fatalf("upload --json: %+v (%v)", r, err)
	}
}

func TestAssetUploadUsageErrors(t *testing.T) {
	s := newTusServer(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.mp4")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", dir)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"upload", filepath.Join(dir, "missing.mp4")}, "missing.mp4"},
		{[]string{"upload", empty}, "empty.mp4 is empty"},
		{[]string{"upload", empty, "--chunk-size", "0"}, "--chunk-size must be 1 to 1024 MiB"},
		{[]string{"list", "--limit", "0"}, "--limit must be at least 1"},
		{[]string{"list", "--status", "done"}, "--status"},
	}
	for _, tt := range tests {
		r := s.asset(context.Background(), tt.args...)
		if r.code != ExitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: got %+v; want exit 2 and %q", tt.args, r, tt.want)
		}
	}
	if created, _ := s.stats(); created != 0 {
		t.Errorf("%d uploads created by invalid commands", created)
	}
}

func TestAssetToken(t *testing.T) {
	s := newTusServer(t)
	file, _, _ := uploadEnv(t, 1000)
	emptyData := t.TempDir()
	for _, args := range [][]string{{"upload", file}, {"list"}, {"get", "as_x"}, {"delete", "as_x"}} {
		r := run(Options{}, append([]string{"asset", "--server", s.url, "--token", "", "--data", emptyData}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "the server requires the admin token: no admin token given and none found in "+emptyData) {
			t.Errorf("%v without a token: %+v", args, r)
		}
		r = run(Options{}, append([]string{"asset", "--server", s.url, "--token", "osp_wrong"}, args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "refused the admin token (401") {
			t.Errorf("%v with a wrong token: %+v", args, r)
		}
	}
	if created, _ := s.stats(); created != 0 {
		t.Errorf("%d uploads created without a valid token", created)
	}
}

func TestAssetListGetDelete(t *testing.T) {
	t.Parallel()
	s := newTusServer(t)
	for i, st := range []string{"ready", "processing", "failed"} {
		id := s.addAsset(&fakeUpload{id: "u", length: int64(1e6 * (i + 1)), meta: map[string]string{"filename": st + ".mp4"}})
		a := s.assets[id]
		a.Status = st
		switch st {
		case "ready":
			a.Duration, a.Progress = 3725, 100
			a.Playback = map[string]any{"hls": "http://x/vod/" + id + "/index.m3u8", "player": "http://x/watch/vod/" + id}
		case "processing":
			a.Stage, a.Progress = "transcode", 42
		case "failed":
			a.Error = "not a video"
		}
	}
	ctx := context.Background()

	r := s.asset(ctx, "list")
	for _, re := range []string{
		`(?m)^ID\s+TITLE\s+STATUS\s+DURATION\s+CREATED$`,
		`(?m)^as_test1\s+ready\.mp4\s+ready\s+1:02:05\s+2025-06-07 `,
		`(?m)^as_test2\s+processing\.mp4\s+processing 42% \(transcode\)\s+-\s+`,
		`(?m)^as_test3\s+failed\.mp4\s+failed: not a video\s+-\s+`,
	} {
		if !matches(re, r.stdout) {
			t.Errorf("list output lacks %s:\n%s", re, r.stdout)
		}
	}
	if r.code != 0 || strings.Index(r.stdout, "as_test3") > strings.Index(r.stdout, "as_test1") {
		t.Errorf("list is not newest first: %+v", r)
	}

	if r := s.asset(ctx, "list", "--status", "ready"); r.code != 0 || !strings.Contains(r.stdout, "as_test1") || strings.Contains(r.stdout, "as_test2") {
		t.Errorf("list --status ready: %+v", r)
	}
	r = s.asset(ctx, "list", "--limit", "2", "--json")
	var page struct {
		Items      []assetView `json:"items"`
		NextCursor string      `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Items) != 2 || page.Items[0].ID != "as_test3" || page.NextCursor == "" {
		t.Errorf("list --limit 2 --json: %+v (%v)", r, err)
	}
	if r := s.asset(ctx, "list", "--limit", "2"); !strings.Contains(r.stderr, "There are more assets") {
		t.Errorf("list --limit 2 does not say there are more: %+v", r)
	}

	r = s.asset(ctx, "get", "as_test1")
	for _, re := range []string{
		`(?m)^ID:\s+as_test1$`, `(?m)^Status:\s+ready$`, `(?m)^Duration:\s+1:02:05$`,
		`(?m)^Source:\s+ready\.mp4 \(1\.0 MB\) via tus$`, `(?m)^HLS:\s+http://x/vod/as_test1/index\.m3u8$`,
		`(?m)^Player:\s+http://x/watch/vod/as_test1$`,
	} {
		if !matches(re, r.stdout) {
			t.Errorf("get output lacks %s:\n%s", re, r.stdout)
		}
	}
	if r := s.asset(ctx, "get", "as_test2"); !matches(`(?m)^Progress:\s+42%$`, r.stdout) || !matches(`(?m)^Stage:\s+transcode$`, r.stdout) {
		t.Errorf("get of a processing asset: %+v", r)
	}
	r = s.asset(ctx, "get", "as_test1", "--json")
	var a assetView
	if err := json.Unmarshal([]byte(r.stdout), &a); err != nil || a.ID != "as_test1" || a.Playback == nil {
		t.Errorf("get --json: %+v (%v)", r, err)
	}

	if r := s.asset(ctx, "delete", "as_test2"); r.code != 0 || r.stdout != "Deleted asset as_test2.\n" {
		t.Errorf("delete: %+v", r)
	}
	for _, cmd := range []string{"get", "delete"} {
		if r := s.asset(ctx, cmd, "as_test2"); r.code != 1 || !strings.Contains(r.stderr, `asset "as_test2" not found on `+s.url) {
			t.Errorf("%s after delete: %+v", cmd, r)
		}
	}
	if r := s.asset(ctx, "list"); strings.Contains(r.stdout, "as_test2") {
		t.Errorf("deleted asset still listed:\n%s", r.stdout)
	}
}

func TestAssetListEmptyAndNotOsprey(t *testing.T) {
	t.Parallel()
	s := newTusServer(t)
	if r := s.asset(context.Background(), "list"); r.code != 0 || !strings.Contains(r.stdout, "No assets. Upload one with: osprey asset upload FILE") {
		t.Errorf("empty list: %+v", r)
	}
	notOsprey := newPlainServer(t, http.StatusNotFound, "404 page not found")
	r := run(Options{}, "asset", "--server", notOsprey, "--token", adminToken, "get", "as_x")
	if r.code != 1 || !strings.Contains(r.stderr, "is it an Osprey server?") {
		t.Errorf("get from a non-Osprey server: %+v", r)
	}
}
