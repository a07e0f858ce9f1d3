// Command vodbench measures Osprey's VoD pipeline on this machine against
// one plain ffmpeg command producing the same ladder with the same encoder
// settings, and prints the results as Markdown for docs/benchmarks.md.
//
// For each round it encodes a 1080p30 source once, then:
//
//   - plain ffmpeg: Osprey's own transcoder command line for the source
//     (transcode.Plan.FileArgs: same filter graph, x264 and AAC settings,
//     keyframes on the segment grid), with the output switched from MPEG-TS
//     on a pipe to fMP4 HLS with an audio group, written by ffmpeg itself;
//   - Osprey: the file is posted to a running `osprey serve`
//     (POST /api/v1/assets), and the clock runs from just before the POST
//     until the asset's ready_at: upload on loopback, queueing, probe,
//     transcode + packaging (HLS and DASH), thumbnails and publish. CPU is
//     the osprey process's own plus that of its children (ffprobe,
//     ffmpeg), from /proc. A second table splits each job's wall time into
//     phases: the upload until the asset's created_at, then the durations
//     the worker logs with "asset ready" (queued, probe, transcode,
//     finish).
//
// Then "two at once": two sources processed concurrently (vod.concurrency 2)
// against two plain ffmpeg commands run in parallel.
//
// Usage (from the repository root; about 15 minutes on 2 cores):
//
//	go run ./bench/vodbench [-seconds 60] [-rounds 3] [-size 1920x1080]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/internal/app"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/probe"
	"github.com/ospreyvideo/osprey/internal/transcode"
)

const (
	adminToken = "vodbench-admin-token"
	segment    = 4 * time.Second // Osprey's default VoD segment duration
)

type result struct {
	wall, cpu time.Duration
	goCPU     time.Duration // the osprey process's own share of cpu
	phases    phases        // Osprey's, of the last job
}

func main() {
	seconds := flag.Int("seconds", 60, "length of the source, in seconds")
	rounds := flag.Int("rounds", 3, "alternating rounds of the single-job comparison")
	size := flag.String("size", "1920x1080", "source frame size")
	bin := flag.String("osprey", "", "osprey binary (default: build ./cmd/osprey)")
	flag.Parse()
	log.SetFlags(log.Ltime)

	work, err := os.MkdirTemp("", "vodbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	osprey := *bin
	if osprey == "" {
		osprey = filepath.Join(work, "osprey")
		benchkit.Run("go", "build", "-o", osprey, "./cmd/osprey")
	}
	source := filepath.Join(work, "source.mp4")
	log.Printf("encoding a %d s %s 30 fps source", *seconds, *size)
	benchkit.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size="+*size+":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(*seconds),
		"-c:v", "libx264", "-preset", "veryfast", "-b:v", "8M", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", source)
	ref := referenceArgs(source)
	log.Printf("reference: ffmpeg %s", strings.Join(ref(filepath.Join(work, "ref")), " "))

	var osp, plain []result
	for r := range *rounds {
		log.Printf("round %d: plain ffmpeg", r+1)
		plain = append(plain, runPlain(ref, work, 1))
		log.Printf("round %d: osprey", r+1)
		osp = append(osp, runOsprey(osprey, work, source, 1))
	}
	log.Print("two at once: plain ffmpeg")
	plain2 := runPlain(ref, work, 2)
	log.Print("two at once: osprey")
	osp2 := runOsprey(osprey, work, source, 2)

	fmt.Printf("\nSource: %d s of %s 30 fps H.264 + AAC; default ladder; %d-second segments.\n\n", *seconds, *size, int(segment.Seconds()))
	fmt.Println("| round | plain ffmpeg wall | Osprey wall | wall ratio | plain ffmpeg CPU | Osprey CPU (Go process) | CPU ratio |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	var wr, cr []float64
	for i := range osp {
		w := osp[i].wall.Seconds() / plain[i].wall.Seconds()
		c := osp[i].cpu.Seconds() / plain[i].cpu.Seconds()
		wr, cr = append(wr, w), append(cr, c)
		fmt.Printf("| %d | %.1f s | %.1f s | %.3f× | %.1f s | %.1f s (%.1f s) | %.3f× |\n", i+1,
			plain[i].wall.Seconds(), osp[i].wall.Seconds(), w, plain[i].cpu.Seconds(), osp[i].cpu.Seconds(), osp[i].goCPU.Seconds(), c)
	}
	fmt.Printf("\nMedian ratios Osprey / plain ffmpeg: wall **%.3f×**, CPU **%.3f×**.\n\n", benchkit.Median(wr), benchkit.Median(cr))
	// Where Osprey's wall time goes: everything but the transcode is
	// overhead plain ffmpeg has not.
	fmt.Println(phaseHeader)
	var ps []phases
	for i := range osp {
		ps = append(ps, osp[i].phases)
		fmt.Println(osp[i].phases.row(strconv.Itoa(i+1), plain[i].wall))
	}
	var pw []float64
	for _, p := range plain {
		pw = append(pw, float64(p.wall))
	}
	fmt.Println(medianPhases(ps).row("median", time.Duration(benchkit.Median(pw))))
	fmt.Println()
	src := float64(2 * *seconds)
	fmt.Println("| two jobs at once | wall | CPU | source seconds per wall second |")
	fmt.Println("| --- | --- | --- | --- |")
	fmt.Printf("| plain ffmpeg ×2 | %.1f s | %.1f s | %.2f |\n", plain2.wall.Seconds(), plain2.cpu.Seconds(), src/plain2.wall.Seconds())
	fmt.Printf("| Osprey, concurrency 2 | %.1f s | %.1f s | %.2f |\n", osp2.wall.Seconds(), osp2.cpu.Seconds(), src/osp2.wall.Seconds())
	fmt.Printf("\nTwo at once, Osprey / plain ffmpeg: wall %.3f×, CPU %.3f×.\n",
		osp2.wall.Seconds()/plain2.wall.Seconds(), osp2.cpu.Seconds()/plain2.cpu.Seconds())
}

// referenceArgs returns, for an output folder, Osprey's transcoder command
// line for the source with fMP4 HLS output instead of MPEG-TS on stdout.
func referenceArgs(source string) func(dir string) []string {
	src, err := probe.Probe(context.Background(), "ffprobe", source)
	if err != nil {
		log.Fatal(err)
	}
	plan, err := transcode.NewFilePlan(app.TranscodeLadder(config.BuiltinLadders()[config.LadderDefault].WithDefaults()), src)
	if err != nil {
		log.Fatal(err)
	}
	base := plan.FileArgs(source, segment)
	// No progress reports.
	i := slices.Index(base, "-progress")
	base = slices.Delete(slices.Clone(base), i, i+4)
	// Output: MPEG-TS on stdout becomes HLS written by ffmpeg.
	base = base[:slices.Index(base, "-max_muxing_queue_size")]
	vsm := benchkit.VarStreamMap(plan)
	return func(dir string) []string {
		return append(slices.Clone(base), "-f", "hls", "-hls_time", strconv.Itoa(int(segment.Seconds())),
			"-hls_playlist_type", "vod", "-hls_flags", "independent_segments",
			"-hls_segment_type", "fmp4", "-master_pl_name", "index.m3u8", "-var_stream_map", vsm,
			"-hls_segment_filename", filepath.Join(dir, "%v/%d.m4s"), filepath.Join(dir, "%v/index.m3u8"))
	}
}

// runPlain runs n reference commands at once and returns the wall time and
// their total CPU time.
func runPlain(ref func(string) []string, work string, n int) result {
	cmds := make([]*exec.Cmd, n)
	for i := range cmds {
		dir := filepath.Join(work, fmt.Sprintf("ref-%d", i))
		_ = os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		cmds[i] = exec.Command("ffmpeg", ref(dir)...)
		cmds[i].Stderr = os.Stderr
	}
	start := time.Now()
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			log.Fatal(err)
		}
	}
	var cpu time.Duration
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			log.Fatalf("plain ffmpeg: %v", err)
		}
		cpu += c.ProcessState.UserTime() + c.ProcessState.SystemTime()
	}
	return result{wall: time.Since(start), cpu: cpu}
}

// runOsprey starts a server with vod.concurrency n, posts the source n
// times, and measures from the last asset's creation until all are ready.
func runOsprey(bin, work, source string, n int) result {
	data := filepath.Join(work, fmt.Sprintf("osprey-%d", time.Now().UnixNano()))
	defer os.RemoveAll(data)
	cfgPath := filepath.Join(work, "osprey.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("vod:\n  concurrency: %d\n", n)), 0o644); err != nil {
		log.Fatal(err)
	}
	s := startServer(bin, data, "--config", cfgPath)
	defer s.Stop()
	// Copies of the source, one per job, made before the clock starts.
	ids := make([]string, n)
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(work, fmt.Sprintf("upload-%d.mp4", i))
		b, err := os.ReadFile(source)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(files[i], b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	// Uploads are posted while the queue could already start the first:
	// the clock starts before the first post; the upload of a 60 MB file
	// on loopback takes a fraction of a second.
	self0, child0 := benchkit.ProcTimes(s.Cmd.Process.Pid)
	start := time.Now()
	for i := range ids {
		ids[i] = s.upload(files[i])
	}
	var ready time.Time
	var ph phases
	for _, id := range ids {
		created, r := s.waitReady(id)
		ph = phasesOf(start, created, s.readyLog(id))
		if r.After(ready) {
			ready = r
		}
	}
	self1, child1 := benchkit.ProcTimes(s.Cmd.Process.Pid)
	// The end is the asset's ready_at (the server's clock, this machine's),
	// not when polling noticed it.
	return result{wall: ready.Sub(start), cpu: (self1 - self0) + (child1 - child0), goCPU: self1 - self0, phases: ph}
}
