package main

import (
	"fmt"
	"log"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// latency publishes the source and polls the 720p media playlist every
// 20 ms. For each segment it records when it was first listed (L) and reads
// its EXT-X-PROGRAM-DATE-TIME (P, the wall-clock time its first frame
// reached Osprey) and duration (D): the first frame waited L-P, the last
// frame L-(P+D).
func (b *bench) latency() {
	s := startServer(b.osprey, filepath.Join(b.work, "latency"))
	defer s.stop()
	first, last := b.measureLatency(s)
	fmt.Printf("\n### Ingest-to-playlist latency (720p rung, %d segments of 2 s)\n\n", len(first))
	fmt.Println("| frame | median | p95 | max |")
	fmt.Println("| --- | --- | --- | --- |")
	fmt.Printf("| last frame of a segment | %s | %s | %s |\n", secs(percentile(last, .5)), secs(percentile(last, .95)), secs(percentile(last, 1)))
	fmt.Printf("| first frame of a segment | %s | %s | %s |\n", secs(percentile(first, .5)), secs(percentile(first, .95)), secs(percentile(first, 1)))
}

// measureLatency publishes the source to a new channel of s and returns,
// for each segment but the first and the last, how long its first and its
// last frame waited until the segment was listed.
func (b *bench) measureLatency(s *server) (first, last []time.Duration) {
	ch := s.createChannel("latency")
	pub := publish(b.source, ch.Ingest.RTMP)
	url := "" // the 720p media playlist, once the multivariant playlist names it

	type seg struct {
		listed, pdt time.Time
		dur         time.Duration
	}
	segs := map[string]*seg{}
	var order []string
	done := make(chan error, 1)
	go func() { done <- pub.Wait() }()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
loop:
	for {
		select {
		case err := <-done:
			if err != nil {
				log.Fatalf("publisher: %v", err)
			}
			break loop
		case <-poll.C:
		}
		if url == "" {
			if url = renditionURL(ch.Playback.HLS, "720p"); url == "" {
				continue
			}
		}
		code, text := benchkit.GetText(url)
		now := time.Now()
		if code != 200 {
			continue
		}
		var pdt time.Time
		var dur time.Duration
		for _, line := range strings.Split(text, "\n") {
			switch {
			case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
				pdt, _ = time.Parse(time.RFC3339Nano, strings.TrimPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"))
			case strings.HasPrefix(line, "#EXTINF:"):
				f, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(line, "#EXTINF:"), ","), 64)
				dur = time.Duration(f * float64(time.Second))
			case line != "" && !strings.HasPrefix(line, "#"):
				if _, ok := segs[line]; !ok {
					segs[line] = &seg{listed: now, pdt: pdt, dur: dur}
					order = append(order, line)
				}
			}
		}
	}
	s.waitIdle(ch.ID)
	// The first listed segment was there before polling caught up, and the
	// last one is cut short by the end of the stream: leave both out.
	if len(order) < 3 {
		log.Fatalf("only %d segments were listed", len(order))
	}
	for _, name := range order[1 : len(order)-1] {
		sg := segs[name]
		first = append(first, sg.listed.Sub(sg.pdt))
		last = append(last, sg.listed.Sub(sg.pdt.Add(sg.dur)))
		if *verbose {
			log.Printf("segment %s: listed %s, PDT %s, duration %v: last frame waited %v",
				name, sg.listed.Format("15:04:05.000"), sg.pdt.Format("15:04:05.000"), sg.dur, sg.listed.Sub(sg.pdt.Add(sg.dur)).Round(time.Millisecond))
		}
	}
	return first, last
}

// renditionURL returns the URL of the named rendition's media playlist as
// the multivariant playlist at mv lists it ({session}/{rendition}/index.m3u8
// since each publication has playlists of its own), or "" while there is none.
func renditionURL(mv, name string) string {
	code, text := benchkit.GetText(mv)
	if code != 200 {
		return ""
	}
	for _, line := range strings.Split(text, "\n") {
		if line == name+"/index.m3u8" || strings.HasSuffix(line, "/"+name+"/index.m3u8") {
			return strings.TrimSuffix(mv, "index.m3u8") + line
		}
	}
	return ""
}
