package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/webhook"
)

// TestVODKilledMidTranscode kills osprey with SIGKILL while it transcodes;
// after a restart on the same data folder the job runs again and finishes:
// one asset, no orphaned files.
func TestVODKilledMidTranscode(t *testing.T) {
	dir := t.TempDir()
	s := startOspreyIn(t, dir)
	a := uploadUntilTranscoding(t, s, 40)
	t.Logf("killing osprey at %.1f %%", a.Progress)
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	// ffmpeg may outlive its parent for a moment: it dies on the broken pipe.
	s2 := startOspreyIn(t, dir)
	if recs := s2.logs.find("jobs interrupted by the previous run are queued again"); len(recs) != 1 {
		t.Errorf("restart did not report the interrupted job (%d records)", len(recs))
	}
	a = s2.waitAsset(a.ID, 180*time.Second)
	if a.Status != "ready" {
		t.Fatalf("after restart: %s (%s)", a.Status, a.Error)
	}
	if a.Attempts != 2 {
		t.Errorf("attempts %d, want 2 (the killed one and the one that finished)", a.Attempts)
	}
	var list assetList
	s2.api("GET", "/api/v1/assets", nil, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d assets after the restart, want 1", len(list.Items))
	}
	// Every stored object of the asset is listed by a manifest or is a thumbnail.
	vodDir := filepath.Join(dir, "media", "vod", a.ID)
	referenced := referencedFiles(t, a)
	for _, f := range filesUnder(t, vodDir) {
		if !referenced[filepath.ToSlash(f)] {
			t.Errorf("orphaned file %s", f)
		}
	}
	if left := filesUnder(t, filepath.Join(dir, "tmp")); len(left) > 0 {
		t.Errorf("scratch files left: %v", left)
	}
	if src := filesUnder(t, filepath.Join(dir, "media", "sources", a.ID)); len(src) != 1 {
		t.Errorf("sources of the asset: %v, want one file", src)
	}
}

// referencedFiles lists the files of a ready asset that its manifests and
// thumbnails reference, relative to vod/{id}/.
func referencedFiles(t *testing.T, a asset) map[string]bool {
	t.Helper()
	base := strings.TrimSuffix(a.Playback.HLS, "index.m3u8")
	rel := func(u string) string { return strings.TrimPrefix(u, base) }
	// vod.json is the packager's record of the segment list (never served).
	out := map[string]bool{"index.m3u8": true, "manifest.mpd": true, "vod.json": true}
	mv := multivariant(t, a.Playback.HLS)
	var lists []string
	for _, v := range mv.Variants {
		lists = append(lists, resolve(t, a.Playback.HLS, v.URI))
	}
	for _, r := range mv.Renditions {
		if r.URI != nil && *r.URI != "" {
			lists = append(lists, resolve(t, a.Playback.HLS, *r.URI))
		}
	}
	for _, u := range lists {
		out[rel(u)] = true
		m, _ := mediaPlaylist(t, u)
		if m.Map != nil {
			out[rel(resolve(t, u, m.Map.URI))] = true
		}
		for _, s := range m.Segments {
			out[rel(resolve(t, u, s.URI))] = true
		}
	}
	if a.Thumbnails.VTT != "" {
		out[rel(a.Thumbnails.VTT)] = true
		out[rel(a.Thumbnails.Poster)] = true
		_, vtt := get(t, a.Thumbnails.VTT)
		for _, m := range regexp.MustCompile(`(?m)^(\S+)#xywh=`).FindAllStringSubmatch(string(vtt), -1) {
			out[rel(resolve(t, a.Thumbnails.VTT, m[1]))] = true
		}
	}
	return out
}

// TestVODTusUploadCutAndResumed cuts a tus PATCH at half (the connection
// dies mid-body), asks the server for the offset and sends the rest: the
// stored source is byte-identical and becomes a ready asset findable by its
// upload id.
func TestVODTusUploadCutAndResumed(t *testing.T) {
	s := startOsprey(t)
	path := makeSource(t, t.TempDir(), "cut.mp4", vodSources()[0].args...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tus := func(method, url string, hdr map[string]string, body io.Reader) *http.Response {
		t.Helper()
		return tusDo(t, method, url, hdr, body)
	}
	resp := tus("POST", s.httpBase+"/api/v1/uploads/", map[string]string{
		"Upload-Length":   strconv.Itoa(len(data)),
		"Upload-Metadata": "filename Y3V0Lm1wNA==", // "cut.mp4"
	}, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creation: HTTP %d", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("creation: no Location: %v", err)
	}
	uploadID := filepath.Base(loc.Path)

	// A PATCH announcing the whole file whose connection dies at half.
	half := len(data) / 2
	conn, err := net.Dial("tcp", loc.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PATCH %s HTTP/1.1\r\nHost: %s\r\nTus-Resumable: 1.0.0\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: %d\r\n\r\n",
		loc.Path, loc.Host, adminToken, len(data))
	if _, err := conn.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	conn.Close()

	var offset int
	waitFor(t, 10*time.Second, "the server to record the cut upload's offset", func() bool {
		r := tus("HEAD", loc.String(), nil, nil)
		offset, _ = strconv.Atoi(r.Header.Get("Upload-Offset"))
		return r.StatusCode == http.StatusOK && offset > 0
	})
	if offset > half {
		t.Fatalf("offset %d after sending %d bytes", offset, half)
	}
	t.Logf("cut at %d of %d bytes; server kept %d", half, len(data), offset)
	resp = tus("PATCH", loc.String(), map[string]string{
		"Content-Type":  "application/offset+octet-stream",
		"Upload-Offset": strconv.Itoa(offset),
	}, bytes.NewReader(data[offset:]))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("resuming PATCH: HTTP %d", resp.StatusCode)
	}

	var list assetList
	waitFor(t, 10*time.Second, "the asset of the upload", func() bool {
		s.api("GET", "/api/v1/assets?upload_id="+uploadID, nil, &list)
		return len(list.Items) == 1
	})
	a := list.Items[0]
	if a.UploadID != uploadID || a.Source.Filename != "cut.mp4" || a.Source.Size != int64(len(data)) {
		t.Errorf("asset upload_id %q filename %q size %d", a.UploadID, a.Source.Filename, a.Source.Size)
	}
	stored, err := os.ReadFile(filepath.Join(s.dataDir, "media", "sources", a.ID, "source"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, data) {
		t.Fatalf("stored source differs from the file (%d vs %d bytes)", len(stored), len(data))
	}
	if a = s.waitAsset(a.ID, 60*time.Second); a.Status != "ready" {
		t.Fatalf("asset: %s (%s)", a.Status, a.Error)
	}
}

// TestVODWebhooks registers an endpoint that fails its first delivery:
// events arrive signed, the failed one is retried, and the delivery log
// shows every attempt.
func TestVODWebhooks(t *testing.T) {
	// The receiver listens on loopback: allow non-public webhook addresses.
	cfgPath := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(cfgPath, []byte("webhooks:\n  allow_private_urls: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startOsprey(t, "--config", cfgPath)
	type received struct {
		event, delivery string
		body            []byte
		sig             string
	}
	var mu sync.Mutex
	var got []received
	calls := 0
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hook := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		got = append(got, received{r.Header.Get("Osprey-Event"), r.Header.Get("Osprey-Delivery"), body, r.Header.Get("Osprey-Signature")})
	})}
	go hook.Serve(ln)
	t.Cleanup(func() { hook.Close() })

	var wh struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if code := s.api("POST", "/api/v1/webhooks", map[string]any{"url": "http://" + ln.Addr().String() + "/hook"}, &wh); code != http.StatusCreated {
		t.Fatalf("creating webhook: HTTP %d", code)
	}
	if wh.Secret == "" {
		t.Fatal("webhook created without a secret")
	}
	src := vodSources()[0]
	path := makeSource(t, t.TempDir(), src.file, src.args...)
	code, a, raw := s.uploadMultipart(path, "hooked")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	waitFor(t, 90*time.Second, "asset.created (retried) and asset.ready", func() bool {
		mu.Lock()
		defer mu.Unlock()
		var created, ready bool
		for _, r := range got {
			created = created || r.event == "asset.created"
			ready = ready || r.event == "asset.ready"
		}
		return created && ready
	})
	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		if err := webhook.Verify(wh.Secret, r.sig, r.body, 0); err != nil {
			t.Errorf("%s: signature %q: %v", r.event, r.sig, err)
		}
		if !strings.Contains(string(r.body), a.ID) {
			t.Errorf("%s: body does not name the asset: %s", r.event, r.body)
		}
	}
	var deliveries struct {
		Items []struct {
			EventType  string `json:"event_type"`
			Attempt    int    `json:"attempt"`
			StatusCode int    `json:"status_code"`
		} `json:"items"`
	}
	s.api("GET", "/api/v1/webhooks/"+wh.ID+"/deliveries", nil, &deliveries)
	var failed, retried bool
	for _, d := range deliveries.Items {
		failed = failed || (d.Attempt == 1 && d.StatusCode == 500)
		retried = retried || (d.Attempt == 2 && d.StatusCode == 200)
	}
	if !failed || !retried {
		t.Errorf("delivery log lacks the failed first attempt and its successful retry: %+v", deliveries.Items)
	}
}

// TestVODInbox: a file that finishes arriving in <data>/inbox becomes an asset.
func TestVODInbox(t *testing.T) {
	s := startOsprey(t)
	src := vodSources()[0]
	path := makeSource(t, t.TempDir(), src.file, src.args...)
	data, _ := os.ReadFile(path)
	inbox := filepath.Join(s.dataDir, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	// Written in two halves a second apart, as a slow copy would.
	f, err := os.Create(filepath.Join(inbox, "dropped.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data[:len(data)/2])
	time.Sleep(time.Second)
	f.Write(data[len(data)/2:])
	f.Close()
	var list assetList
	waitFor(t, 30*time.Second, "the inbox file to become an asset", func() bool {
		s.api("GET", "/api/v1/assets", nil, &list)
		return len(list.Items) > 0
	})
	if len(list.Items) != 1 || list.Items[0].Source.Origin != "inbox" || list.Items[0].Source.Filename != "dropped.mp4" {
		t.Fatalf("assets: %+v", list.Items)
	}
	a := s.waitAsset(list.Items[0].ID, 60*time.Second)
	if a.Status != "ready" {
		t.Fatalf("inbox asset: %s (%s)", a.Status, a.Error)
	}
	if left := filesUnder(t, inbox); len(left) > 0 {
		t.Errorf("inbox still holds %v", left)
	}
}

// uploadUntilTranscoding uploads a 720p source of the given length in
// seconds through s and waits until its transcode is under way (at least
// 5 %, at most 90 %: an interruption must land mid-transcode).
func uploadUntilTranscoding(t *testing.T, s *server, seconds int) asset {
	t.Helper()
	src := makeSource(t, t.TempDir(), "long.mp4", join(videoIn("1280x720", seconds), toneIn(seconds),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})...)
	code, a, raw := s.uploadMultipart(src, "long")
	if code != http.StatusCreated {
		t.Fatalf("upload: HTTP %d %s", code, raw)
	}
	waitFor(t, 60*time.Second, "transcoding to be under way", func() bool {
		a = s.getAsset(a.ID)
		return a.Status == "processing" && a.Stage == "transcode" && a.Progress >= 5
	})
	if a.Progress >= 90 {
		t.Fatalf("transcode went too fast to interrupt (%.1f %%)", a.Progress)
	}
	return a
}
