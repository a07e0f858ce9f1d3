// Command encdelay measures the delay the live transcoder's ffmpeg adds to
// every frame, for several encoder and muxer configurations, and what they
// cost in CPU and quality. It prints Markdown tables.
//
// A 720p30 test pattern with a tone, encoded as a publisher would (x264
// veryfast with B-frames, 2 s GOP, AAC, MPEG-TS), is handed at real time to
// a transcode.Supervisor running the real ffmpeg, exactly as a live channel
// does. Each output frame's delay runs from the moment its input frame
// (same PTS) entered Supervisor.WriteUnit to the moment the Supervisor's
// demuxer handed it to its Output: ffmpeg's decoder, scaler, encoder and
// muxer, both pipes and Osprey's own muxer and demuxer. Configurations are
// edits of the command line the transcoder builds (this binary stands in
// for ffmpeg and execs it with the edits), interleaved in every round.
//
// Usage (from the repository root):
//
//	go run ./bench/encdelay [-seconds 15] [-rounds 3] [-configs a,b] [-ladders default,passthrough] [-quality] [-v]
//
// Each table row gives, per rendition, the median and p95 delay (medians
// over the rounds), for the first video rendition the delay counted from
// the arrival of the last frame shown at or before it ("shown-to-out": a
// publisher's B-frames send some frames early, which is not transcoder
// delay) and the round with the lowest median ("best round": the value on
// a quiet machine), ffmpeg's user+system CPU per second of media, and the
// renditions' bitrates.
//
// -quality adds the encoder-only comparison on a 10 s clip: PSNR/SSIM at
// the 720p rung's bitrate, the bitrate reaching the first row's PSNR,
// bitrate at CRF 23 and encoder CPU for each x264 setting, and a 1 s
// against a 2 s keyframe interval.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/transcode"
)

var verbose = flag.Bool("v", false, "log each run and ffmpeg's warnings")

// defaultLadder is config's built-in "default" ladder (config.BuiltinLadders)
// written out so the benchmark does not import config; a 720p source gets
// its 720p, 480p and 360p rungs. passthroughLadder adds the source rung.
var (
	defaultLadder = transcode.Ladder{Video: []transcode.Rung{
		{Name: "1080p", Height: 1080, Bitrate: 5_000_000, Profile: "high"},
		{Name: "720p", Height: 720, Bitrate: 2_800_000, Profile: "high"},
		{Name: "480p", Height: 480, Bitrate: 1_400_000, Profile: "high"},
		{Name: "360p", Height: 360, Bitrate: 800_000, Profile: "main"},
	}}
	passthroughLadder = transcode.Ladder{Video: defaultLadder.Video, Passthrough: true}
)

func x264(params string) []string { return []string{"-x264-params", params} }

var zl = []string{"-tune", "zerolatency"}

// head reverts the options this change added to the transcoder's command
// line, giving the command line before it (except for the lengths of the
// input's video PES packets, which Osprey's own muxer now always writes).
var head = []string{"-x264-params", "-threads", "-max_interleave_delta", "-omit_video_pes_length", "-pes_payload_size"}

// fromHead is a configuration measured against the command line before this
// change: head's options removed, then e's made.
func fromHead(e edits) edits {
	e.Del = append(slices.Clone(head), e.Del...)
	return e
}

// configs are measured on the default ladder; those in passthroughConfigs
// on the passthrough ladder too. The first group adds one option at a time
// to the command line before this change; the last measures the defaults.
var configs = []config{
	{name: "HEAD", about: "the command line before this change", e: fromHead(edits{})},
	{name: "bf0", about: "bframes=0", e: fromHead(edits{V: x264("bframes=0")})},
	{name: "nolookahead", about: "rc-lookahead=0:sync-lookahead=0:mbtree=0", e: fromHead(edits{V: x264("rc-lookahead=0:sync-lookahead=0:mbtree=0")})},
	{name: "sliced", about: "sliced-threads=1", e: fromHead(edits{V: x264("sliced-threads=1")})},
	{name: "zerolatency", about: "-tune zerolatency", e: fromHead(edits{V: zl})},
	{name: "zl-framethreads", about: "zerolatency with frame threads", e: fromHead(edits{V: slices.Concat(zl, x264("sliced-threads=0"))})},
	{name: "zl-bf2", about: "zerolatency + bframes=2", e: fromHead(edits{V: slices.Concat(zl, x264("bframes=2"))})},
	{name: "zl+pes-length", about: "+ -omit_video_pes_length 0", e: fromHead(edits{V: zl, Out: []string{"-omit_video_pes_length", "0"}})},
	{name: "zl+audio-pes", about: "+ -pes_payload_size 0", e: fromHead(edits{V: zl, Out: []string{"-pes_payload_size", "0"}})},
	{name: "zl+no-interleave", about: "+ -max_interleave_delta 1", e: fromHead(edits{V: zl, Out: []string{"-max_interleave_delta", "1"}})},
	{name: "zl+flush", about: "+ -flush_packets 1", e: fromHead(edits{V: zl, Out: []string{"-flush_packets", "1"}})},
	{name: "zl+dec-1thread", about: "+ input -threads 1", e: fromHead(edits{V: zl, In: []string{"-threads", "1"}})},
	{name: "zl+nobuffer", about: "+ input -fflags nobuffer", e: fromHead(edits{V: zl, In: []string{"-fflags", "nobuffer"}})},
	{name: "zl+all-mux", about: "+ pes length, audio pes, no interleave, decoder 1 thread", e: fromHead(edits{V: zl,
		In:  []string{"-threads", "1"},
		Out: []string{"-omit_video_pes_length", "0", "-pes_payload_size", "0", "-max_interleave_delta", "1"}})},
	{name: "new", about: "this change's defaults"},
	{name: "new+lookahead", about: "Ladder.Lookahead: the preset's lookahead, B-frames, frame threads", lookahead: true},
	{name: "new+bf2", about: "bframes=2", e: edits{Del: []string{"-x264-params"}, V: x264(liveParams + ":bframes=2")}},
}

// liveParams is transcode's liveX264Params.
const liveParams = "bframes=0:rc-lookahead=0:sync-lookahead=0:mbtree=0:sliced-threads=1"

var passthroughConfigs = []string{"HEAD", "zerolatency", "zl+no-interleave", "zl+all-mux", "new", "new+lookahead"}

func main() {
	if spec := os.Getenv(envEdits); spec != "" {
		wrapped(spec)
		return
	}
	seconds := flag.Int("seconds", 15, "media per run, in seconds")
	rounds := flag.Int("rounds", 3, "rounds; every configuration runs once per round")
	only := flag.String("configs", "", "comma-separated configurations to run (default all)")
	ladders := flag.String("ladders", "default,passthrough", "ladders to run")
	segment := flag.Duration("segment", 2*time.Second, "keyframe interval (Config.SegmentDuration)")
	qual := flag.Bool("quality", false, "also compare the encoders' quality, bitrate and CPU on a clip")
	qualOnly := flag.Bool("quality-only", false, "only the quality comparison")
	ffmpeg := flag.String("ffmpeg", "ffmpeg", "ffmpeg binary")
	flag.Parse()
	log.SetFlags(log.Ltime)

	dir, err := os.MkdirTemp("", "encdelay-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if *qual || *qualOnly {
		defer func() {
			if err := quality(*ffmpeg, dir, 10, encodings, gopEncodings); err != nil {
				log.Print(err)
			}
		}()
	}
	if *qualOnly {
		return
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	src, err := makeSource(*ffmpeg, dir, *seconds)
	if err != nil {
		log.Fatal(err)
	}

	type job struct {
		ladder string
		c      config
	}
	var jobs []job
	for _, l := range strings.Split(*ladders, ",") {
		for _, c := range configs {
			if *only != "" && !slices.Contains(strings.Split(*only, ","), c.name) {
				continue
			}
			if l == "passthrough" && !slices.Contains(passthroughConfigs, c.name) {
				continue
			}
			jobs = append(jobs, job{l, c})
		}
	}
	results := make([][]*result, len(jobs))
	for r := range *rounds {
		for i, j := range jobs {
			l := defaultLadder
			if j.ladder == "passthrough" {
				l = passthroughLadder
			}
			l.Lookahead = j.c.lookahead
			res, err := run(self, *ffmpeg, src, l, *segment, j.c)
			if err != nil {
				log.Fatal(err)
			}
			results[i] = append(results[i], res)
			if *verbose {
				log.Printf("round %d %s/%s: %s", r+1, j.ladder, j.c.name, summary(res, *seconds))
			}
		}
	}

	fmt.Printf("\n### Transcoder delay per rendition (median / p95 in ms, median of %d rounds of %d s)\n", *rounds, *seconds)
	last := ""
	for i, j := range jobs {
		rs := results[i]
		if j.ladder != last {
			last = j.ladder
			fmt.Printf("\n%s ladder, 720p30 source:\n\n", j.ladder)
			fmt.Printf("| config | %s | %s shown-to-out | %s best round | ffmpeg CPU ms/s | kb/s (%s) |\n", strings.Join(rs[0].order, " | "), rs[0].order[0], rs[0].order[0], strings.Join(rs[0].order, ", "))
			fmt.Printf("|%s\n", strings.Repeat(" --- |", len(rs[0].order)+5))
		}
		var cells, kbps []string
		for _, name := range rs[0].order {
			var p50, p95 []time.Duration
			var b []time.Duration
			for _, r := range rs {
				p50 = append(p50, median(r.delays[name]))
				p95 = append(p95, percentile(r.delays[name], .95))
				b = append(b, time.Duration(r.bytes[name]))
			}
			cells = append(cells, fmt.Sprintf("%d / %d", median(p50).Milliseconds(), median(p95).Milliseconds()))
			kbps = append(kbps, fmt.Sprintf("%.0f", float64(median(b))*8/1000/float64(*seconds)))
		}
		var d50, d95 []time.Duration
		for _, r := range rs {
			d50 = append(d50, median(r.due[rs[0].order[0]]))
			d95 = append(d95, percentile(r.due[rs[0].order[0]], .95))
		}
		cells = append(cells, fmt.Sprintf("%d / %d", median(d50).Milliseconds(), median(d95).Milliseconds()))
		best := slices.MinFunc(rs, func(a, b *result) int { return int(median(a.delays[a.order[0]]) - median(b.delays[b.order[0]])) })
		cells = append(cells, fmt.Sprintf("%d / %d", median(best.delays[best.order[0]]).Milliseconds(), percentile(best.delays[best.order[0]], .95).Milliseconds()))
		var cpu []time.Duration
		for _, r := range rs {
			cpu = append(cpu, r.cpu/time.Duration(*seconds))
		}
		fmt.Printf("| %s (%s) | %s | %d | %s |\n", j.c.name, j.c.about, strings.Join(cells, " | "), median(cpu).Milliseconds(), strings.Join(kbps, ", "))
	}
}

func summary(r *result, seconds int) string {
	var s []string
	for _, name := range r.order {
		s = append(s, fmt.Sprintf("%s %v/%v (n=%d)", name, median(r.delays[name]).Round(time.Millisecond), percentile(r.delays[name], .95).Round(time.Millisecond), len(r.delays[name])))
	}
	return fmt.Sprintf("%s; cpu %v/s; dropped %d", strings.Join(s, ", "), (r.cpu / time.Duration(seconds)).Round(time.Millisecond), r.dropped)
}

// encodings are the x264 settings of the quality comparison.
var encodings = []encoding{
	{"veryfast (HEAD)", nil},
	{"bframes=0", x264("bframes=0")},
	{"no lookahead/mbtree", x264("rc-lookahead=0:sync-lookahead=0:mbtree=0")},
	{"sliced-threads", x264("sliced-threads=1")},
	{"-tune zerolatency", zl},
	{"new live default", x264(liveParams)},
	{"new live default + bframes=2", x264(liveParams + ":bframes=2")},
}

var gopEncodings = []encoding{
	{"veryfast (HEAD)", nil},
	{"new live default", x264(liveParams)},
}
