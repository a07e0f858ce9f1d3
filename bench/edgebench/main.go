// Command edgebench measures `osprey edge` side by side with Debian's nginx
// configured as an equivalent caching proxy (proxy_cache), both in front of
// the same origin, loaded with wrk on loopback, and prints the results as
// Markdown for docs/benchmarks.md.
//
// The origin is an HTTP server inside this process: 1 MiB segments
// (/seg/{n}.m4s, immutable for a year), 1 KiB playlists
// (/live/{n}/index.m3u8, max-age=60) and, for the miss storm, segments that
// answer after a delay (/storm/{label}/{n}.m4s); it counts its requests per
// path. For each round, one edge at a time (the other is not running; the
// order alternates from round to round):
//
//   - start it with a fresh cache; fetch every path until the answer is a
//     cache hit; warm up with wrk;
//   - segment hits: wrk walks 32 segments round-robin (a Lua script); then
//     playlist hits the same way over 32 playlists. Requests/s, p99 latency
//     (wrk's histogram), the server's CPU time during the run (/proc), and
//     the origin requests during the run (must be 0);
//   - miss storm: 20 fresh objects, one after another (or all at once with
//     -storm-together), each requested by 200 clients at the same instant
//     (each client's connection is opened first, then a barrier); origin
//     requests per object, whether every client got the complete body,
//     identical to the origin's, and when the origin saw the requests.
//
// With -profile DIR it then records perf profiles of each edge under the
// same loads (extra, unmeasured runs). -edges nginx runs one edge alone,
// to test the harness.
//
// With -ratelimit, the two edges are instead osprey with its per-client
// rate limiter off (osprey-rl-off: security.rate_limits.media rate 0) and
// on (osprey-rl-on: a media limit no benchmark client reaches, 10^6/s, so
// every request pays for the check and none is refused); loopback is not
// exempt in either (security.unlimited_clients: []). The report then gives
// the on/off ratio of hit throughput, the goal being ≥ 0.97×:
//
//	go run ./bench/edgebench -ratelimit -rounds 3
//
// and, to check the harness in one short round:
//
//	go run ./bench/edgebench -ratelimit -rounds 1 -duration 1s -warmup 1s -storm-objects 2 -storm-clients 10
//
// nginx and wrk are installed with apt-get when missing. nginx runs as a
// foreground child with its configuration, pid, logs, temp files and cache
// in a temporary folder; the system service is never started.
//
// Usage (from the repository root; about 100 s per round):
//
//	go run ./bench/edgebench [-rounds 3] [-osprey bin/osprey] [-duration 10s] [-threads 2] [-conns 64] [-profile DIR]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/internal/config"
)

const (
	nginxName  = "nginx"
	ospreyName = "osprey"
	// osprey with its rate limiter off and on (-ratelimit).
	ospreyRLOff = "osprey-rl-off"
	ospreyRLOn  = "osprey-rl-on"
)

// isOsprey reports whether the edge named name is an osprey variant.
func isOsprey(name string) bool {
	return name == ospreyName || name == ospreyRLOff || name == ospreyRLOn
}

// opts are the command's settings.
type opts struct {
	rounds                   int
	osprey                   string
	threads, conns           int
	duration, warmup         time.Duration
	objects                  int // segments and playlists in each working set
	cores                    int // GOMAXPROCS for osprey, worker_processes for nginx
	cacheMemory, cacheDisk   string
	diskBytes                int64
	stormObjects, stormConns int
	stormDelay               time.Duration
	stormTogether            bool
	profile                  string // folder for perf profiles of the edges; "" none
	edges                    []string
	ospreyExtra              []string // more osprey edge arguments
	verbose                  bool
}

func main() {
	var o opts
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; the order of the two edges alternates")
	flag.StringVar(&o.osprey, "osprey", "", "osprey binary (default: build ./cmd/osprey)")
	flag.IntVar(&o.threads, "threads", 2, "wrk threads (-t)")
	flag.IntVar(&o.conns, "conns", 64, "wrk connections (-c)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured wrk run (whole seconds)")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "wrk warm-up before the measured runs (whole seconds)")
	flag.IntVar(&o.objects, "objects", 32, "segments, and playlists, in the working sets walked round-robin")
	flag.IntVar(&o.cores, "cores", runtime.NumCPU(), "GOMAXPROCS of osprey and worker_processes of nginx")
	flag.StringVar(&o.cacheMemory, "cache-memory", "1GiB", "osprey --cache-memory")
	flag.StringVar(&o.cacheDisk, "cache-disk", "10GiB", "osprey --cache-disk, and nginx's proxy_cache_path max_size")
	flag.IntVar(&o.stormObjects, "storm-objects", 20, "fresh objects in the miss storm")
	flag.IntVar(&o.stormConns, "storm-clients", 200, "clients requesting each storm object at the same instant")
	flag.BoolVar(&o.stormTogether, "storm-together", false, "storm all objects at the same instant (default: one object after another)")
	flag.DurationVar(&o.stormDelay, "storm-delay", 50*time.Millisecond, "origin delay before answering a storm object")
	flag.StringVar(&o.profile, "profile", "", "after the rounds, record perf profiles of each edge under the same loads into this folder")
	flag.BoolVar(&o.verbose, "v", false, "log wrk's output")
	edges := flag.String("edges", "nginx,osprey", "edges to measure (one alone: no comparison, to test the harness)")
	rateLimit := flag.Bool("ratelimit", false, "measure osprey with its rate limiter on against off, in the same run, instead of nginx against osprey")
	extra := flag.String("osprey-args", "", "more arguments for osprey edge, space-separated (e.g. \"--origin-timeout 5s\")")
	flag.Parse()
	o.ospreyExtra = strings.Fields(*extra)
	o.edges = strings.Split(*edges, ",")
	if *rateLimit {
		o.edges = []string{ospreyRLOff, ospreyRLOn}
	}
	for i, e := range o.edges {
		if (e != nginxName && !isOsprey(e)) || slices.Contains(o.edges[:i], e) {
			log.Fatalf("-edges: %q: want nginx, osprey (or %s, %s) or both, each once", *edges, ospreyRLOff, ospreyRLOn)
		}
	}
	log.SetFlags(log.Ltime)
	var disk config.ByteSize
	if err := disk.UnmarshalText([]byte(o.cacheDisk)); err != nil {
		log.Fatalf("-cache-disk: %v", err)
	}
	o.diskBytes = int64(disk)
	if o.rounds < 1 || o.objects < 1 || o.stormObjects < 1 || o.stormConns < 1 || o.duration < time.Second {
		log.Fatal("-rounds, -objects, -storm-objects and -storm-clients must be positive, -duration at least 1s")
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o opts) error {
	if err := benchkit.EnsureTools("nginx", "wrk"); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "edgebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if err := os.Chmod(work, 0o755); err != nil { // nginx's workers walk into it
		return err
	}
	if o.osprey == "" && slices.ContainsFunc(o.edges, isOsprey) {
		o.osprey = filepath.Join(work, "osprey")
		log.Print("building osprey")
		benchkit.Run("go", "build", "-o", o.osprey, "./cmd/osprey")
	}
	org, err := startOrigin(o.stormDelay)
	if err != nil {
		return err
	}
	defer org.close()
	b, err := newBench(o, work, org)
	if err != nil {
		return err
	}
	for r := range o.rounds {
		order := slices.Clone(o.edges)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		rd := round{order: order, results: map[string]*serverRound{}}
		for _, name := range order {
			log.Printf("round %d: %s", r+1, name)
			res, err := b.measure(name, r+1)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, name, err)
			}
			rd.results[name] = res
		}
		b.rounds = append(b.rounds, rd)
	}
	if o.profile != "" {
		if err := b.profileEdges(); err != nil {
			return fmt.Errorf("profiling: %w", err)
		}
	}
	b.report(os.Stdout)
	return nil
}
