package transcode_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/ingest"
	"github.com/ospreyvideo/osprey/internal/ingest/rtmp"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

// BenchmarkLiveChannel runs Osprey's live path in this process for real:
// an ffmpeg publisher sends a 720p30 H.264 + AAC source in real time (-re,
// -c copy) over RTMP to the ingest/rtmp server, whose units go to a
// transcode.Supervisor running the real ffmpeg with the default ladder;
// its output is packaged by packager.Live into a storage/fs store in a
// temporary folder. This is what internal/live wires together, minus the
// channel catalogue and HTTP API. One op is one second of media, so
//
//	go test -run XXX -bench LiveChannel -benchtime 40x -count 5 \
//	    -cpuprofile cpu.out -memprofile mem.out ./internal/transcode/
//
// profiles 40 s of a live channel, 5 times. It reports CPU time, not wall
// time (wall time is the media's duration): go-cpu-ms/s is this process's
// user+system CPU (getrusage RUSAGE_SELF, GC and the benchmark's own
// bookkeeping included) per second of media; ffmpeg-cpu-ms/s that of the
// transcoding ffmpeg (RUSAGE_CHILDREN minus the publisher); go-share-% the
// first over their sum; read-calls/s and write-calls/s this process's read
// and write system calls (/proc/self/io); lat-p50-ms and lat-p95-ms the time from a video frame
// entering Supervisor.WriteUnit to the 720p rendition's frame with the same
// PTS leaving the transcoder (ffmpeg's encoding delay included).
func BenchmarkLiveChannel(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Fatalf("ffmpeg is required: %v", err)
	}
	seconds := max(b.N, 3)
	src := liveSource(b, seconds)
	store, err := fs.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &benchHandler{store: store, log: log, done: make(chan error, 1), sentAt: map[time.Duration]time.Time{}}
	srv := rtmp.New(rtmp.Config{Addr: "127.0.0.1:0"}, h, log)
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()

	self0, child0 := rusage(b)
	r0, w0 := procIO(b)
	b.ResetTimer()
	pub := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", src,
		"-t", strconv.Itoa(seconds), "-c", "copy", "-f", "flv", "rtmp://"+srv.Addr().String()+"/live/bench")
	pub.Stderr = os.Stderr
	if err := pub.Run(); err != nil {
		b.Fatalf("publisher: %v", err)
	}
	select {
	case err := <-h.done:
		if err != nil {
			b.Fatalf("transcoder: %v", err)
		}
	case <-time.After(60 * time.Second):
		b.Fatal("the transcoder did not finish")
	}
	b.StopTimer()
	self1, child1 := rusage(b)
	r1, w1 := procIO(b)

	pubCPU := pub.ProcessState.UserTime() + pub.ProcessState.SystemTime()
	goCPU, ffCPU := self1-self0, child1-child0-pubCPU
	perSec := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(seconds) }
	b.ReportMetric(perSec(goCPU), "go-cpu-ms/s")
	b.ReportMetric(perSec(ffCPU), "ffmpeg-cpu-ms/s")
	b.ReportMetric(100*goCPU.Seconds()/(goCPU+ffCPU).Seconds(), "go-share-%")
	b.ReportMetric(float64(r1-r0)/float64(seconds), "read-calls/s")
	b.ReportMetric(float64(w1-w0)/float64(seconds), "write-calls/s")
	h.mu.Lock()
	lat := slices.Clone(h.latency)
	h.mu.Unlock()
	if len(lat) < 10*seconds {
		b.Fatalf("only %d frames of the 720p rendition matched their input", len(lat))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "lat-p50-ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "lat-p95-ms")
	b.ReportMetric(0, "ns/op") // wall time is the media's duration
}

// liveSource encodes (once per length, cached in the temp folder) the
// source livebench publishes: a 720p30 test pattern and a tone.
func liveSource(b *testing.B, seconds int) string {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("osprey-livebench-720p30-%ds.mp4", seconds))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".tmp.mp4"
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", "4M", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", tmp).CombinedOutput()
	if err != nil {
		b.Fatalf("encoding the source: %v: %s", err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

func rusage(b *testing.B) (self, children time.Duration) {
	get := func(who int) time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(who, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return get(syscall.RUSAGE_SELF), get(syscall.RUSAGE_CHILDREN)
}

// procIO returns the read and write system calls this process has made
// (read, write, and their vector and positioned forms), from /proc/self/io.
func procIO(b *testing.B) (reads, writes int64) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// benchHandler accepts one publication and wires it like internal/live:
// units go straight to the Supervisor, its output to packager.Live.
type benchHandler struct {
	store *fs.Store
	log   *slog.Logger
	done  chan error

	mu      sync.Mutex
	sup     *transcode.Supervisor
	video   int
	sentAt  map[time.Duration]time.Time // input video PTS → when it was written
	latency []time.Duration
	pkg     *packager.Live
}

// defaultLadder is the built-in "default" ladder preset of the
// configuration (config.BuiltinLadders), written out so this package does
// not import config: 1080p to 360p, AAC 128 kb/s 48 kHz stereo, veryfast.
var defaultLadder = transcode.Ladder{Video: []transcode.Rung{
	{Name: "1080p", Height: 1080, Bitrate: 5_000_000, Profile: "high"},
	{Name: "720p", Height: 720, Bitrate: 2_800_000, Profile: "high"},
	{Name: "480p", Height: 480, Bitrate: 1_400_000, Profile: "high"},
	{Name: "360p", Height: 360, Bitrate: 800_000, Profile: "main"},
}}

func (h *benchHandler) Publish(context.Context, ingest.Request) (ingest.Publication, error) {
	return h, nil
}

func (h *benchHandler) Start(tracks []*media.Track) error {
	plan, err := transcode.NewPlan(defaultLadder, tracks)
	if err != nil {
		return err
	}
	h.video = slices.IndexFunc(tracks, func(t *media.Track) bool { return t.Kind == media.Video })
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sup = transcode.Start(transcode.Config{}, plan, tracks, output{h}, h.log)
	return nil
}

func (h *benchHandler) WriteUnit(track int, u *media.Unit) error {
	h.mu.Lock()
	sup := h.sup
	if track == h.video {
		h.sentAt[u.PTS] = time.Now()
	}
	h.mu.Unlock()
	return sup.WriteUnit(track, u)
}

func (h *benchHandler) Close(cause error) {
	h.mu.Lock()
	sup := h.sup
	h.mu.Unlock()
	if sup == nil {
		h.done <- fmt.Errorf("publication ended before it started: %v", cause)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := sup.Close(ctx)
	if err == nil && cause != nil {
		err = cause
	}
	if h.pkg != nil { // the transcoder has stopped: no more output
		if perr := h.pkg.End(ctx); err == nil {
			err = perr
		}
	}
	h.done <- err
}

// Begin and the Output's WriteUnit are called by the transcoder's reader.
func (h *benchHandler) Begin(rs []transcode.Rendition) error {
	if h.pkg == nil {
		pkg, err := packager.NewLive(context.Background(), h.store, "live/bench", time.Now(), packager.Config{}, h.log)
		if err != nil {
			return err
		}
		h.pkg = pkg
	}
	prs := make([]packager.Rendition, len(rs))
	for i, r := range rs {
		prs[i] = packager.Rendition{Name: r.Name, Track: r.Track, Bitrate: r.Bitrate, MaxBitrate: r.MaxBitrate}
	}
	return h.pkg.Begin(prs)
}

// output is the transcode.Output side of benchHandler (its WriteUnit
// method name is taken by the ingest side).
type output struct{ *benchHandler }

func (o output) WriteUnit(i int, u *media.Unit) error {
	if i == 0 {
		o.mu.Lock()
		if t, ok := o.sentAt[u.PTS]; ok {
			o.latency = append(o.latency, time.Since(t))
			delete(o.sentAt, u.PTS)
		}
		o.mu.Unlock()
	}
	return o.pkg.WriteUnit(i, u)
}
