// Command soak runs Osprey for a long time under a steady mixed load and
// checks that nothing leaks: the real binary with the edge in front of its
// origin, one live channel published with ffmpeg, HLS viewers through the
// edge, an upload every minute; RSS, goroutines and open files sampled
// every second. It prints the slopes over the second half of the run,
// stalls and errors, and exits 1 if a threshold is exceeded.
//
//	go run ./bench/soak -duration 30m
//
// The 2-minute version runs in CI as test/e2e/soak_test.go.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/ospreyvideo/osprey/bench/soak/soaklib"
)

func main() {
	def := soaklib.LongThresholds
	var cfg soaklib.Config
	flag.DurationVar(&cfg.Duration, "duration", 30*time.Minute, "how long to run after the stream is up")
	flag.IntVar(&cfg.Viewers, "viewers", 4, "HLS viewers through the edge")
	flag.DurationVar(&cfg.UploadEvery, "upload-every", time.Minute, "period of the upload-ready-delete cycle")
	flag.StringVar(&cfg.Bin, "bin", "", "osprey binary (default: build it into a temporary folder)")
	flag.Float64Var(&cfg.MaxRSSSlope, "max-rss-slope", def.MaxRSSSlope, "largest RSS growth, MiB/hour")
	flag.Float64Var(&cfg.MaxGoroutineSlope, "max-goroutine-slope", def.MaxGoroutineSlope, "largest goroutine growth, per hour")
	flag.Float64Var(&cfg.MaxFDSlope, "max-fd-slope", def.MaxFDSlope, "largest open-file growth, per hour")
	flag.IntVar(&cfg.MaxStalls, "max-stalls", 0, "stalls allowed")
	flag.IntVar(&cfg.MaxErrors, "max-errors", 0, "errors allowed")
	extra := flag.String("config-extra", "", "YAML file appended to the generated osprey config (e.g. security limits)")
	flag.Parse()
	if *extra != "" {
		b, err := os.ReadFile(*extra)
		if err != nil {
			log.Fatal(err)
		}
		cfg.ExtraYAML = string(b)
	}
	dir, err := os.MkdirTemp("", "osprey-soak-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg.Dir = dir
	cfg.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := soaklib.Run(ctx, cfg)
	if err != nil {
		log.Printf("soak: %v", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	res.Report(os.Stdout)
	if f := res.Failures(cfg.Thresholds); len(f) > 0 {
		for _, s := range f {
			fmt.Println("FAIL", s)
		}
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Println("PASS")
}
