// Command catalogbench measures GET /api/v1/assets on a catalog of
// 100,000 assets, on SQLite and on PostgreSQL side by side in one run, and
// prints the results as Markdown for docs/benchmarks.md.
//
// For each backend it opens the real catalog (catalog/sqlite on a file in
// a temporary folder; catalog/postgres on a fresh database created on the
// -postgres server and dropped at the end), seeds the same generated
// assets through the Store API (a realistic mix: mostly ready, some
// failed, a recent tail queued, importing or processing; half from tus
// uploads; created over two years, denser towards now), and serves the
// real API handler (api.New over that catalog, with an admin token) on a
// loopback port. It then checks the answers of every request kind against
// what it seeded and measures, round after round, the backends' order
// alternating:
//
//   - the first page (the default limit, 50);
//   - a deep page: the page after a cursor 9/10 into the catalog, reached
//     by walking next_cursor 500 assets at a time;
//   - status=failed (about 6 % of the assets);
//   - upload_id=… (one asset each; 100 IDs spread over the catalog, in turn);
//   - limit=500, the largest page.
//
// Each kind is sent -n times by one client (one request at a time) and
// -n times by -c concurrent clients, after -warmup requests. The report
// gives each round's p99, the medians over rounds of p50, p99 and
// requests/s, and the ratios PostgreSQL / SQLite. The client runs in the
// same process as the server, so both share the machine's cores.
//
// Usage (from the repository root; a few minutes at the defaults, most
// of it seeding):
//
//	go run ./bench/catalogbench [-assets 100000] [-rounds 3] [-n 400] [-c 4] [-postgres URL] [-explain] [-cpuprofile FILE]
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
)

// opts are the command's settings.
type opts struct {
	assets      int
	rounds      int
	n, conns    int
	warmup      int
	seed        uint64
	seedWorkers int
	postgres    string // admin URL; "" skips PostgreSQL (tests only)
	explain     bool
	cpuProfile  string // file for a CPU profile of the measured rounds; "" for none
}

// defaultPostgres is the server the tests and this tool use unless told
// otherwise.
const defaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func main() {
	o := opts{}
	pg := defaultPostgres
	if u := os.Getenv("OSPREY_TEST_POSTGRES"); u != "" {
		pg = u
	}
	flag.IntVar(&o.assets, "assets", 100_000, "assets in the catalog")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds; the backends' order alternates")
	flag.IntVar(&o.n, "n", 400, "requests per kind, per mode, per round")
	flag.IntVar(&o.conns, "c", 4, "concurrent clients in the concurrent mode")
	flag.IntVar(&o.warmup, "warmup", 20, "warm-up requests before each measured run")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the generated catalog")
	flag.IntVar(&o.seedWorkers, "seed-workers", 4, "goroutines inserting assets while seeding")
	flag.StringVar(&o.postgres, "postgres", pg, "postgres:// URL of a role that may CREATE DATABASE (default: $OSPREY_TEST_POSTGRES or the local server)")
	flag.BoolVar(&o.explain, "explain", false, "print each backend's query plans for the measured requests")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured rounds (server and client: one process) to this file")
	flag.Parse()
	if o.assets < 100 || o.rounds < 1 || o.n < 1 || o.conns < 1 || o.warmup < 0 || o.seedWorkers < 1 {
		log.Fatal("-assets must be at least 100; -rounds, -n, -c, -seed-workers positive; -warmup not negative")
	}
	log.SetFlags(log.Ltime)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, o, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	res.report(os.Stdout)
}
