package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// Modes of a measured run: one client, or opts.conns at once.
const (
	modeSequential = iota
	modeConcurrent
	modes
)

// result is what one backend measured.
type result struct {
	name      string
	version   string
	seedTime  time.Duration
	size      string // what the catalog takes on disk, as text
	walkLimit int
	walkPages int
	walkPos   int
	walkTime  time.Duration
	plans     string
	// samples[scenario][mode] has one sample per round.
	samples [][modes][]sample
}

// results is a whole run.
type results struct {
	o         opts
	scenarios []string
	fewer     []int // divisor of -n per scenario
	statuses  map[catalog.AssetStatus]int
	backends  []*result
	start     time.Time
	load      string // load average when the measurements began
}

// run sets up the backends, checks them, measures, and tears them down.
func run(ctx context.Context, o opts, logw io.Writer) (*results, error) {
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	progress := func(format string, args ...any) {
		fmt.Fprintf(logw, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	tmp, err := os.MkdirTemp("", "catalogbench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	var backends []*backend
	defer func() {
		for _, b := range backends {
			if err := b.close(); err != nil {
				progress("closing %s: %v", b.name, err)
			}
		}
	}()
	sq, err := openSQLite(ctx, tmp, log)
	if err != nil {
		return nil, err
	}
	backends = append(backends, sq)
	if o.postgres != "" {
		pg, err := openPostgres(ctx, o.postgres, log)
		if err != nil {
			return nil, err
		}
		backends = append(backends, pg)
	}

	const token = "catalogbench-admin-token"
	res := &results{o: o, start: time.Now()}
	clients := make([]*client, len(backends))
	scs := make([][]scenario, len(backends))
	for i, b := range backends {
		progress("%s: seeding %d assets", b.name, o.assets)
		r := &result{name: b.name}
		t := time.Now()
		idx, err := seed(ctx, b.store, o.seed, o.assets, o.seedWorkers)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		r.seedTime = time.Since(t)
		if err := settle(ctx, b.store); err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		res.statuses = idx.byStatus
		if r.version, r.size, err = describe(ctx, b.store); err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		progress("%s: seeded in %s (%.0f assets/s), %s", b.name, r.seedTime.Round(time.Millisecond), float64(o.assets)/r.seedTime.Seconds(), r.size)
		if err := b.serve(token, log); err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		clients[i] = newClient(b.base, token, o.conns)
		defer clients[i].close()
		walk := 500
		if o.assets < 5000 {
			walk = 10 // many pages even in a small catalog
		}
		cursor, pos, pages, took, err := clients[i].deepCursor(ctx, idx, walk)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		r.walkLimit, r.walkPos, r.walkPages, r.walkTime = walk, pos, pages, took
		scs[i] = scenarios(idx, cursor, pos)
		if err := clients[i].verify(ctx, scs[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", b.name, err)
		}
		if o.explain {
			if r.plans, err = explain(ctx, b.store, idx, pos); err != nil {
				return nil, fmt.Errorf("%s: %w", b.name, err)
			}
		}
		r.samples = make([][modes][]sample, len(scs[i]))
		res.backends = append(res.backends, r)
	}
	for _, sc := range scs[0] {
		res.scenarios = append(res.scenarios, sc.name)
		res.fewer = append(res.fewer, max(1, sc.fewer))
	}
	res.load = loadAverage()
	if o.cpuProfile != "" {
		stop, err := startProfile(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	for round := range o.rounds {
		for k := range backends {
			i := (k + round) % len(backends)
			for s, sc := range scs[i] {
				n := max(1, o.n/max(1, sc.fewer))
				for m, conns := range [modes]int{1, o.conns} {
					smp, err := clients[i].run(ctx, sc, n, conns, o.warmup)
					if err != nil {
						return nil, fmt.Errorf("%s, %s: %w", backends[i].name, sc.name, err)
					}
					if m == modeSequential {
						if smp.store, err = storeTime(ctx, backends[i].store, sc, max(1, n/4)); err != nil {
							return nil, fmt.Errorf("%s, %s: %w", backends[i].name, sc.name, err)
						}
					}
					res.backends[i].samples[s][m] = append(res.backends[i].samples[s][m], smp)
					progress("round %d %-10s %-50s c=%d n=%d p50 %-9s p99 %-9s %6.0f req/s, ListAssets alone %s", round+1, backends[i].name, sc.name, conns, n,
						smp.p50.Round(time.Microsecond), smp.p99.Round(time.Microsecond), smp.rps, smp.store.Round(time.Microsecond))
				}
			}
		}
	}
	return res, ctx.Err()
}

// startProfile starts a CPU profile into path; stop ends it.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// loadAverage is /proc/loadavg's first three fields, "" if unreadable.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	var a, b1, c string
	if _, err := fmt.Sscan(string(b), &a, &b1, &c); err != nil {
		return ""
	}
	return a + " " + b1 + " " + c
}

var errUnknownStore = errors.New("unknown catalog store type")
