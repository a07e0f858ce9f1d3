package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// This test drives the real harness (../play.mjs, headless Chromium) against
// the real player pages and a stream ffmpeg makes, both served by newHandler:
// the harness must pass on a good stream with either engine and fail on a
// broken one. It needs ffmpeg, node, /usr/bin/chromium and
// `cd test/e2e/browser && npm ci`.

const chromiumPath = "/usr/bin/chromium"

// playResult is the part of play.mjs's JSON line the test looks at.
type playResult struct {
	OK              bool              `json:"ok"`
	Engine          string            `json:"engine"`
	States          []string          `json:"states"`
	AdvancedS       float64           `json:"advanced_s"`
	Renditions      []string          `json:"renditions"`
	RenditionLabel  string            `json:"rendition_label"`
	FatalErrors     int               `json:"fatal_errors"`
	ForeignRequests []string          `json:"foreign_requests"`
	Errors          []json.RawMessage `json:"errors"`
	Reason          string            `json:"reason"`
}

func TestHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs headless Chromium for about a minute")
	}
	requireTools(t)
	streams := t.TempDir()
	makeStream(t, filepath.Join(streams, "x"))
	if err := os.Mkdir(filepath.Join(streams, "idle"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// idleAsked is closed once the page has asked for the idle channel's
	// playlist (and got a 404), so the stream appears only after that.
	idleAsked := make(chan struct{})
	var once sync.Once
	goodHandler := newHandler(streams, false, log)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodHandler.ServeHTTP(w, r)
		if r.URL.Path == "/live/idle/index.m3u8" {
			once.Do(func() { close(idleAsked) })
		}
	}))
	t.Cleanup(good.Close)
	broken := httptest.NewServer(newHandler(streams, true, log))
	t.Cleanup(broken.Close)

	tests := []struct {
		name    string
		url     string
		engine  string
		timeout string
		// publish, if set, runs while the harness waits (before it, the
		// channel is idle).
		publish func() error
		wantOK  bool
		reason  string // for a failure: part of the reason
		// for a failure: the page must have seen player errors
		wantPlayerErrors bool
	}{
		{name: "hls plays", url: good.URL + "/watch/x", engine: "hls", timeout: "40", wantOK: true},
		{name: "dash plays", url: good.URL + "/watch/x", engine: "dash", timeout: "40", wantOK: true},
		{
			name: "waits for the publisher, then plays", url: good.URL + "/watch/idle", engine: "hls", timeout: "40", wantOK: true,
			publish: func() error {
				select {
				case <-idleAsked:
				case <-time.After(40 * time.Second):
					return errors.New("the page never asked for the idle channel's playlist")
				}
				time.Sleep(time.Second) // let the page show that it waits
				return copyStream(filepath.Join(streams, "x"), filepath.Join(streams, "idle"))
			},
		},
		{name: "unknown channel fails", url: good.URL + "/watch/nope", engine: "hls", timeout: "20", reason: "HTTP 404"},
		{name: "hls without segments fails", url: broken.URL + "/watch/x", engine: "hls", timeout: "15", wantPlayerErrors: true},
		{name: "dash without segments fails", url: broken.URL + "/watch/x", engine: "dash", timeout: "15", wantPlayerErrors: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			if tt.publish != nil {
				go func() { done <- tt.publish() }()
			} else {
				done <- nil
			}
			res, exit := runHarness(t, tt.url, "--engine", tt.engine, "--seconds", "3", "--timeout", tt.timeout)
			if err := <-done; err != nil {
				t.Fatalf("publishing: %v", err)
			}
			if res.OK != tt.wantOK || (exit == 0) != tt.wantOK {
				t.Fatalf("ok %v with exit %d, want ok %v; result %+v", res.OK, exit, tt.wantOK, res)
			}
			if !tt.wantOK {
				if exit != 1 || !strings.Contains(res.Reason, tt.reason) || res.AdvancedS >= 3 {
					t.Errorf("want exit 1, a reason with %q and no playback; got exit %d, %+v", tt.reason, exit, res)
				}
				if tt.wantPlayerErrors && len(res.Errors) == 0 {
					t.Errorf("the page recorded no player error: %+v", res)
				}
				return
			}
			if res.Engine != tt.engine || res.AdvancedS < 3 || len(res.Renditions) == 0 || res.RenditionLabel == "" ||
				res.FatalErrors != 0 || len(res.ForeignRequests) != 0 {
				t.Errorf("unexpected result %+v", res)
			}
			if tt.publish != nil && !slices.Contains(res.States, "waiting") {
				t.Errorf("states %v never include waiting", res.States)
			}
		})
	}
}

func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run the README's test command", tool)
		}
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no %s: run the README's test command", chromiumPath)
	}
	if _, err := os.Stat("../node_modules/playwright-core/package.json"); err != nil {
		t.Fatal("playwright-core is not installed: run the README's test command (npm ci in test/e2e/browser)")
	}
}

// makeStream writes a 10-second, two-rendition VOD as fMP4 HLS (index.m3u8)
// and DASH (manifest.mpd) into dir, the way an Osprey channel lays it out.
func makeStream(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	input := []string{"-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-filter_complex", "[0:v]split=2[a][b];[b]scale=320:180[b2]", "-map", "[a]", "-map", "[b2]"}
	encode := []string{"-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-g", "60", "-keyint_min", "60",
		"-sc_threshold", "0", "-b:v:0", "800k", "-b:v:1", "300k", "-c:a", "aac", "-b:a", "96k"}
	hls := slices.Concat(input, []string{"-map", "1:a", "-map", "1:a"}, encode, []string{
		"-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
		"-master_pl_name", "index.m3u8", "-var_stream_map", "v:0,a:0,name:360p v:1,a:1,name:180p",
		"-hls_segment_filename", "%v/seg%d.m4s", "%v/index.m3u8"})
	dash := slices.Concat(input, []string{"-map", "1:a"}, encode, []string{
		"-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "1",
		"-adaptation_sets", "id=0,streams=v id=1,streams=a", "manifest.mpd"})
	for _, args := range [][]string{hls, dash} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "ffmpeg", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
	}
}

// copyStream copies a finished stream into an idle channel, manifests last,
// as a packager publishes them.
func copyStream(from, to string) error {
	var manifests []string
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".m3u8") || strings.HasSuffix(p, ".mpd") {
			manifests = append(manifests, p)
			return nil
		}
		return copyFile(from, to, p)
	})
	if err != nil {
		return err
	}
	for _, p := range manifests {
		if err := copyFile(from, to, p); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(fromRoot, toRoot, p string) error {
	rel, err := filepath.Rel(fromRoot, p)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	dst := filepath.Join(toRoot, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// runHarness runs play.mjs and returns its JSON line and exit code.
func runHarness(t *testing.T, url string, args ...string) (playResult, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"../play.mjs", url}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exit := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running play.mjs: %v\n%s", err, stderr.String())
		}
		exit = ee.ExitCode()
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	line := lines[len(lines)-1]
	t.Logf("play.mjs %s %v: exit %d\n%s", url, args, exit, line)
	var res playResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("play.mjs printed no JSON line (%v); stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
	return res, exit
}
