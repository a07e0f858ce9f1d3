// Command originbench measures the origin serving 1 MiB segment hits from
// the file backend against the S3 backend behind the read cache
// (storage/readcache), side by side in one run, with wrk on loopback, and
// prints the results as Markdown for docs/benchmarks.md. S3 without the
// cache is measured too, for context.
//
// One process serves the three variants, each with the origin handler
// (internal/origin, default configuration) on its own loopback port:
//
//   - fs: storage/fs on a temporary folder (served with sendfile);
//   - s3+cache: storage/s3 on a versitygw bucket, wrapped in readcache;
//   - s3: the same storage/s3 store without the cache.
//
// versitygw (the S3-compatible server of the tests, installed with go
// install when missing) runs as a child process with its data in a
// temporary folder; wrk is installed with apt-get when missing. The same
// -segments objects of 1 MiB are stored in both backends and checked
// byte for byte through every variant. For each round, the variants run
// one after another, the order rotating from round to round: a wrk
// warm-up, then the measured wrk run walking the segments round-robin.
// The report gives each round, the medians, and the requests/s ratios to
// fs (the goal for s3+cache: ≥ 0.9×), with the backend reads the
// cache made during the measured runs (0: all hits) and the CPU time of
// the serving process and of versitygw.
//
// Usage (from the repository root; about 3 × (warm-up + duration) per
// round):
//
//	go run ./bench/originbench [-rounds 5] [-duration 5s] [-warmup 2s] [-threads 2] [-conns 32] [-segments 32] [-cache-dir DIR]
package main

import (
	"flag"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/internal/config"
)

// opts are the command's settings.
type opts struct {
	rounds           int
	duration, warmup time.Duration
	threads, conns   int
	segments         int
	segmentSize      int
	cacheBytes       int64
	cacheDir         string // readcache Config.Dir; "" for memory files
	verbose          bool
}

func main() {
	var o opts
	flag.IntVar(&o.rounds, "rounds", 5, "rounds; the order of the variants rotates")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured wrk run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "wrk warm-up before each measured run (whole seconds; 0 for none)")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	flag.IntVar(&o.conns, "conns", 32, "wrk connections (-c)")
	flag.IntVar(&o.segments, "segments", 32, "segments walked round-robin")
	flag.IntVar(&o.segmentSize, "segment-size", 1<<20, "segment size in bytes")
	cache := flag.String("cache", "256MiB", "read cache budget (readcache MaxBytes)")
	flag.StringVar(&o.cacheDir, "cache-dir", "", "keep the cached segments in unnamed files in this folder (readcache Config.Dir) rather than in memory files")
	flag.BoolVar(&o.verbose, "v", false, "log wrk's output")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the serving process (all variants, measured runs and warm-ups) to this file")
	flag.Parse()
	var size config.ByteSize
	if err := size.UnmarshalText([]byte(*cache)); err != nil {
		log.Fatalf("-cache: %v", err)
	}
	o.cacheBytes = int64(size)
	if o.rounds < 1 || o.segments < 1 || o.segmentSize < 1 || o.duration < time.Second || o.threads < 1 || o.conns < o.threads {
		log.Fatal("-rounds, -segments, -segment-size must be positive, -duration at least 1s, -conns at least -threads")
	}
	log.SetFlags(log.Ltime)
	if err := benchkit.EnsureTools("wrk"); err != nil {
		log.Fatal(err)
	}
	b, err := setup(o)
	if err != nil {
		log.Fatal(err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer f.Close()
	}
	err = b.run()
	pprof.StopCPUProfile()
	b.close()
	if err != nil {
		log.Fatal(err)
	}
	b.report(os.Stdout)
}

// gomaxprocs is the serving process's GOMAXPROCS, for the report.
func gomaxprocs() int { return runtime.GOMAXPROCS(0) }
