// Command livebench measures Osprey's live path on this machine and prints
// the results as Markdown for docs/benchmarks.md:
//
//   - latency: from the moment a frame is sent to the moment the segment
//     holding it is listed in the 720p media playlist, using
//     EXT-X-PROGRAM-DATE-TIME against the wall clock;
//   - cpu: CPU-seconds per second of 720p30 input for the default ladder,
//     Osprey in total (Go process + its ffmpeg) against one plain ffmpeg
//     command producing the same ladder as HLS with the same encoder settings;
//   - latency-storage: the same latency with S3 storage (versitygw on
//     loopback) against file storage, alternating over -rounds;
//   - memory: resident memory of the osprey process per live channel,
//     ffmpeg excluded.
//
// Usage (from the repository root):
//
//	go run ./bench/livebench [-seconds 60] [-rounds 3] [-channels 4] [-perf DIR] [all|latency|latency-storage|cpu|memory]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

var verbose = flag.Bool("v", false, "log each measurement")

func main() {
	seconds := flag.Int("seconds", 60, "length of the published source, in seconds")
	channels := flag.Int("channels", 4, "channels published at once for the memory measurement")
	rounds := flag.Int("rounds", 3, "alternating rounds of the CPU comparison")
	bin := flag.String("osprey", "", "osprey binary (default: build ./cmd/osprey)")
	perfDir := flag.String("perf", "", "cpu: also record the osprey process with Linux perf into this folder")
	flag.Parse()
	what := flag.Arg(0)
	if what == "" {
		what = "all"
	}
	log.SetFlags(log.Ltime)

	work, err := os.MkdirTemp("", "livebench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	b := &bench{work: work, seconds: *seconds, osprey: *bin, perfDir: *perfDir}
	if b.osprey == "" {
		b.osprey = filepath.Join(work, "osprey")
		benchkit.Run("go", "build", "-o", b.osprey, "./cmd/osprey")
	}
	b.source = filepath.Join(work, "source-720p30.mp4")
	log.Printf("encoding a %d s 1280x720 30 fps source", b.seconds)
	makeSource(b.source, "1280x720", b.seconds)

	switch what {
	case "latency":
		b.latency()
	case "latency-storage":
		b.latencyStorage(*rounds)
	case "cpu":
		b.cpu(*rounds)
	case "memory":
		b.memory(*channels)
	case "all":
		b.latency()
		b.cpu(*rounds)
		b.memory(*channels)
	default:
		fmt.Fprintln(os.Stderr, "usage: livebench [flags] [all|latency|latency-storage|cpu|memory]")
		os.Exit(2)
	}
}

type bench struct {
	work    string
	seconds int
	osprey  string
	source  string
	perfDir string // -perf
}
