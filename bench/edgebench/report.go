package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// report prints the results as Markdown.
func (b *bench) report(w io.Writer) {
	o := b.o
	benchkit.ReportHead(w, "edgebench", benchkit.ToolVersion("nginx", "-v"), benchkit.ToolVersion("wrk", "-v"))
	fmt.Fprintf(w, "Load: `wrk -t%d -c%d -d%s --latency` on loopback with a Lua script walking %d paths round-robin "+
		"(each thread starting elsewhere in the list), after a %s warm-up per working set; "+
		"osprey with GOMAXPROCS=%d, nginx with worker_processes %d; one edge running at a time, the order alternating by round. "+
		"CPU is the edge's user + system time during the measured run (osprey: its process; nginx: master and workers), from /proc.\n\n",
		o.threads, o.conns, o.duration, o.objects, o.warmup, o.cores, o.cores)

	for i, set := range b.sets {
		title := map[string]string{"segments": "1 MiB segment hits", "playlists": "1 KiB playlist hits"}[set.name]
		fmt.Fprintf(w, "### %s (%d objects round-robin)\n\n", title, len(set.paths))
		b.hitTable(w, i)
	}
	b.stormTable(w)
	b.accessTable(w)
	b.commands(w)
}

// hitTable prints the rounds of working set i and their medians.
func (b *bench) hitTable(w io.Writer, i int) {
	if slices.Contains(b.o.edges, ospreyRLOn) && slices.Contains(b.o.edges, ospreyRLOff) {
		b.rateLimitTable(w, i)
		return
	}
	if len(b.o.edges) != 2 {
		b.singleTable(w, i)
		return
	}
	fmt.Fprintln(w, "| round | first | nginx req/s | Osprey req/s | **req/s ratio Osprey/nginx** | nginx p99 | Osprey p99 | p99 ratio nginx/Osprey | nginx CPU | Osprey CPU | nginx req per CPU-s | Osprey req per CPU-s |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var nr, orps, rr, np, op, pr, nc, oc, ne, oe []float64
	var originReqs, errs [2]int64
	var others, wrkCPU time.Duration
	for k, rd := range b.rounds {
		n, s := rd.results[nginxName].hits[i], rd.results[ospreyName].hits[i]
		ratio := s.RPS() / n.RPS()
		p99 := n.P99.Seconds() / s.P99.Seconds()
		nEff, oEff := float64(n.Requests)/n.cpu.Seconds(), float64(s.Requests)/s.cpu.Seconds()
		fmt.Fprintf(w, "| %d | %s | %.0f | %.0f | **%.3f×** | %s | %s | %.3f× | %.2f s | %.2f s | %.0f | %.0f |\n",
			k+1, rd.order[0], n.RPS(), s.RPS(), ratio, fmtMs(n.P99), fmtMs(s.P99), p99,
			n.cpu.Seconds(), s.cpu.Seconds(), nEff, oEff)
		nr, orps, rr = append(nr, n.RPS()), append(orps, s.RPS()), append(rr, ratio)
		np, op, pr = append(np, n.P99.Seconds()*1000), append(op, s.P99.Seconds()*1000), append(pr, p99)
		nc, oc, ne, oe = append(nc, n.cpu.Seconds()), append(oc, s.cpu.Seconds()), append(ne, nEff), append(oe, oEff)
		originReqs[0], originReqs[1] = originReqs[0]+n.originReqs, originReqs[1]+s.originReqs
		errs[0], errs[1] = errs[0]+n.Errors, errs[1]+s.Errors
		others = max(others, n.others, s.others)
		wrkCPU = max(wrkCPU, n.CPU, s.CPU)
	}
	m := benchkit.Median
	fmt.Fprintf(w, "| **median** | | %.0f | %.0f | **%.3f×** | %.2f ms | %.2f ms | %.3f× | %.2f s | %.2f s | %.0f | %.0f |\n\n",
		m(nr), m(orps), m(rr), m(np), m(op), m(pr), m(nc), m(oc), m(ne), m(oe))
	fmt.Fprintf(w, "Checks over all rounds: origin requests during the measured runs nginx %d, Osprey %d (0 = all hits); "+
		"wrk errors (socket errors, timeouts, non-2xx/3xx) nginx %d, Osprey %d. "+
		"At most %.2f CPU-s were used by other processes during a measured run, and wrk used at most %.2f CPU-s, of %.0f CPU-s available.\n\n",
		originReqs[0], originReqs[1], errs[0], errs[1], others.Seconds(), wrkCPU.Seconds(), b.o.duration.Seconds()*float64(runtime.NumCPU()))
}

// rateLimitTable prints the rounds of working set i with the rate limiter
// on against off, and their medians (goal: on/off ≥ 0.97×).
func (b *bench) rateLimitTable(w io.Writer, i int) {
	fmt.Fprintln(w, "| round | first | limiter off req/s | limiter on req/s | **req/s ratio on/off** | off p99 | on p99 | off CPU | on CPU | off req per CPU-s | on req per CPU-s |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var ratios, effRatios []float64
	var errs [2]int64
	for k, rd := range b.rounds {
		off, on := rd.results[ospreyRLOff].hits[i], rd.results[ospreyRLOn].hits[i]
		ratio := on.RPS() / off.RPS()
		offEff, onEff := float64(off.Requests)/off.cpu.Seconds(), float64(on.Requests)/on.cpu.Seconds()
		fmt.Fprintf(w, "| %d | %s | %.0f | %.0f | **%.3f×** | %s | %s | %.2f s | %.2f s | %.0f | %.0f |\n",
			k+1, rd.order[0], off.RPS(), on.RPS(), ratio, fmtMs(off.P99), fmtMs(on.P99),
			off.cpu.Seconds(), on.cpu.Seconds(), offEff, onEff)
		ratios, effRatios = append(ratios, ratio), append(effRatios, onEff/offEff)
		errs[0], errs[1] = errs[0]+off.Errors, errs[1]+on.Errors
	}
	m := benchkit.Median
	fmt.Fprintf(w, "\nMedian req/s ratio on/off **%.3f×** (goal ≥ 0.97×); requests per CPU-second on/off %.3f×. "+
		"wrk errors (non-2xx included, so any 429) off %d, on %d: both must be 0.\n\n", m(ratios), m(effRatios), errs[0], errs[1])
}

// singleTable prints the rounds of working set i for one edge alone.
func (b *bench) singleTable(w io.Writer, i int) {
	fmt.Fprintln(w, "| round | edge | req/s | p50 | p99 | CPU | req per CPU-s | origin requests | wrk errors | wrk CPU | others' CPU |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for k, rd := range b.rounds {
		for _, name := range b.o.edges {
			r := rd.results[name].hits[i]
			fmt.Fprintf(w, "| %d | %s | %.0f | %s | %s | %.2f s | %.0f | %d | %d | %.2f s | %.2f s |\n", k+1, name, r.RPS(),
				fmtMs(r.P50), fmtMs(r.P99), r.cpu.Seconds(), float64(r.Requests)/r.cpu.Seconds(), r.originReqs, r.Errors,
				r.CPU.Seconds(), r.others.Seconds())
		}
	}
	fmt.Fprintln(w)
}

// stormTable prints the miss storms.
func (b *bench) stormTable(w io.Writer) {
	o := b.o
	how := "one object after another, each requested by all its clients at one instant"
	wall := "mean wall per object (barrier to last byte)"
	if o.stormTogether {
		how, wall = "all requests at one instant", "wall (barrier to last byte)"
	}
	fmt.Fprintf(w, "### Miss storm: %d fresh 1 MiB objects × %d clients each, %s; the origin answers after %s\n\n",
		o.stormObjects, o.stormConns, how, o.stormDelay)
	fmt.Fprintf(w, "| round | edge | origin requests per object (min–max) | total origin requests | clients with the full, identical body | %s | client p50 | client p99 | origin: last request after the barrier | origin: slowest answer start |\n", wall)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for k, rd := range b.rounds {
		for _, name := range b.o.edges {
			s := rd.results[name].storm
			lo, hi := s.MinMax()
			span := fmt.Sprint(lo)
			if hi != lo {
				span = fmt.Sprintf("%d–%d", lo, hi)
			}
			wall := s.Wall
			if !o.stormTogether {
				wall /= time.Duration(s.Objects)
			}
			fmt.Fprintf(w, "| %d | %s | %s | %d | %d / %d | %s | %s | %s | %s | %s |\n", k+1, name, span, s.Total(),
				s.Complete, s.Objects*s.Clients, fmtMs(wall), fmtMs(s.Percentile(50)), fmtMs(s.Percentile(99)),
				fmtMs(s.Origin.LastArrival), fmtMs(s.Origin.SlowestStart))
		}
	}
	for k, rd := range b.rounds {
		for _, name := range b.o.edges {
			for kind, n := range rd.results[name].storm.Kinds {
				fmt.Fprintf(w, "\nRound %d, %s: %d clients failed with %q.\n", k+1, name, n, kind)
			}
		}
	}
	fmt.Fprintf(w, "\nClient latency runs from the request to the last byte; the origin's columns are measured in the origin: the latest a storm request reached it after the clients were released, and its slowest start of an answer after a request arrived (its %s delay included).\n\n", o.stormDelay)
}

// accessTable shows that both edges wrote an access log line per request.
func (b *bench) accessTable(w io.Writer) {
	fmt.Fprintln(w, "Access logs (equal work: one JSON line per request, buffered, flushed every second):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| round | edge | lines | bytes per line |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for k, rd := range b.rounds {
		for _, name := range b.o.edges {
			r := rd.results[name]
			fmt.Fprintf(w, "| %d | %s | %d | %.0f |\n", k+1, name, r.accessLines, perLine(r))
		}
	}
	fmt.Fprintln(w)
}

func perLine(r *serverRound) float64 {
	if r.accessLines == 0 {
		return 0
	}
	return float64(r.accessBytes) / float64(r.accessLines)
}

// commands prints the command lines and nginx's configuration.
func (b *bench) commands(w io.Writer) {
	o := b.o
	fmt.Fprintln(w, "Commands (DIR is a fresh temporary folder per round and edge; ORIGIN the in-process origin):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "```sh")
	fmt.Fprintln(w, cmdline("go", append([]string{"run", "./bench/edgebench"}, os.Args[1:]...))+"   # reproduces all of this")
	for _, name := range o.edges {
		if isOsprey(name) {
			fmt.Fprintln(w, "GOMAXPROCS="+fmt.Sprint(o.cores)+" OSPREY_ADMIN_TOKEN=... "+cmdline("osprey", ospreyArgs(name, "http://ORIGIN", "127.0.0.1:PORT", "DIR", o)))
			if conf := rateLimitConfig(name); conf != "" {
				fmt.Fprintf(w, "# DIR/security.yaml of %s:\n# %s\n", name, strings.ReplaceAll(strings.TrimSpace(conf), "\n", "\n# "))
			}
		}
	}
	fmt.Fprintln(w, cmdline("nginx", nginxArgs("DIR")))
	fmt.Fprintln(w, cmdline("wrk", wrkArgs(o, o.duration, "DIR/segments.lua", "http://127.0.0.1:PORT")))
	fmt.Fprintln(w, "```")
	fmt.Fprintln(w)
	if b.nginxConf != "" {
		fmt.Fprintln(w, "<details><summary>nginx.conf (last round)</summary>")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "```nginx")
		fmt.Fprint(w, b.nginxConf)
		fmt.Fprintln(w, "```")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "</details>")
	}
}
