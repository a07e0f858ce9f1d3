package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// report prints the Markdown tables and the command.
func (b *bench) report(w io.Writer, took time.Duration) {
	c := b.cfg
	fmt.Fprintf(w, "\n`go run ./bench/latency %s` (%s; %d round(s), %v)\n", strings.Join(os.Args[1:], " "),
		time.Now().UTC().Format("2006-01-02"), c.rounds, took.Round(time.Second))
	if len(b.plays) > 0 {
		fmt.Fprintf(w, "\nPublisher: ffmpeg 1280x720 30 fps testsrc2 + tone, x264 %s -tune zerolatency, %v GOP, RTMP. "+
			"Osprey: %v segments, %v parts, transcoded keyframes every %s. Players: %s, %d s each per round. "+
			"Latency median and p95: the median over rounds of each round's value; stalls: total over rounds "+
			"(rounds with one); requests/s: one viewer, counted by the page.\n\n",
			c.preset, c.gop, c.segment, c.part, keyframesName(c.keyframes, c.segment), playersName(c.players), c.seconds)
		fmt.Fprintln(w, "| ladder | player | latency median | p95 | worst round's median | stalls (rounds) | startup | requests/s per viewer | failed runs | goal (issue 11) |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, ladder := range c.ladders {
			for i, p := range players {
				b.playRow(w, ladder, i, p)
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| ladder | osprey Go CPU over the play window (cores) | its ffmpeg (cores) | edge delay (ingest to part ready), median | transcoder sheds / lag warnings (rounds with any) |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
		for _, ladder := range c.ladders {
			var goCPU, ff, ed []float64
			var tc transcoderEvents
			troubled := 0
			for _, pr := range b.plays {
				if pr.ladder != ladder {
					continue
				}
				goCPU, ff = append(goCPU, pr.osprey), append(ff, pr.ffmpeg)
				tc.Sheds, tc.Lags = tc.Sheds+pr.transcoder.Sheds, tc.Lags+pr.transcoder.Lags+pr.transcoder.Restarts
				if pr.transcoder.any() {
					troubled++
				}
				if len(pr.edgeDelay) > 0 {
					ed = append(ed, benchkit.Median(pr.edgeDelay))
				}
			}
			fmt.Fprintf(w, "| %s | %.3f | %.3f | %s | %d / %d (%d) |\n", ladder, benchkit.Median(goCPU), benchkit.Median(ff), secsOrDash(ed), tc.Sheds, tc.Lags, troubled)
		}
	}
	if len(b.costs) > 0 {
		fmt.Fprintf(w, "\nCost of parts: the %s ladder with and without parts, %d emulated HTTP viewers (each follows the first "+
			"video variant and the audio rendition: LL-HLS blocking reloads and parts with parts on, plain playlist "+
			"reloads and segments without), %d s with viewers after %d s without; medians over the rounds in which "+
			"the transcoder neither shed load nor lagged (a shed restarts the ladder and the viewers' 720p playlist ends).\n\n",
			c.costLadder, c.viewers, c.costSecs, c.costSecs/2)
		fmt.Fprintln(w, "| --part-duration | osprey Go CPU, no viewer (cores) | with viewers | per viewer (ms CPU/s) | its ffmpeg (cores) | requests/s per viewer | kB/s per viewer | failed requests | rounds left out (transcoder trouble) |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, part := range []time.Duration{200 * time.Millisecond, 0} {
			var idle, busy, ff, per, rps, kbps []float64
			var errs int64
			troubled := 0
			for _, cr := range b.costs {
				if cr.part != part {
					continue
				}
				if cr.transcoder.any() {
					troubled++
					continue
				}
				idle, busy, ff = append(idle, cr.idleOsprey), append(busy, cr.osprey), append(ff, cr.ffmpeg)
				per = append(per, (cr.osprey-cr.idleOsprey)/float64(cr.viewers)*1000)
				rps = append(rps, cr.perViewer(float64(cr.requests)))
				kbps = append(kbps, cr.perViewer(float64(cr.bytes))/1000)
				errs += cr.errors
			}
			if len(idle) == 0 {
				fmt.Fprintf(w, "| %s | - | - | - | - | - | - | - | %d |\n", partName(part), troubled)
				continue
			}
			fmt.Fprintf(w, "| %s | %.3f | %.3f | %.1f | %.3f | %.1f | %.0f | %d | %d |\n", partName(part),
				benchkit.Median(idle), benchkit.Median(busy), benchkit.Median(per), benchkit.Median(ff),
				benchkit.Median(rps), benchkit.Median(kbps), errs, troubled)
		}
	}
}

// playRow prints one ladder and player over the rounds.
func (b *bench) playRow(w io.Writer, ladder string, i int, p player) {
	var med, p95, startup, rps []float64
	stalls, stallRounds, failed := 0, 0, 0
	for _, pr := range b.plays {
		if pr.ladder != ladder || i >= len(pr.results) {
			continue
		}
		res := pr.results[i]
		if !res.OK || res.LatencyMedian == nil {
			failed++
			continue
		}
		med = append(med, *res.LatencyMedian)
		if res.LatencyP95 != nil {
			p95 = append(p95, *res.LatencyP95)
		}
		if res.Startup != nil {
			startup = append(startup, *res.Startup)
		}
		if res.Requests != nil && res.Requests.PerSecond != nil {
			rps = append(rps, *res.Requests.PerSecond)
		}
		stalls += len(res.Stalls)
		if len(res.Stalls) > 0 {
			stallRounds++
		}
	}
	worst := "-"
	if len(med) > 0 {
		worst = fmt.Sprintf("%.2f s", slices.Max(med))
	}
	rate := "-"
	if len(rps) > 0 {
		rate = fmt.Sprintf("%.1f", benchkit.Median(rps))
	}
	fmt.Fprintf(w, "| %s | %s | **%s** | %s | %s | %d (%d) | %s | %s | %d | %s |\n",
		ladder, p.name, secsOrDash(med), secsOrDash(p95), worst, stalls, stallRounds, secsOrDash(startup), rate, failed, goal(ladder, i))
}

// goal is issue 11's goal for a player (by index in players) on a ladder:
// LL-HLS ≤ 1.5 s passthrough and ≤ 2.0 s through the ladder, LL-DASH ≤ 2.0 s,
// plain HLS with 2 s segments ≤ 6 s; 0 stalls in 10 runs.
func goal(ladder string, i int) string {
	switch {
	case i == 0 && ladder == passthrough:
		return "≤ 1.5 s, 0 stalls"
	case i == 0:
		return "≤ 2.0 s, 0 stalls"
	case i == 1:
		return "≤ 2.0 s"
	default:
		return "≤ 6 s (2 s segments)"
	}
}

// secsOrDash is the median of v in seconds, or "-" when empty.
func secsOrDash(v []float64) string {
	if len(v) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", benchkit.Median(v))
}

func playersName(mode string) string {
	if mode == "concurrent" {
		return "the three at once in one Chromium (a tab each)"
	}
	return "one after another in a fresh Chromium each"
}

// keyframesName describes the transcoded rungs' keyframe interval.
func keyframesName(k, segment time.Duration) string {
	if k == 0 {
		return segment.String() + " (one per segment, osprey's default)"
	}
	return k.String()
}
