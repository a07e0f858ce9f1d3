package vod

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/jobs"
	"github.com/ospreyvideo/osprey/internal/storage"
	storagefs "github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

const (
	realFFmpeg  = "/usr/bin/ffmpeg"
	realFFprobe = "/usr/bin/ffprobe"
)

// testLadder is a small two-rung ladder that is cheap to encode.
func testLadder() transcode.Ladder {
	return transcode.Ladder{
		Video: []transcode.Rung{
			{Name: "240p", Height: 240, Bitrate: 300_000},
			{Name: "180p", Height: 180, Bitrate: 200_000},
		},
		Audio:  transcode.AudioRung{Bitrate: 64_000},
		Preset: "ultrafast",
	}.WithDefaults()
}

// event is one notification the pipeline sent.
type event struct {
	Type   string
	ID     string
	Status catalog.AssetStatus
}

// recorder is a Notifier that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) Emit(_ context.Context, typ string, data any) error {
	a, ok := data.(catalog.Asset)
	if !ok {
		return errors.New("recorder: payload is not a catalog.Asset")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{Type: typ, ID: a.ID, Status: a.Status})
	return nil
}

// EmitTx records the event at once: the pipeline's transactions that emit
// (the asset's creation) roll back only on errors the tests check apart.
func (r *recorder) EmitTx(ctx context.Context, _ catalog.Tx, typ string, data any) error {
	return r.Emit(ctx, typ, data)
}

// of returns the events about asset id, in the order they were sent.
func (r *recorder) of(id string) []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event
	for _, e := range r.events {
		if e.ID == id {
			out = append(out, e)
		}
	}
	return out
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// types returns the types of the events about asset id.
func (r *recorder) types(id string) []string {
	var out []string
	for _, e := range r.of(id) {
		out = append(out, e.Type)
	}
	return out
}

// recordingCatalog is the real SQLite catalog that also keeps every state
// an asset was written in, so transient states cannot be missed by polling.
type recordingCatalog struct {
	*sqlite.Store

	mu      sync.Mutex
	history map[string][]catalog.Asset
	// afterUpdate, when set (before the queue starts), runs after every
	// successful UpdateAsset, in the caller's goroutine.
	afterUpdate func(catalog.Asset)
}

func (c *recordingCatalog) record(a catalog.Asset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.history[a.ID] = append(c.history[a.ID], a)
}

func (c *recordingCatalog) CreateAsset(ctx context.Context, a catalog.Asset, also func(context.Context, catalog.Tx) error) error {
	if err := c.Store.CreateAsset(ctx, a, also); err != nil {
		return err
	}
	c.record(a)
	return nil
}

func (c *recordingCatalog) UpdateAsset(ctx context.Context, id string, fn func(*catalog.Asset) error) (catalog.Asset, error) {
	a, err := c.Store.UpdateAsset(ctx, id, fn)
	if err == nil {
		c.record(a)
		if c.afterUpdate != nil {
			c.afterUpdate(a)
		}
	}
	return a, err
}

// statuses returns the statuses asset id was written with, consecutive
// repeats folded.
func (c *recordingCatalog) statuses(id string) []catalog.AssetStatus {
	var out []catalog.AssetStatus
	for _, a := range c.states(id) {
		if len(out) == 0 || out[len(out)-1] != a.Status {
			out = append(out, a.Status)
		}
	}
	return out
}

// states returns the versions of asset id in the order they were
// committed (the single writer stamps UpdatedAt inside the transaction;
// concurrent writers may record them in another order).
func (c *recordingCatalog) states(id string) []catalog.Asset {
	c.mu.Lock()
	out := slices.Clone(c.history[id])
	c.mu.Unlock()
	slices.SortStableFunc(out, func(a, b catalog.Asset) int { return a.UpdatedAt.Compare(b.UpdatedAt) })
	return out
}

// env is a real pipeline stack: SQLite catalog, folder storage, River queue.
type env struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	cat    *recordingCatalog
	store  *storagefs.Store // nil when opt.store was given
	st     storage.Store    // the store in use
	queue  *jobs.Queue
	svc    *Service
	events *recorder
}

type envOptions struct {
	ffmpeg, ffprobe string // default: the real binaries
	maxAttempts     int
	retryUnit       time.Duration // default 200 ms
	log             *slog.Logger  // default: discard
	store           storage.Store // default: a folder store
	scratchLimit    int64
}

// newEnv builds the stack; start starts its queue.
func newEnv(t *testing.T, opt envOptions) *env {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	if opt.ffmpeg == "" {
		opt.ffmpeg = realFFmpeg
	}
	if opt.ffprobe == "" {
		opt.ffprobe = realFFprobe
	}
	if opt.retryUnit == 0 {
		opt.retryUnit = 200 * time.Millisecond
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "catalog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cat := &recordingCatalog{Store: db, history: map[string][]catalog.Asset{}}
	store, err := storagefs.New(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var st storage.Store = store
	if opt.store != nil {
		st, store = opt.store, nil
	}
	queue, err := jobs.OpenSQLite(ctx, db.DB(), jobs.Config{PollInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := queue.Stop(sctx); err != nil {
			t.Errorf("stopping the queue: %v", err)
		}
	})
	// Scratch left by a crashed process: New empties the folder.
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "as_crashed-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(dir, "tmp", "as_crashed-1", "poster.jpg"))
	events := &recorder{}
	svc, err := New(Config{
		Catalog:         cat,
		Storage:         st,
		Queue:           queue,
		Notify:          events,
		ScratchLimit:    opt.scratchLimit,
		FFmpeg:          opt.ffmpeg,
		FFprobe:         opt.ffprobe,
		Ladder:          testLadder(),
		SegmentDuration: time.Second,
		MaxAttempts:     opt.maxAttempts,
		TempDir:         filepath.Join(dir, "tmp"),
		ProgressEvery:   10 * time.Millisecond,
		Log:             opt.log,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.retryUnit = opt.retryUnit
	return &env{t: t, ctx: ctx, dir: dir, cat: cat, store: store, st: st, queue: queue, svc: svc, events: events}
}

func (e *env) start() {
	e.t.Helper()
	if err := e.queue.Start(context.WithoutCancel(e.ctx)); err != nil {
		e.t.Fatal(err)
	}
}

// create hands the file at path to CreateAsset as a multipart upload.
func (e *env) create(path string) catalog.Asset {
	e.t.Helper()
	a, err := e.svc.CreateAsset(e.ctx, uploadOf(e.t, path))
	if err != nil {
		e.t.Fatalf("CreateAsset: %v", err)
	}
	return a
}

func uploadOf(t *testing.T, path string) intake.File {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return intake.File{Path: path, Filename: filepath.Base(path), Size: fi.Size(), Origin: "multipart"}
}

// waitAsset polls the catalog until cond holds for asset id.
func (e *env) waitAsset(id string, timeout time.Duration, what string, cond func(catalog.Asset) bool) catalog.Asset {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a, err := e.cat.GetAsset(e.ctx, id)
		if err != nil {
			e.t.Fatalf("GetAsset(%s): %v", id, err)
		}
		if cond(a) {
			return a
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("asset %s not %s after %v: status %s, stage %q, error %q, history %v",
				id, what, timeout, a.Status, a.Stage, a.Error, e.cat.statuses(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDone waits for asset id to be ready or failed.
func (e *env) waitDone(id string) catalog.Asset {
	e.t.Helper()
	return e.waitAsset(id, 60*time.Second, "ready or failed", func(a catalog.Asset) bool {
		return a.Status == catalog.AssetReady || a.Status == catalog.AssetFailed
	})
}

// files lists the regular files under the storage folder rel ("vod/as_x"),
// relative to it; none when it does not exist.
func (e *env) files(rel string) []string {
	e.t.Helper()
	return filesIn(e.t, filepath.Join(e.store.Root(), filepath.FromSlash(rel)))
}

func filesIn(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// object returns the stored object under key.
func (e *env) object(key string) []byte {
	e.t.Helper()
	obj, err := e.st.Open(e.ctx, key)
	if err != nil {
		e.t.Fatalf("opening %s: %v", key, err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		e.t.Fatalf("reading %s: %v", key, err)
	}
	return data
}

// jobState is the River state of a job.
func (e *env) jobState(id int64) string {
	e.t.Helper()
	var state string
	if err := e.cat.DB().QueryRowContext(e.ctx, "SELECT state FROM river_job WHERE id = ?", id).Scan(&state); err != nil {
		e.t.Fatalf("reading job %d: %v", id, err)
	}
	return state
}

// waitJob waits for the job to reach one of the states (River records a
// job's outcome asynchronously).
func (e *env) waitJob(id int64, states ...string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := e.jobState(id)
		if slices.Contains(states, st) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("job %d is %s, want %v", id, st, states)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitQueueIdle waits until the queue holds no job that may still run
// (every job completed, cancelled or discarded): after it, no worker
// changes anything.
func (e *env) waitQueueIdle() {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := e.cat.DB().QueryRowContext(e.ctx,
			"SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')").Scan(&n); err != nil {
			e.t.Fatalf("counting jobs: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d jobs may still run after 10 s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// makeClip writes an MP4 of testsrc2 (320x240, 25 fps) and a sine tone.
func makeClip(t *testing.T, dir, name string, seconds int) string {
	t.Helper()
	out := filepath.Join(dir, name)
	d := strconv.Itoa(seconds)
	cmd := exec.Command(realFFmpeg, "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration="+d,
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration="+d,
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
		"-c:a", "aac", "-b:a", "64k", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making %s: %v\n%s", name, err, b)
	}
	return out
}

// writeScript writes an executable shell script. Scripts are written
// before the queue starts: a file open for writing while another goroutine
// forks cannot be executed (ETXTBSY).
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// slowFFmpeg is an ffmpeg that, while dir/slow exists, reads the input of a
// transcode (the run with -progress) at its native rate and writes its pid
// to dir/ffmpeg.pid; it execs ffmpeg, so the pid is ffmpeg's.
func slowFFmpeg(t *testing.T, dir string) string {
	return writeScript(t, dir, "slow-ffmpeg.sh", `for a in "$@"; do
  if [ "$a" = "-progress" ] && [ -e '`+dir+`/slow' ]; then
    echo $$ > '`+dir+`/ffmpeg.pid.tmp' && mv '`+dir+`/ffmpeg.pid.tmp' '`+dir+`/ffmpeg.pid'
    exec `+realFFmpeg+` -re "$@"
  fi
done
exec `+realFFmpeg+` "$@"
`)
}

// readPID waits for the pid file the slow ffmpeg writes.
func readPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ffmpeg pid in %s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}
