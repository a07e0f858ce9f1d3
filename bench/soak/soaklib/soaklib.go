// Package soaklib is the soak test shared by `go run ./bench/soak` (30
// minutes, reported in docs/benchmarks.md) and the 2-minute e2e test
// (test/e2e/soak_test.go): the real osprey binary with the edge in front
// of its origin, one live channel published with ffmpeg over RTMP, viewers
// polling its HLS playlists and fetching every new segment through the
// edge, an upload every minute (waited for until ready, then deleted), and
// the osprey process's RSS, goroutines and open files sampled every
// second. The verdict: no stalls, no errors, and least-squares slopes over
// the second half of the run (after warm-up) under the thresholds.
//
// It lives outside bench/internal so that test/e2e can import it.
package soaklib

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Config is one soak run.
type Config struct {
	Bin         string        // osprey binary; "" builds it into Dir
	Dir         string        // work folder (data, config, clip); required
	Duration    time.Duration // how long the channel is watched
	Viewers     int           // HLS viewers through the edge; default 4
	UploadEvery time.Duration // one upload per period; default 1 minute
	AdminToken  string        // default "soak-admin-token"
	// ExtraYAML is appended to the generated config file (e.g. a
	// security section with higher rate limits).
	ExtraYAML string
	Thresholds
	Progress io.Writer // a line every 10 s and on events; nil discards
}

// Thresholds are the pass marks of a run.
type Thresholds struct {
	MaxRSSSlope       float64 // MiB per hour
	MaxGoroutineSlope float64 // goroutines per hour
	MaxFDSlope        float64 // open files per hour
	MaxStalls         int
	MaxErrors         int
}

// LongThresholds suit a 30-minute run: a flat process.
var LongThresholds = Thresholds{MaxRSSSlope: 20, MaxGoroutineSlope: 20, MaxFDSlope: 10}

// ShortThresholds suit a 2-minute run, whose one-minute fitting window
// sees single uploads and GC cycles as steep slopes: they catch gross
// leaks only (e.g. a file or goroutine left per segment request).
var ShortThresholds = Thresholds{MaxRSSSlope: 1200, MaxGoroutineSlope: 3000, MaxFDSlope: 1200}

// Sample is one reading of the osprey process.
type Sample struct {
	At         time.Duration // since the start of the run
	RSS        int64         // bytes
	Goroutines int           // -1 when /metrics does not expose go_goroutines
	FDs        int
}

// Result is what a run measured.
type Result struct {
	Duration time.Duration
	Samples  []Sample

	RSSSlope, GoroutineSlope, FDSlope float64 // per hour, over the second half
	GoroutinesExposed                 bool

	Stalls         int
	Errors         int
	FirstErrors    []string // the first few, for the report
	Segments       int64    // media segments fetched by all viewers
	PlaylistPolls  int64
	Uploads        int // uploads that became ready and were deleted
	ServerErrorLog int // ERROR lines in osprey's log (reported, not judged)
	ServerErrors   []string
}

// Failures lists the thresholds r exceeds; none means the run passed.
func (r Result) Failures(t Thresholds) []string {
	var f []string
	if r.Stalls > t.MaxStalls {
		f = append(f, fmt.Sprintf("%d stalls (at most %d)", r.Stalls, t.MaxStalls))
	}
	if r.Errors > t.MaxErrors {
		f = append(f, fmt.Sprintf("%d errors (at most %d)", r.Errors, t.MaxErrors))
	}
	if r.RSSSlope > t.MaxRSSSlope {
		f = append(f, fmt.Sprintf("RSS grows %.1f MiB/h (at most %.1f)", r.RSSSlope, t.MaxRSSSlope))
	}
	if r.GoroutinesExposed && r.GoroutineSlope > t.MaxGoroutineSlope {
		f = append(f, fmt.Sprintf("goroutines grow %.1f/h (at most %.1f)", r.GoroutineSlope, t.MaxGoroutineSlope))
	}
	if r.FDSlope > t.MaxFDSlope {
		f = append(f, fmt.Sprintf("open files grow %.1f/h (at most %.1f)", r.FDSlope, t.MaxFDSlope))
	}
	if r.Segments == 0 {
		f = append(f, "no segment was fetched")
	}
	return f
}

// Report writes r as the lines the soak command prints.
func (r Result) Report(w io.Writer) {
	last := Sample{}
	if n := len(r.Samples); n > 0 {
		last = r.Samples[n-1]
	}
	gor := "not exposed by /metrics"
	if r.GoroutinesExposed {
		gor = fmt.Sprintf("%+.1f /h (last %d)", r.GoroutineSlope, last.Goroutines)
	}
	fmt.Fprintf(w, "duration        %v (%d samples; slopes over the second half)\n", r.Duration.Round(time.Second), len(r.Samples))
	fmt.Fprintf(w, "RSS             %+.1f MiB/h (last %.1f MiB)\n", r.RSSSlope, float64(last.RSS)/(1<<20))
	fmt.Fprintf(w, "goroutines      %s\n", gor)
	fmt.Fprintf(w, "open files      %+.1f /h (last %d)\n", r.FDSlope, last.FDs)
	fmt.Fprintf(w, "stalls          %d\n", r.Stalls)
	fmt.Fprintf(w, "errors          %d\n", r.Errors)
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "                  %s\n", e)
	}
	fmt.Fprintf(w, "segments        %d fetched, %d playlist polls\n", r.Segments, r.PlaylistPolls)
	fmt.Fprintf(w, "uploads         %d ready and deleted\n", r.Uploads)
	fmt.Fprintf(w, "server ERRORs   %d\n", r.ServerErrorLog)
	for _, e := range r.ServerErrors {
		fmt.Fprintf(w, "                  %s\n", strings.TrimSpace(e))
	}
}

// Slope is the least-squares slope of ys over xs, or 0 with fewer than two
// distinct xs.
func Slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0
	}
	var sx, sy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for i := range xs {
		num += (xs[i] - mx) * (ys[i] - my)
		den += (xs[i] - mx) * (xs[i] - mx)
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// slopes fits RSS (MiB), goroutines and open files against hours over the
// second half of samples.
func slopes(samples []Sample) (rss, gor, fds float64) {
	half := samples[len(samples)/2:]
	xs := make([]float64, len(half))
	r, g, f := make([]float64, len(half)), make([]float64, len(half)), make([]float64, len(half))
	for i, s := range half {
		xs[i] = s.At.Hours()
		r[i] = float64(s.RSS) / (1 << 20)
		g[i] = float64(s.Goroutines)
		f[i] = float64(s.FDs)
	}
	return Slope(xs, r), Slope(xs, g), Slope(xs, f)
}
