package main

import (
	"encoding/json"
	"fmt"
	"log"
	"os/exec"
	"slices"
	"strconv"
	"time"
)

// player is one way of watching the channel.
type player struct {
	name          string // as the tables show it
	engine        string // play.mjs --engine
	hlsLowLatency string // play.mjs hls_low_latency: "on", "off" or "" (dash)
}

// players are the three players of every round, in table order.
var players = []player{
	{name: "LL-HLS (hls.js, lowLatencyMode)", engine: "hls", hlsLowLatency: "on"},
	{name: "LL-DASH (dash.js, low-latency mode)", engine: "dash"},
	{name: "HLS (hls.js, lowLatencyMode false)", engine: "hls", hlsLowLatency: "off"},
}

// playResult is what play.mjs reports for one page.
type playResult struct {
	OK            bool      `json:"ok"`
	Reason        string    `json:"reason"`
	Engine        string    `json:"engine"`
	LowLatency    bool      `json:"low_latency"`
	Startup       *float64  `json:"startup_s"`
	Advanced      float64   `json:"advanced_s"`
	Stalls        []float64 `json:"stalls"`
	Jumps         []float64 `json:"jumps"`
	LatencyMedian *float64  `json:"latency_median_s"`
	LatencyP95    *float64  `json:"latency_p95_s"`
	Samples       int       `json:"latency_samples"`
	BufferAhead   *float64  `json:"buffer_ahead_median_s"`
	MaxRate       *float64  `json:"playback_rate_max"`
	Requests      *struct {
		Playlists int      `json:"playlists"`
		Blocking  int      `json:"blocking"`
		Parts     int      `json:"parts"`
		Media     int      `json:"media"`
		Total     int      `json:"total"`
		PerSecond *float64 `json:"per_s"`
	} `json:"requests"`
}

// playRound is one ladder in one round: each player's result, the CPU of
// osprey over the play window and the edge delay sampled meanwhile.
type playRound struct {
	round     int
	ladder    string
	results   []playResult // by players' index
	osprey    float64      // cores, the Go process
	ffmpeg    float64      // cores, its children
	edgeDelay []float64    // seconds, live.packager.edge_delay once a second
	// transcoder counts osprey's transcoder events from its start to the
	// end of the play window.
	transcoder transcoderEvents
}

// playRound starts osprey with the ladder and plays the three players.
func (b *bench) playRound(round int, ladder string) playRound {
	r := b.start(fmt.Sprintf("r%d-%s", round, ladder), ladder, b.cfg.part)
	defer r.stop()
	pr := playRound{round: round, ladder: ladder}

	stop := make(chan struct{})
	delays := make(chan []float64)
	go func() { delays <- r.sampleEdgeDelay(stop) }()
	before := readCPU(r.srv.Cmd.Process.Pid)
	if b.cfg.players == "concurrent" {
		pr.results = b.playAll(r.ch.Playback.Player)
	} else {
		// One after another, starting with a different player each round:
		// the first one meets the session's first minute (the transcoder
		// settling, the window filling) every time otherwise.
		pr.results = make([]playResult, len(players))
		for k := range players {
			i := (k + round - 1) % len(players)
			pr.results[i] = b.playAll(r.ch.Playback.Player, players[i])[0]
		}
	}
	pr.osprey, pr.ffmpeg = cores(before, readCPU(r.srv.Cmd.Process.Pid))
	close(stop)
	pr.edgeDelay = <-delays
	pr.transcoder = r.events.snapshot()
	return pr
}

// sampleEdgeDelay reads the channel's edge delay once a second until stop.
func (r *run) sampleEdgeDelay(stop <-chan struct{}) []float64 {
	var ds []float64
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return ds
		case <-tick.C:
			if st := r.status(); st.Live != nil && st.Live.Packager != nil && st.Live.Packager.EdgeDelay > 0 {
				ds = append(ds, st.Live.Packager.EdgeDelay)
			}
		}
	}
}

// playAll plays the page with the given players (all three when none) at
// once, one tab each in one Chromium, and returns their results in order.
// A harness that fails to report yields failed results with its reason.
func (b *bench) playAll(page string, ps ...player) []playResult {
	if len(ps) == 0 {
		ps = players
	}
	type spec struct {
		URL           string `json:"url"`
		Engine        string `json:"engine"`
		HLSLowLatency string `json:"hls_low_latency,omitempty"`
	}
	var specs []spec
	for _, p := range ps {
		specs = append(specs, spec{URL: page, Engine: p.engine, HLSLowLatency: p.hlsLowLatency})
	}
	js, _ := json.Marshal(specs)
	timeout := b.cfg.seconds + 60 // startup: the page, the player, the first parts
	cmd := exec.Command("node", b.cfg.playJS, "--pages", string(js),
		"--seconds", strconv.Itoa(b.cfg.seconds), "--timeout", strconv.Itoa(timeout), "--chromium", b.cfg.chromium)
	out, err := cmd.Output()
	var res struct {
		OK     bool         `json:"ok"`
		Reason string       `json:"reason"`
		Pages  []playResult `json:"pages"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil || len(res.Pages) != len(ps) {
		reason := fmt.Sprintf("play.mjs: %v, output %q", err, out)
		log.Print(reason)
		failed := make([]playResult, len(ps))
		for i := range failed {
			failed[i].Reason = reason
		}
		return failed
	}
	if b.cfg.verbose {
		log.Printf("play.mjs: %s", out)
	}
	return res.Pages
}

// log prints a round's results on the log.
func (pr playRound) log() {
	for i, res := range pr.results {
		if !res.OK {
			log.Printf("  %s: FAILED: %s", players[i].name, res.Reason)
			continue
		}
		rate := 1.0
		if res.MaxRate != nil {
			rate = *res.MaxRate
		}
		log.Printf("  %s: latency median %s, p95 %s (%d samples), startup %s, stalls %v, requests/s %s, low latency %v, buffered ahead %s, max rate %.2f",
			players[i].name, fsec(res.LatencyMedian), fsec(res.LatencyP95), res.Samples, fsec(res.Startup), res.Stalls, reqRate(res), res.LowLatency,
			fsec(res.BufferAhead), rate)
	}
	slices.Sort(pr.edgeDelay)
	ed := "-"
	if n := len(pr.edgeDelay); n > 0 {
		ed = fmt.Sprintf("%.2f s", pr.edgeDelay[n/2])
	}
	log.Printf("  osprey CPU over the play window: Go %.3f cores, ffmpeg %.3f cores; edge delay median %s; transcoder %s", pr.osprey, pr.ffmpeg, ed, pr.transcoder)
}

func fsec(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f s", *v)
}

func reqRate(res playResult) string {
	if res.Requests == nil || res.Requests.PerSecond == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *res.Requests.PerSecond)
}
