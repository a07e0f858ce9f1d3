package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/internal/catalog"
)

// report prints the run as Markdown.
func (r *results) report(w io.Writer) {
	o := r.o
	fmt.Fprintf(w, "`go run ./bench/catalogbench -assets %d -rounds %d -n %d -c %d`, %s, %s, GOMAXPROCS %d, %s; load average %s when the measurements began.\n\n",
		o.assets, o.rounds, o.n, o.conns, r.start.UTC().Format("2006-01-02"), cpuModel(), runtime.GOMAXPROCS(0), runtime.Version(), r.load)
	fmt.Fprintf(w, "Catalog: %d assets (%s).\n\n", o.assets, statusMix(r.statuses))

	fmt.Fprintln(w, "| backend | seeding through the Store API | catalog on disk | walk to the deep cursor |")
	fmt.Fprintln(w, "| --- | ---: | --- | ---: |")
	for _, b := range r.backends {
		fmt.Fprintf(w, "| %s | %s (%.0f assets/s, %d writers) | %s | %d pages of %d in %s |\n", b.version, b.seedTime.Round(100*time.Millisecond),
			float64(o.assets)/b.seedTime.Seconds(), o.seedWorkers, b.size, b.walkPages, b.walkLimit, b.walkTime.Round(time.Millisecond))
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Medians over %d rounds; %d requests per row and round (limit=500: %d), one client at a time (c=1) or %d at once (c=%d). "+
		"\"ListAssets alone\" is the median of the store's ListAssets called directly for the same request, one at a time: the database's part of c=1's p50.\n\n",
		o.rounds, o.n, max(1, o.n/4), o.conns, o.conns)
	hdr := "| GET /api/v1/assets | clients |"
	sep := "| --- | ---: |"
	for _, b := range r.backends {
		hdr += fmt.Sprintf(" %s p50 | %s p99 | %s req/s | %s ListAssets alone |", b.name, b.name, b.name, b.name)
		sep += " ---: | ---: | ---: | ---: |"
	}
	if len(r.backends) == 2 {
		hdr += " p99 PG / SQLite | p50 PG / SQLite |"
		sep += " ---: | ---: |"
	}
	fmt.Fprintln(w, hdr)
	fmt.Fprintln(w, sep)
	for s, name := range r.scenarios {
		for m, conns := range [modes]int{1, o.conns} {
			row := fmt.Sprintf("| %s | %d |", name, conns)
			var p50s, p99s []float64
			for _, b := range r.backends {
				p50, p99, rps, store := medians(b.samples[s][m])
				p50s, p99s = append(p50s, p50), append(p99s, p99)
				alone := ""
				if m == modeSequential {
					alone = ms(store)
				}
				row += fmt.Sprintf(" %s | **%s** | %.0f | %s |", ms(p50), ms(p99), rps, alone)
			}
			if len(r.backends) == 2 {
				row += fmt.Sprintf(" %.2f× | %.2f× |", p99s[1]/p99s[0], p50s[1]/p50s[0])
			}
			fmt.Fprintln(w, row)
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "p99 in each round (ms):")
	fmt.Fprintln(w)
	hdr, sep = "| GET /api/v1/assets | clients |", "| --- | ---: |"
	for _, b := range r.backends {
		hdr += " " + b.name + " |"
		sep += " --- |"
	}
	hdr += " answer size |"
	sep += " ---: |"
	fmt.Fprintln(w, hdr)
	fmt.Fprintln(w, sep)
	for s, name := range r.scenarios {
		for m, conns := range [modes]int{1, o.conns} {
			row := fmt.Sprintf("| %s | %d |", name, conns)
			for _, b := range r.backends {
				var v []string
				for _, smp := range b.samples[s][m] {
					v = append(v, fmt.Sprintf("%.2f", float64(smp.p99)/float64(time.Millisecond)))
				}
				row += " " + strings.Join(v, " / ") + " |"
			}
			row += fmt.Sprintf(" %.1f KiB |", float64(r.backends[0].samples[s][m][0].bytes)/1024)
			fmt.Fprintln(w, row)
		}
	}
	for _, b := range r.backends {
		if b.plans != "" {
			fmt.Fprintf(w, "\n%s query plans:\n\n```\n%s```\n", b.name, b.plans)
		}
	}
}

// medians of p50, p99 and ListAssets alone (in milliseconds) and of
// requests/s over rounds.
func medians(s []sample) (p50, p99, rps, store float64) {
	var a, b, c, d []float64
	for _, x := range s {
		a = append(a, float64(x.p50)/float64(time.Millisecond))
		b = append(b, float64(x.p99)/float64(time.Millisecond))
		c = append(c, x.rps)
		d = append(d, float64(x.store)/float64(time.Millisecond))
	}
	return benchkit.Median(a), benchkit.Median(b), benchkit.Median(c), benchkit.Median(d)
}

func ms(v float64) string { return fmt.Sprintf("%.2f ms", v) }

func statusMix(m map[catalog.AssetStatus]int) string {
	var parts []string
	for _, st := range []catalog.AssetStatus{catalog.AssetReady, catalog.AssetFailed, catalog.AssetProcessing, catalog.AssetQueued, catalog.AssetImporting} {
		parts = append(parts, fmt.Sprintf("%d %s", m[st], st))
	}
	return strings.Join(parts, ", ")
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return fmt.Sprintf("%d × %s", runtime.NumCPU(), strings.TrimSpace(v))
		}
	}
	return "unknown CPU"
}
