package main

import (
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/app"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/transcode"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// cpu compares the CPU time of Osprey (its Go process plus the ffmpeg it
// runs) on a live 720p30 RTMP publish with that of one plain ffmpeg command
// that receives the same publish itself (-listen 1 -i rtmp://...) and
// produces the same ladder as HLS with the same encoder settings. The two
// alternate for several rounds, so that a noisy neighbour on the machine
// weighs on both.
//
// With -perf DIR, each round also records the osprey process (its Go code,
// not its ffmpeg) with Linux perf while the channel runs, into
// DIR/osprey-cpu-N.perf.data: the CPU profile of the real thing, without a
// profiling endpoint in Osprey. View it with
// perf report -i DIR/osprey-cpu-1.perf.data --no-children --sort sym.
func (b *bench) cpu(rounds int) {
	var goCPU, ffCPU, refCPU []time.Duration
	// Load shedding off: on a busy machine Osprey would otherwise drop rungs
	// and presets and be compared, cheaper, with a plain ffmpeg that did not.
	conf := filepath.Join(b.work, "cpu.yaml")
	if err := os.WriteFile(conf, []byte("live:\n  shed_load: false\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	for r := 0; r < rounds; r++ {
		log.Printf("cpu round %d/%d: osprey", r+1, rounds)
		s := startServer(b.osprey, filepath.Join(b.work, fmt.Sprintf("cpu-%d", r)), "--config", conf)
		ch := s.createChannel("cpu")
		pid := s.Cmd.Process.Pid
		self0, child0 := benchkit.ProcTimes(pid)
		rec := b.startPerf(pid, r+1)
		pub := publish(b.source, ch.Ingest.RTMP)
		if err := pub.Wait(); err != nil {
			log.Fatalf("publisher: %v", err)
		}
		rec.stop()
		s.waitIdle(ch.ID) // the transcoder has exited and been reaped
		self1, child1 := benchkit.ProcTimes(pid)
		s.stop()
		goCPU = append(goCPU, self1-self0)
		ffCPU = append(ffCPU, child1-child0)

		// Plain ffmpeg with Osprey's own ladder arguments, receiving the
		// publish itself and writing HLS instead of MPEG-TS on stdout.
		log.Printf("cpu round %d/%d: plain ffmpeg", r+1, rounds)
		url := "rtmp://" + freeAddr() + "/live/reference"
		cmd := exec.Command("ffmpeg", referenceArgs(url, filepath.Join(b.work, fmt.Sprintf("ref-%d", r)))...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			log.Fatalf("reference ffmpeg: %v", err)
		}
		publishWhenListening(b.source, url)
		if err := cmd.Wait(); err != nil {
			log.Fatalf("reference ffmpeg: %v", err)
		}
		refCPU = append(refCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}

	perSec := func(d time.Duration) float64 { return d.Seconds() / float64(b.seconds) }
	fmt.Printf("\n### CPU per second of 720p30 input, default ladder (720p, 480p, 360p, AAC)\n\n")
	fmt.Println("CPU-seconds per second of input, by round; ratio = Osprey total / plain ffmpeg.")
	fmt.Println()
	fmt.Println("| round | Osprey Go process | Osprey's ffmpeg | **Osprey total** | plain ffmpeg → HLS | ratio | Go share of Osprey |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	var ratios, shares []float64
	for r := range goCPU {
		total := goCPU[r] + ffCPU[r]
		ratio := total.Seconds() / refCPU[r].Seconds()
		share := 100 * goCPU[r].Seconds() / total.Seconds()
		ratios, shares = append(ratios, ratio), append(shares, share)
		fmt.Printf("| %d | %.3f | %.3f | **%.3f** | %.3f | %.3f× | %.1f %% |\n",
			r+1, perSec(goCPU[r]), perSec(ffCPU[r]), perSec(total), perSec(refCPU[r]), ratio, share)
	}
	fmt.Printf("\nMedian ratio Osprey / plain ffmpeg: **%.3f×**; median Go share of Osprey's CPU: **%.1f %%**.\n",
		benchkit.Median(ratios), benchkit.Median(shares))
}

// referenceArgs turns Osprey's transcoder command line into a standalone
// one: same filter graph and encoder settings, input from an RTMP publisher
// it listens for, output as fMP4 HLS with an audio group, like Osprey's.
func referenceArgs(listenURL, dir string) []string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	input := []*media.Track{
		{Kind: media.Video, Codec: media.H264, Width: 1280, Height: 720},
		{Kind: media.Audio, Codec: media.AAC, SampleRate: 48000, Channels: 1},
	}
	plan, err := transcode.NewPlan(app.TranscodeLadder(config.BuiltinLadders()[config.LadderDefault].WithDefaults()), input)
	if err != nil {
		log.Fatal(err)
	}
	a := plan.FFmpegArgs(input, 2*time.Second)
	// Input: "-copyts -f mpegts -i pipe:0" becomes an RTMP listener.
	i := slices.Index(a, "-copyts")
	a = slices.Replace(a, i, i+5, "-listen", "1", "-f", "flv", "-i", listenURL)
	// No progress reports.
	i = slices.Index(a, "-progress")
	a = slices.Delete(a, i, i+4)
	// Output: MPEG-TS on stdout becomes HLS.
	i = slices.Index(a, "-muxdelay")
	a = a[:i]
	vsm := benchkit.VarStreamMap(plan)
	return append(a, "-f", "hls", "-hls_time", "2", "-hls_list_size", "6", "-hls_flags", "delete_segments+independent_segments",
		"-hls_segment_type", "fmp4", "-master_pl_name", "index.m3u8", "-var_stream_map", vsm,
		"-hls_segment_filename", filepath.Join(dir, "%v/%d.m4s"), filepath.Join(dir, "%v/index.m3u8"))
}

// freeAddr finds a free loopback TCP port.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// publishWhenListening publishes the source to url as soon as something
// listens there, and waits for the publish to end. A probing connection
// would use up ffmpeg's single -listen accept, so it just retries.
func publishWhenListening(source, url string) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		start := time.Now()
		err := publish(source, url).Wait()
		if err == nil {
			return
		}
		if time.Since(start) > 5*time.Second || time.Now().After(deadline) {
			log.Fatalf("publishing to the reference ffmpeg: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// perfRecord is a running `perf record` of one process, or nothing.
type perfRecord struct{ cmd *exec.Cmd }

// startPerf records pid's on-CPU samples with call graphs (Go keeps frame
// pointers) until stop, when -perf is set.
func (b *bench) startPerf(pid, round int) perfRecord {
	if b.perfDir == "" {
		return perfRecord{}
	}
	if err := os.MkdirAll(b.perfDir, 0o755); err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(b.perfDir, fmt.Sprintf("osprey-cpu-%d.perf.data", round))
	// --no-inherit: not the ffmpeg Osprey starts meanwhile.
	cmd := exec.Command("perf", "record", "-q", "--no-inherit", "-F", "499", "-g", "-p", strconv.Itoa(pid), "-o", out)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatalf("perf record: %v", err)
	}
	log.Printf("recording osprey (pid %d) into %s", pid, out)
	return perfRecord{cmd}
}

// stop ends the recording; perf writes its file on SIGINT.
func (p perfRecord) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait() // perf exits by the signal once its file is written
}
