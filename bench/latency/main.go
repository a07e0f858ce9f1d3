// Command latency measures Osprey's glass-to-glass latency in real players
// and the cost of low-latency parts, and prints Markdown tables for
// docs/benchmarks.md with the command that produced them.
//
// It builds and runs the real osprey binary (a temporary data directory,
// loopback ports, the embedded defaults), creates a channel through the API
// and publishes to it over RTMP with ffmpeg: a 1280x720 30 fps testsrc2
// pattern with a tone, encoded live with x264 -tune zerolatency and a fixed
// keyframe interval (-gop). Each round then:
//
//   - for each ladder (-ladders: "passthrough" is the input rung alone and
//     untouched, from a configuration file whose ladder has no transcoded
//     rung, since the built-in passthrough preset also offers the transcoded
//     rungs; any other name is an osprey serve --ladder preset, such as
//     "default", the transcoded ladder), plays the channel's player page in
//     headless Chromium with test/e2e/browser/play.mjs for -seconds: hls.js
//     with lowLatencyMode (LL-HLS), dash.js in its low-latency mode (LL-DASH),
//     and hls.js with lowLatencyMode false (plain HLS: whole segments, the
//     same channel and playlists). Latency is the page's: wall clock less the
//     playhead's EXT-X-PROGRAM-DATE-TIME (hls.js) or dash.js's live latency
//     from the producer reference time (dash.js); Osprey stamps the instant a
//     frame reached ingest, so this is ingest-to-screen. Stalls are the
//     playhead stuck ≥ 500 ms after startup. The players play one after
//     another, each in a fresh Chromium, a different one first each round
//     (-players sequential, the default), or at once in one Chromium, a tab
//     each (concurrent: a third of the time, but on 2 cores three decoders
//     and three startups compete, and hls.js then joins seconds behind and
//     stays there; see notes/issue11/latbench.md);
//   - for the cost of parts, runs the -cost-ladder twice, with
//     --part-duration 200ms and --part-duration 0, and measures Osprey's CPU
//     (/proc/PID/stat: the Go process, and its ffmpeg children apart) over a
//     window without viewers (-cost-seconds/2) and one of -cost-seconds with
//     -viewers emulated HTTP viewers:
//     LL-HLS viewers (blocking playlist reloads with _HLS_msn/_HLS_part, then
//     the new parts) against the parts, plain HLS viewers (playlist reload
//     every target duration, then the new segments) without, each following
//     the first video variant and the audio rendition, as hls.js does. Their
//     requests and bytes per second are counted by the viewers themselves.
//
// Medians are over rounds (of each round's median; p95 likewise). Usage, from
// the repository root:
//
//	go run ./bench/latency [-rounds 10] [-seconds 60] [-gop 2s] [-segment 2s]
//	    [-ladders passthrough,default] [-players sequential|concurrent]
//	    [-viewers 10] [-cost-seconds 30] [-cost-ladder default] [-osprey BIN] [-v]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// config is what the flags chose.
type config struct {
	rounds     int
	seconds    int
	gop        time.Duration // publisher keyframe interval
	segment    time.Duration // --segment-duration
	part       time.Duration // --part-duration of the latency runs
	keyframes  time.Duration // --keyframe-interval (0: osprey's default)
	ladders    []string
	players    string // "concurrent" or "sequential"
	viewers    int    // emulated viewers of the cost runs
	costSecs   int    // cost window with viewers; half of it without
	costLadder string // "" skips the cost runs
	preset     string // publisher's x264 preset
	osprey     string
	playJS     string
	chromium   string
	verbose    bool
}

func main() {
	c := config{}
	flag.IntVar(&c.rounds, "rounds", 10, "rounds; each plays every ladder and runs the cost comparison")
	flag.IntVar(&c.seconds, "seconds", 60, "seconds each player plays, per ladder and round")
	flag.DurationVar(&c.gop, "gop", 2*time.Second, "publisher keyframe interval: 1s or 2s")
	flag.DurationVar(&c.segment, "segment", 2*time.Second, "osprey --segment-duration")
	flag.DurationVar(&c.part, "part", 200*time.Millisecond, "osprey --part-duration of the latency runs")
	flag.DurationVar(&c.keyframes, "keyframe-interval", 0, "osprey --keyframe-interval of the transcoded rungs (0: osprey's default)")
	ladders := flag.String("ladders", "passthrough,default", "comma-separated ladders to play: passthrough (the input rung alone, untouched) or an osprey --ladder preset")
	flag.StringVar(&c.players, "players", "sequential", "sequential (one player after another, a Chromium each) or concurrent (one Chromium, three tabs)")
	flag.IntVar(&c.viewers, "viewers", 10, "emulated HTTP viewers in the cost-of-parts runs")
	flag.IntVar(&c.costSecs, "cost-seconds", 30, "cost-of-parts window with viewers, in seconds (after half as long without)")
	flag.StringVar(&c.costLadder, "cost-ladder", "default", "ladder of the cost-of-parts runs; empty skips them")
	flag.StringVar(&c.preset, "preset", "ultrafast", "publisher's x264 preset (with -tune zerolatency)")
	flag.StringVar(&c.osprey, "osprey", "", "osprey binary (default: build ./cmd/osprey)")
	flag.StringVar(&c.playJS, "play", "test/e2e/browser/play.mjs", "the browser harness")
	flag.StringVar(&c.chromium, "chromium", "/usr/bin/chromium", "Chromium binary")
	flag.BoolVar(&c.verbose, "v", false, "log every player's and viewer's result")
	flag.Parse()
	log.SetFlags(log.Ltime)
	for _, l := range strings.Split(*ladders, ",") {
		if l = strings.TrimSpace(l); l != "" {
			c.ladders = append(c.ladders, l)
		}
	}
	if err := c.check(); err != nil {
		fmt.Fprintf(os.Stderr, "latency: %v\n", err)
		flag.Usage()
		os.Exit(2)
	}

	work, err := os.MkdirTemp("", "latbench-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(work)
	if c.osprey == "" {
		c.osprey = filepath.Join(work, "osprey")
		log.Printf("building ./cmd/osprey")
		benchkit.Run("go", "build", "-o", c.osprey, "./cmd/osprey")
	}
	b := &bench{cfg: c, work: work}
	b.run()
}

// check validates the flags.
func (c *config) check() error {
	switch {
	case c.rounds < 1 || c.seconds < 5:
		return fmt.Errorf("-rounds must be ≥ 1 and -seconds ≥ 5")
	case c.gop < time.Second || c.gop > 10*time.Second || c.gop%time.Second != 0:
		return fmt.Errorf("-gop is whole seconds (1s or 2s), got %v", c.gop)
	case c.players != "concurrent" && c.players != "sequential":
		return fmt.Errorf("-players is concurrent or sequential, got %q", c.players)
	case len(c.ladders) == 0 && c.costLadder == "":
		return fmt.Errorf("nothing to do: no -ladders and no -cost-ladder")
	case c.viewers < 1 || c.costSecs < 4:
		return fmt.Errorf("-viewers must be ≥ 1 and -cost-seconds ≥ 4")
	}
	if _, err := os.Stat(c.playJS); err != nil {
		return fmt.Errorf("the browser harness: %w (run from the repository root)", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(c.playJS), "node_modules", "playwright-core")); err != nil {
		return fmt.Errorf("playwright-core is not installed: run npm ci in %s", filepath.Dir(c.playJS))
	}
	return nil
}

// bench is one run of the benchmark: every round's results.
type bench struct {
	cfg   config
	work  string
	plays []playRound // latency rounds, every ladder of every round
	costs []costRound
}

// run does every round, then prints the tables.
func (b *bench) run() {
	start := time.Now()
	for r := 1; r <= b.cfg.rounds; r++ {
		for _, ladder := range b.cfg.ladders {
			log.Printf("round %d/%d: %s ladder, players %s", r, b.cfg.rounds, ladder, b.cfg.players)
			pr := b.playRound(r, ladder)
			pr.log()
			b.plays = append(b.plays, pr)
		}
		if b.cfg.costLadder != "" {
			parts := []time.Duration{200 * time.Millisecond, 0}
			if r%2 == 0 { // alternate which goes first
				parts[0], parts[1] = parts[1], parts[0]
			}
			for _, part := range parts {
				log.Printf("round %d/%d: cost of parts, %s ladder, --part-duration %v, %d viewers", r, b.cfg.rounds, b.cfg.costLadder, part, b.cfg.viewers)
				cr := b.costRound(r, part)
				cr.log()
				b.costs = append(b.costs, cr)
			}
		}
	}
	log.Printf("done in %v", time.Since(start).Round(time.Second))
	b.report(os.Stdout, time.Since(start))
}
