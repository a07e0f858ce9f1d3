package vod

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/probe"
)

func TestNewRequiresStores(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without catalog, storage and queue succeeded")
	}
}

// TestAssetBecomesReady follows one asset through the whole pipeline.
func TestAssetBecomesReady(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.start()
	src := makeClip(t, t.TempDir(), "holiday clip.mp4", 4)
	original, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}

	created := e.create(src)
	if !strings.HasPrefix(created.ID, "as_") || created.Title != "holiday clip" || created.JobID == 0 {
		t.Errorf("created asset: id %q, title %q, job %d", created.ID, created.Title, created.JobID)
	}
	if created.Source.Filename != "holiday clip.mp4" || created.Source.Origin != "multipart" ||
		created.Source.Size != int64(len(original)) || created.Source.Key != sourceKey(created.ID) {
		t.Errorf("created source = %+v", created.Source)
	}
	id := created.ID
	if _, err := os.Stat(src); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the uploaded file is still there (stat: %v)", err)
	}
	if got := e.object(sourceKey(id)); !bytes.Equal(got, original) {
		t.Errorf("stored source is %d bytes, not the %d uploaded", len(got), len(original))
	}

	a := e.waitDone(id)
	if a.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", a.Status, a.Error)
	}
	if a.Progress != 100 || a.Attempts != 1 || a.Stage != "" || a.Error != "" || a.ReadyAt.IsZero() {
		t.Errorf("ready asset: progress %v, attempts %d, stage %q, error %q, ready at %v",
			a.Progress, a.Attempts, a.Stage, a.Error, a.ReadyAt)
	}
	if a.Duration < 3500*time.Millisecond || a.Duration > 4500*time.Millisecond {
		t.Errorf("duration %v, want about 4s", a.Duration)
	}
	if !strings.Contains(a.Source.Probe, "320x240") {
		t.Errorf("source probe summary %q", a.Source.Probe)
	}
	if got, want := e.cat.statuses(id), []catalog.AssetStatus{catalog.AssetQueued, catalog.AssetProcessing, catalog.AssetReady}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	last := 0.0
	for _, s := range e.cat.states(id) {
		if s.Progress < last {
			t.Errorf("progress went back from %v to %v", last, s.Progress)
		}
		last = s.Progress
	}

	want := []struct {
		name, kind    string
		width, height int
	}{
		{"240p", "video", 320, 240},
		{"180p", "video", 240, 180},
		{"audio", "audio", 0, 0},
	}
	if len(a.Output.Renditions) != len(want) {
		t.Fatalf("renditions %+v, want %d", a.Output.Renditions, len(want))
	}
	for i, w := range want {
		r := a.Output.Renditions[i]
		if r.Name != w.name || r.Kind != w.kind || r.Width != w.width || r.Height != w.height || r.Codec == "" || r.Bitrate <= 0 {
			t.Errorf("rendition %d = %+v, want %s %s %dx%d with a codec and bitrate", i, r, w.name, w.kind, w.width, w.height)
		}
	}
	for _, p := range []string{a.Output.Poster, a.Output.Sprite, a.Output.Thumbnails, "index.m3u8", "manifest.mpd"} {
		if p == "" {
			t.Errorf("output %+v misses a path", a.Output)
			continue
		}
		if data := e.object(Prefix(id) + "/" + p); len(data) == 0 {
			t.Errorf("%s is empty", p)
		}
	}
	if m := string(e.object(Prefix(id) + "/index.m3u8")); !strings.Contains(m, "240p") || !strings.Contains(m, "180p") || strings.Contains(m, "SUBTITLES") {
		t.Errorf("index.m3u8:\n%s", m)
	}
	if got := filesIn(t, e.svc.cfg.TempDir); len(got) != 0 {
		t.Errorf("scratch files left (from before New or by the pipeline): %v", got)
	}

	types := e.events.types(id)
	if len(types) < 2 || types[0] != eventCreated || types[len(types)-1] != eventReady {
		t.Fatalf("events %v, want asset.created, asset.progress..., asset.ready", types)
	}
	for _, typ := range types[1 : len(types)-1] {
		if typ != eventProgress {
			t.Errorf("events %v: %s between created and ready", types, typ)
		}
	}
	if evs := e.events.of(id); evs[len(evs)-1].Status != catalog.AssetReady {
		t.Errorf("asset.ready event with status %s", evs[len(evs)-1].Status)
	}
	e.waitJob(a.JobID, "completed")
}

// TestPermanentFailure: a file that is not media fails at once with the
// probe's reason, leaves no outputs, and the queue goes on.
func TestPermanentFailure(t *testing.T) {
	e := newEnv(t, envOptions{maxAttempts: 3})
	e.start()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.mp4")
	if err := os.WriteFile(text, []byte(strings.Repeat("this is not a video\n", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, perr := probe.Probe(e.ctx, realFFprobe, text)
	if !probe.IsPermanent(perr) {
		t.Fatalf("probing a text file: %v, want a permanent error", perr)
	}

	bad := e.create(text)
	a := e.waitDone(bad.ID)
	if a.Status != catalog.AssetFailed || a.Error != perr.Error() || a.Attempts != 1 {
		t.Errorf("bad asset: status %s, error %q (want %q), attempts %d", a.Status, a.Error, perr.Error(), a.Attempts)
	}
	// asset.failed is emitted just after the status is saved.
	want := []string{eventCreated, eventFailed}
	for deadline := time.Now().Add(5 * time.Second); !slices.Equal(e.events.types(bad.ID), want) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := e.events.types(bad.ID); !slices.Equal(got, want) {
		t.Errorf("events %v", got)
	}
	if got := e.files(Prefix(bad.ID)); len(got) != 0 {
		t.Errorf("outputs left: %v", got)
	}
	e.waitJob(a.JobID, "cancelled") // never retried

	good := e.create(makeClip(t, dir, "good.mp4", 3))
	if a := e.waitDone(good.ID); a.Status != catalog.AssetReady {
		t.Errorf("asset after a failed one: status %s, error %q", a.Status, a.Error)
	}
	if a, _ := e.cat.GetAsset(e.ctx, bad.ID); a.Attempts != 1 || a.Status != catalog.AssetFailed {
		t.Errorf("the failed asset changed: %s, %d attempts", a.Status, a.Attempts)
	}
}

// TestFFmpegFailures: a failed transcode is retried with backoff up to
// MaxAttempts.
func TestFFmpegFailures(t *testing.T) {
	tests := []struct {
		name         string
		script       string // %s is the scripts' folder
		maxAttempts  int
		wantStatus   catalog.AssetStatus
		wantAttempts int
		wantStatuses []catalog.AssetStatus
		wantError    []string // substrings of the final error
	}{
		{
			name: "fails once then succeeds",
			script: `if [ ! -e '%s/failed' ]; then
  : > '%s/failed'
  echo "simulated crash of the first run" >&2
  exit 1
fi
exec ` + realFFmpeg + ` "$@"
`,
			maxAttempts:  3,
			wantStatus:   catalog.AssetReady,
			wantAttempts: 2,
			wantStatuses: []catalog.AssetStatus{catalog.AssetQueued, catalog.AssetProcessing, catalog.AssetQueued,
				catalog.AssetProcessing, catalog.AssetReady},
		},
		{
			name: "always fails",
			script: `echo "simulated failure: the encoder exploded" >&2
exit 1
`,
			maxAttempts:  2,
			wantStatus:   catalog.AssetFailed,
			wantAttempts: 2,
			wantStatuses: []catalog.AssetStatus{catalog.AssetQueued, catalog.AssetProcessing, catalog.AssetQueued,
				catalog.AssetProcessing, catalog.AssetFailed},
			wantError: []string{"ffmpeg", "exit status 1", "simulated failure: the encoder exploded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			script := writeScript(t, dir, "ffmpeg.sh", strings.ReplaceAll(tt.script, "%s", dir))
			e := newEnv(t, envOptions{ffmpeg: script, maxAttempts: tt.maxAttempts})
			e.start()
			id := e.create(makeClip(t, dir, "clip.mp4", 3)).ID
			a := e.waitDone(id)
			if a.Status != tt.wantStatus || a.Attempts != tt.wantAttempts {
				t.Fatalf("status %s after %d attempts (error %q), want %s after %d", a.Status, a.Attempts, a.Error, tt.wantStatus, tt.wantAttempts)
			}
			if got := e.cat.statuses(id); !slices.Equal(got, tt.wantStatuses) {
				t.Errorf("statuses %v, want %v", got, tt.wantStatuses)
			}
			// The state between the attempts says a retry is coming.
			var between *catalog.Asset
			for _, s := range e.cat.states(id) {
				if s.Status == catalog.AssetQueued && s.Error != "" {
					between = &s
					break
				}
			}
			if between == nil {
				t.Fatal("no queued state with an error between the attempts")
			}
			wantPrefix := fmt.Sprintf("attempt 1 of %d failed", tt.maxAttempts)
			if !strings.HasPrefix(between.Error, wantPrefix) || !strings.Contains(between.Error, "retried") ||
				!strings.Contains(between.Error, "exit status 1") {
				t.Errorf("error between the attempts %q, want %q... retried", between.Error, wantPrefix)
			}
			for _, w := range tt.wantError {
				if !strings.Contains(a.Error, w) {
					t.Errorf("error %q does not contain %q", a.Error, w)
				}
			}
			last := eventReady
			if tt.wantStatus == catalog.AssetFailed {
				last = eventFailed
				if got := e.files(Prefix(id)); len(got) != 0 {
					t.Errorf("outputs left: %v", got)
				}
				e.waitJob(a.JobID, "cancelled", "discarded")
			}
			types := e.events.types(id)
			if len(types) < 2 || types[0] != eventCreated || types[len(types)-1] != last ||
				slices.Contains(types[1:len(types)-1], eventFailed) || slices.Contains(types[1:len(types)-1], eventReady) {
				t.Errorf("events %v, want created, progress..., %s", types, last)
			}
		})
	}
}

// TestCancel stops a running transcode: its ffmpeg is killed, its outputs
// removed, and the asset fails with "cancelled". A ready asset stays ready.
func TestCancel(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, envOptions{ffmpeg: slowFFmpeg(t, dir)})
	e.start()

	ready := e.create(makeClip(t, dir, "ready.mp4", 3))
	done := e.waitDone(ready.ID)
	if done.Status != catalog.AssetReady {
		t.Fatalf("status %s, error %q", done.Status, done.Error)
	}
	got, err := e.svc.Cancel(e.ctx, ready.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != catalog.AssetReady || got.Error != "" || got.Progress != 100 || len(got.Output.Renditions) != len(done.Output.Renditions) {
		t.Errorf("Cancel of a ready asset returned %s %q", got.Status, got.Error)
	}
	if a, _ := e.cat.GetAsset(e.ctx, ready.ID); a.Status != catalog.AssetReady {
		t.Errorf("cancelled ready asset is %s", a.Status)
	}
	if types := e.events.types(ready.ID); slices.Contains(types, eventFailed) {
		t.Errorf("events %v after cancelling a ready asset", types)
	}
	if len(e.files(Prefix(ready.ID))) == 0 {
		t.Error("cancelling a ready asset removed its outputs")
	}

	touch(t, filepath.Join(dir, "slow"))
	id := e.create(makeClip(t, dir, "long.mp4", 8)).ID
	pid := readPID(t, filepath.Join(dir, "ffmpeg.pid"))
	e.waitAsset(id, 20*time.Second, "with a stored segment", func(catalog.Asset) bool {
		return len(e.files(Prefix(id))) > 0
	})

	started := time.Now()
	a, err := e.svc.Cancel(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(started); took > 5*time.Second {
		t.Errorf("Cancel took %v", took)
	}
	if a.Status != catalog.AssetFailed || a.Error != "cancelled" {
		t.Errorf("Cancel returned %s %q", a.Status, a.Error)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("ffmpeg %d still exists after Cancel (kill -0: %v)", pid, err)
	}
	if got := e.files(Prefix(id)); len(got) != 0 {
		t.Errorf("outputs left after Cancel: %v", got)
	}
	if got := e.events.types(id); len(got) == 0 || got[0] != eventCreated || got[len(got)-1] != eventFailed ||
		slices.Contains(got, eventReady) {
		t.Errorf("events %v", got)
	}
	e.waitJob(a.JobID, "cancelled")
	// Nothing comes back: with no job left to run, no retry, the outcome stays.
	e.waitQueueIdle()
	if b, _ := e.cat.GetAsset(e.ctx, id); b.Status != catalog.AssetFailed || b.Error != "cancelled" || b.Attempts != 1 {
		t.Errorf("after Cancel the asset became %s %q (%d attempts)", b.Status, b.Error, b.Attempts)
	}
	if got := e.files(Prefix(id)); len(got) != 0 {
		t.Errorf("outputs reappeared: %v", got)
	}
	if n := strings.Count(strings.Join(e.events.types(id), " "), eventFailed); n != 1 {
		t.Errorf("%d asset.failed events", n)
	}
	if _, err := e.svc.Cancel(e.ctx, "as_missing"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Cancel of a missing asset: %v", err)
	}
}

// TestDelete removes an asset's row, outputs and source, whatever its state.
func TestDelete(t *testing.T) {
	tests := []struct {
		name       string
		processing bool
	}{
		{"ready", false},
		{"processing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			e := newEnv(t, envOptions{ffmpeg: slowFFmpeg(t, dir)})
			e.start()
			pid := 0
			var id string
			if tt.processing {
				touch(t, filepath.Join(dir, "slow"))
				id = e.create(makeClip(t, dir, "clip.mp4", 8)).ID
				pid = readPID(t, filepath.Join(dir, "ffmpeg.pid"))
				e.waitAsset(id, 20*time.Second, "with a stored segment", func(catalog.Asset) bool {
					return len(e.files(Prefix(id))) > 0
				})
			} else {
				id = e.create(makeClip(t, dir, "clip.mp4", 3)).ID
				if a := e.waitDone(id); a.Status != catalog.AssetReady {
					t.Fatalf("status %s, error %q", a.Status, a.Error)
				}
				if _, err := e.svc.AddSubtitle(e.ctx, id, catalog.AssetSubtitle{Language: "en"}, []byte("WEBVTT\n")); err != nil {
					t.Fatal(err)
				}
			}
			if len(e.files("sources/"+id)) == 0 || len(e.files(Prefix(id))) == 0 {
				t.Fatal("nothing stored before Delete")
			}

			if err := e.svc.Delete(e.ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := e.cat.GetAsset(e.ctx, id); !errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("GetAsset after Delete: %v", err)
			}
			for _, p := range []string{Prefix(id), "sources/" + id} {
				if got := e.files(p); len(got) != 0 {
					t.Errorf("%s/ after Delete: %v", p, got)
				}
			}
			if pid != 0 {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("ffmpeg %d still exists after Delete (kill -0: %v)", pid, err)
				}
			}
			// Once no job is left to run, nothing can write any more.
			e.waitQueueIdle()
			if got := e.files(Prefix(id)); len(got) != 0 {
				t.Errorf("outputs reappeared: %v", got)
			}
			if err := e.svc.Delete(e.ctx, id); !errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("second Delete: %v", err)
			}
		})
	}
}

// TestCreateAssetFailure: when the asset cannot be recorded, the stored
// source is removed and the upload is gone (CreateAsset owns it).
func TestCreateAssetFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env)
	}{
		{"queue not started", func(*env) {}},
		{"catalog closed", func(e *env) {
			e.start()
			if err := e.queue.Stop(e.ctx); err != nil {
				t.Fatal(err)
			}
			if err := e.cat.Close(); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			tt.setup(e)
			path := filepath.Join(t.TempDir(), "upload.bin")
			if err := os.WriteFile(path, []byte("some bytes"), 0o644); err != nil {
				t.Fatal(err)
			}
			a, err := e.svc.CreateAsset(e.ctx, uploadOf(t, path))
			if err == nil {
				t.Fatalf("CreateAsset succeeded: %+v", a)
			}
			if got := e.files("sources"); len(got) != 0 {
				t.Errorf("sources left: %v", got)
			}
			// The caller keeps the file (a tus upload stays resumable).
			if got, err := os.ReadFile(path); err != nil || string(got) != "some bytes" {
				t.Errorf("the upload is gone or changed: %q, %v", got, err)
			}
			if got := filesIn(t, filepath.Dir(path)); !slices.Equal(got, []string{"upload.bin"}) {
				t.Errorf("the upload's folder holds %v", got)
			}
			if got := e.events.all(); len(got) != 0 {
				t.Errorf("events %v", got)
			}
		})
	}
}

func TestTitleOf(t *testing.T) {
	tests := []struct {
		title, filename, want string
	}{
		{"My film", "x.mp4", "My film"},
		{"  Padded  ", "x.mp4", "Padded"},
		{"   ", "holiday.mov", "holiday"},
		{"", "holiday.2024.mp4", "holiday.2024"},
		{"", "no-extension", "no-extension"},
		{"", "dir/inner.mkv", "inner"},
		{"", ".mp4", "Untitled"},
		{"", "", "Untitled"},
		{"", " .mp4", "Untitled"},
		{"", "/", "Untitled"},
		{"", ".", "Untitled"},
	}
	for _, tt := range tests {
		if got := titleOf(intake.File{Title: tt.title, Filename: tt.filename}); got != tt.want {
			t.Errorf("titleOf(title %q, filename %q) = %q, want %q", tt.title, tt.filename, got, tt.want)
		}
	}
}

// TestCancelRacingTheAttempt cancels an asset while its attempt, not yet
// stopped by Cancel, moves on: to its next stage (it finds the asset no
// longer processing) or to a failure of its own (ffprobe crashing). The
// cancellation must stand, not turn into a retry, and the job must not
// run again.
func TestCancelRacingTheAttempt(t *testing.T) {
	tests := []struct {
		name, afterGate string
		maxAttempts     int
	}{
		{"next stage", `exec ` + realFFprobe + ` "$@"`, 3},
		{"attempt fails", `echo "simulated ffprobe crash" >&2; exit 1`, 3},
		{"last attempt fails", `echo "simulated ffprobe crash" >&2; exit 1`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			gate := filepath.Join(dir, "gate")
			ffprobe := writeScript(t, dir, "ffprobe.sh", `while [ ! -e '`+gate+`' ]; do sleep 0.05; done
`+tt.afterGate+`
`)
			e := newEnv(t, envOptions{ffprobe: ffprobe, maxAttempts: tt.maxAttempts})
			t.Cleanup(func() { touch(t, gate) })
			// Between Cancel's update and its stopping the attempt, let the
			// attempt go on and end.
			e.cat.afterUpdate = func(a catalog.Asset) {
				if a.Status != catalog.AssetFailed || a.Error != "cancelled" {
					return
				}
				touch(t, gate)
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					e.svc.mu.Lock()
					running := e.svc.running[a.ID] != nil
					e.svc.mu.Unlock()
					if !running {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				t.Error("the attempt did not end after its asset was cancelled")
			}
			e.start()

			id := e.create(makeClip(t, dir, "clip.mp4", 3)).ID
			e.waitAsset(id, 10*time.Second, "processing", func(a catalog.Asset) bool {
				return a.Status == catalog.AssetProcessing
			})
			a, err := e.svc.Cancel(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if a.Status != catalog.AssetFailed || a.Error != "cancelled" {
				t.Errorf("Cancel returned %s %q", a.Status, a.Error)
			}
			e.waitJob(a.JobID, "cancelled")
			e.waitQueueIdle() // no retry left to run
			got, err := e.cat.GetAsset(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != catalog.AssetFailed || got.Error != "cancelled" || got.Attempts != 1 {
				t.Errorf("after Cancel the asset is %s %q (%d attempts); statuses %v", got.Status, got.Error, got.Attempts, e.cat.statuses(id))
			}
			if got := e.files(Prefix(id)); len(got) != 0 {
				t.Errorf("outputs left: %v", got)
			}
			if types := e.events.types(id); len(types) != 2 || types[1] != eventFailed {
				t.Errorf("events %v, want asset.created, asset.failed", types)
			}
		})
	}
}
