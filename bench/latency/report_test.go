package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func ptr(v float64) *float64 { return &v }

func TestPlayRowAggregates(t *testing.T) {
	ok := func(med, p95 float64, stalls ...float64) playResult {
		return playResult{OK: true, LatencyMedian: ptr(med), LatencyP95: ptr(p95), Startup: ptr(2), Stalls: stalls}
	}
	b := &bench{plays: []playRound{
		{ladder: "default", results: []playResult{ok(1.0, 1.5)}},
		{ladder: "default", results: []playResult{ok(3.0, 4.0, 0.6, 0.7)}},
		{ladder: "default", results: []playResult{ok(2.0, 2.5)}},
		{ladder: "default", results: []playResult{{Reason: "fatal player error"}}},
		{ladder: passthrough, results: []playResult{ok(9, 9)}}, // another ladder: not counted
	}}
	var w bytes.Buffer
	b.playRow(&w, "default", 0, players[0])
	// Median of medians 2.00, of p95s 2.50, worst median 3.00; two stalls in
	// one round; the failed run counted apart.
	want := "| default | " + players[0].name + " | **2.00 s** | 2.50 s | 3.00 s | 2 (1) | 2.00 s | - | 1 | ≤ 2.0 s, 0 stalls |\n"
	if w.String() != want {
		t.Errorf("got  %q\nwant %q", w.String(), want)
	}
}

func TestCostLeavesOutTroubledRounds(t *testing.T) {
	b := &bench{cfg: config{costLadder: "default", viewers: 2, costSecs: 10}, costs: []costRound{
		{part: 200 * time.Millisecond, viewers: 2, window: 10 * time.Second, idleOsprey: 0.04, osprey: 0.06, requests: 400},
		{part: 200 * time.Millisecond, viewers: 2, window: 10 * time.Second, idleOsprey: 0.04, osprey: 0.5, requests: 10,
			transcoder: transcoderEvents{Sheds: 1}},
		{part: 0, viewers: 2, window: 10 * time.Second, idleOsprey: 0.04, osprey: 0.04, requests: 40, transcoder: transcoderEvents{Lags: 2}},
	}}
	var w bytes.Buffer
	b.report(&w, time.Minute)
	out := w.String()
	for _, want := range []string{
		"| 200ms | 0.040 | 0.060 | 10.0 | 0.000 | 20.0 | 0 | 0 | 1 |", // 20 ms CPU/s over 2 viewers; 400 requests / 2 / 10 s
		"| off | - | - | - | - | - | - | - | 1 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
