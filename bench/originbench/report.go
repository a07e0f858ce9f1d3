package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/bench/internal/s3kit"
)

// report prints the results as Markdown.
func (b *bench) report(w io.Writer) {
	o := b.o
	benchkit.ReportHead(w, "originbench", benchkit.ToolVersion("wrk", "-v"), "versitygw "+s3kit.Module[strings.LastIndex(s3kit.Module, "@")+1:])
	fmt.Fprintf(w, "Load: `wrk -t%d -c%d -d%s --latency` on loopback walking %d segments of %d bytes round-robin, after a %s warm-up, "+
		"against the origin handler (default configuration) over each store, all three in one process (GOMAXPROCS=%d) on ports of their own; "+
		"versitygw on loopback with a posix folder; the read cache with a %d MiB budget, segments in %s. "+
		"The variants run one at a time, the order rotating by round. CPU is user + system time during the measured run, from /proc.\n\n",
		o.threads, o.conns, o.duration, o.segments, o.segmentSize, o.warmup, gomaxprocs(), o.cacheBytes>>20, cacheWhere(o.cacheDir))

	fmt.Fprintln(w, "| round | first | fs req/s | S3+cache req/s | **S3+cache / fs** | S3 req/s | S3 / fs | fs p99 | S3+cache p99 | S3 p99 | fs req per CPU-s | S3+cache req per CPU-s | **per CPU-s S3+cache / fs** | S3 req per CPU-s |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	var fsR, cR, sR, cRatio, sRatio, fsP, cP, sP, fsE, cE, sE, eRatio []float64
	var loads, errs int64
	var others, wrkCPU time.Duration
	for k, rd := range b.rounds {
		f, c, s := rd.results[nameFS], rd.results[nameS3Cache], rd.results[nameS3]
		fmt.Fprintf(w, "| %d | %s | %.0f | %.0f | **%.3f×** | %.0f | %.3f× | %s | %s | %s | %.0f | %.0f | **%.3f×** | %.0f |\n",
			k+1, rd.order[0], f.RPS(), c.RPS(), c.RPS()/f.RPS(), s.RPS(), s.RPS()/f.RPS(), fmtMs(f.P99), fmtMs(c.P99), fmtMs(s.P99),
			f.perCPU(), c.perCPU(), c.perCPU()/f.perCPU(), s.perCPU())
		fsR, cR, sR = append(fsR, f.RPS()), append(cR, c.RPS()), append(sR, s.RPS())
		cRatio, sRatio = append(cRatio, c.RPS()/f.RPS()), append(sRatio, s.RPS()/f.RPS())
		fsP, cP, sP = append(fsP, ms(f.P99)), append(cP, ms(c.P99)), append(sP, ms(s.P99))
		fsE, cE, sE, eRatio = append(fsE, f.perCPU()), append(cE, c.perCPU()), append(sE, s.perCPU()), append(eRatio, c.perCPU()/f.perCPU())
		loads += c.s3Loads
		for _, m := range rd.results {
			errs += m.Errors
			others, wrkCPU = max(others, m.others), max(wrkCPU, m.CPU)
		}
	}
	med := benchkit.Median
	fmt.Fprintf(w, "| **median** | | %.0f | %.0f | **%.3f×** | %.0f | %.3f× | %.2f ms | %.2f ms | %.2f ms | %.0f | %.0f | **%.3f×** | %.0f |\n\n",
		med(fsR), med(cR), med(cRatio), med(sR), med(sRatio), med(fsP), med(cP), med(sP), med(fsE), med(cE), med(eRatio), med(sE))
	fmt.Fprintf(w, "Req per CPU-s counts the CPU time of the serving process and of versitygw. "+
		"Other processes used up to %.2f CPU-s during a measured run, and wrk up to %.2f CPU-s, of %.0f CPU-s available.\n\n",
		others.Seconds(), wrkCPU.Seconds(), o.duration.Seconds()*float64(runtime.NumCPU()))
	fmt.Fprintf(w, "Checks: every segment was read back byte for byte through each variant before the rounds; "+
		"backend reads by the cache during the measured runs: %d (0 = all hits); wrk errors (socket errors, timeouts, non-2xx/3xx) over all runs: %d.\n\n",
		loads, errs)
	dirFlag := ""
	if o.cacheDir != "" {
		dirFlag = " -cache-dir " + o.cacheDir
	}
	fmt.Fprintf(w, "Reproduce: `go run ./bench/originbench -rounds %d -duration %s -warmup %s -threads %d -conns %d -segments %d%s`\n",
		o.rounds, o.duration, o.warmup, o.threads, o.conns, o.segments, dirFlag)
}

// cacheWhere says where the cache keeps segments.
func cacheWhere(dir string) string {
	if dir == "" {
		return "memory files (memfd)"
	}
	return "unnamed files (O_TMPFILE) in " + dir
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }
