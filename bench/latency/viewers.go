package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

// costRound is one part duration in one round of the cost comparison.
type costRound struct {
	round          int
	part           time.Duration // 0: parts off
	idleOsprey     float64       // cores, no viewer
	idleFFmpeg     float64
	osprey, ffmpeg float64 // cores, with the viewers
	viewers        int
	requests       int64 // by all viewers over the window
	bytes          int64
	errors         int64 // failed requests and non-2xx answers
	noParts        int64 // playlists without parts that LL viewers got
	transcoder     transcoderEvents
	window         time.Duration
}

// costRound runs the cost ladder with parts of the given duration (0: off):
// a window without viewers, then one with the emulated viewers.
func (b *bench) costRound(round int, part time.Duration) costRound {
	name := fmt.Sprintf("r%d-cost-part%s", round, part)
	r := b.start(name, b.cfg.costLadder, part)
	defer r.stop()
	cr := costRound{round: round, part: part, viewers: b.cfg.viewers}
	video, audio, err := variants(r.ch.Playback.HLS)
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	pid := r.srv.Cmd.Process.Pid

	idle := time.Duration(b.cfg.costSecs) * time.Second / 2
	a := readCPU(pid)
	time.Sleep(idle)
	cr.idleOsprey, cr.idleFFmpeg = cores(a, readCPU(pid))

	var st viewerStats
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b.cfg.costSecs)*time.Second)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * b.cfg.viewers}}
	var wg sync.WaitGroup
	a = readCPU(pid)
	for range b.cfg.viewers {
		for _, pl := range []string{video, audio} {
			if pl == "" {
				continue
			}
			v := &viewer{client: client, playlist: pl, stats: &st}
			wg.Go(func() {
				if part > 0 {
					v.lowLatency(ctx)
				} else {
					v.plain(ctx)
				}
			})
		}
	}
	wg.Wait()
	z := readCPU(pid)
	cr.osprey, cr.ffmpeg = cores(a, z)
	cr.window = z.at.Sub(a.at)
	cr.requests, cr.bytes, cr.errors = st.requests.Load(), st.bytes.Load(), st.errors.Load()
	cr.noParts = st.noParts.Load()
	cr.transcoder = r.events.snapshot()
	return cr
}

// log prints a cost round on the log.
func (cr costRound) log() {
	log.Printf("  parts %s: osprey Go CPU %.3f cores idle, %.3f with %d viewers (ffmpeg %.3f / %.3f); %.1f requests/s and %.0f kB/s per viewer, %d errors, %d playlists without parts; transcoder %s",
		partName(cr.part), cr.idleOsprey, cr.osprey, cr.viewers, cr.idleFFmpeg, cr.ffmpeg,
		cr.perViewer(float64(cr.requests)), cr.perViewer(float64(cr.bytes))/1000, cr.errors, cr.noParts, cr.transcoder)
}

// perViewer is a count over the window per viewer per second.
func (cr costRound) perViewer(n float64) float64 {
	if cr.window <= 0 || cr.viewers == 0 {
		return 0
	}
	return n / float64(cr.viewers) / cr.window.Seconds()
}

func partName(d time.Duration) string {
	if d == 0 {
		return "off"
	}
	return d.String()
}

// viewerStats counts what every viewer did.
type viewerStats struct {
	requests, bytes, errors atomic.Int64
	noParts                 atomic.Int64 // LL viewers' playlists without parts
}

// viewer follows one media playlist as a player would, fetching the new
// media as it is listed, until its context ends.
type viewer struct {
	client   *http.Client
	playlist string
	stats    *viewerStats
}

// fetch GETs a URL relative to the playlist and reads the whole body.
func (v *viewer) fetch(ctx context.Context, ref string) (string, bool) {
	u, err := url.Parse(v.playlist)
	if err == nil {
		u, err = u.Parse(ref)
	}
	if err != nil {
		v.stats.errors.Add(1)
		return "", false
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	resp, err := v.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			v.stats.errors.Add(1)
		}
		return "", false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if ctx.Err() != nil {
		return "", false // the window ended mid-request: not counted
	}
	v.stats.requests.Add(1)
	v.stats.bytes.Add(int64(len(body)))
	if err != nil || resp.StatusCode/100 != 2 {
		v.stats.errors.Add(1)
		return "", false
	}
	return string(body), true
}

// plain is a player without LL-HLS: it reloads the playlist every target
// duration (half of it when nothing changed, RFC 8216 §6.3.4) and fetches
// each new segment.
func (v *viewer) plain(ctx context.Context) {
	seen := map[string]bool{}
	first, last := true, ""
	for ctx.Err() == nil {
		pl, ok := v.fetch(ctx, v.playlist)
		target := 2 * time.Second
		if ok {
			p := parsePlaylist(pl)
			if p.target > 0 {
				target = p.target
			}
			for _, s := range p.segments {
				if !seen[s] && !first {
					v.fetch(ctx, s)
				}
				seen[s] = true
			}
			first = false
			if pl == last {
				target /= 2
			}
			last = pl
		}
		select {
		case <-ctx.Done():
		case <-time.After(target):
		}
	}
}

// lowLatency is an LL-HLS player: a blocking reload for the part the
// preload hint names, then each newly listed part (hls.js 1.x does not
// fetch preload hints ahead).
func (v *viewer) lowLatency(ctx context.Context) {
	seen := map[string]bool{}
	first := true
	next := ""
	for ctx.Err() == nil {
		pl, ok := v.fetch(ctx, v.playlist+next)
		if !ok {
			next = ""
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		p := parsePlaylist(pl)
		for _, part := range p.parts {
			if !seen[part] && !first {
				v.fetch(ctx, part)
			}
			seen[part] = true
		}
		first = false
		if p.hintMSN < 0 {
			// A playlist without parts: the ingest node serves the stored
			// one while a session (re)starts, e.g. after the transcoder
			// restarted to shed load. Poll it as a plain player would.
			v.stats.noParts.Add(1)
			next = ""
			select {
			case <-ctx.Done():
			case <-time.After(max(p.target/2, 200*time.Millisecond)):
			}
			continue
		}
		next = "?_HLS_msn=" + strconv.Itoa(p.hintMSN) + "&_HLS_part=" + strconv.Itoa(p.hintPart)
	}
}

// playlist is what the viewers read from a media playlist.
type playlist struct {
	target            time.Duration
	segments, parts   []string // URIs in order
	hintMSN, hintPart int      // the preload-hinted part; -1 when none
}

func parsePlaylist(text string) playlist {
	p := playlist{hintMSN: -1, hintPart: -1}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "#EXT-X-TARGETDURATION:"):
			n, _ := strconv.Atoi(strings.TrimPrefix(l, "#EXT-X-TARGETDURATION:"))
			p.target = time.Duration(n) * time.Second
		case strings.HasPrefix(l, "#EXT-X-PART:"):
			if uri := benchkit.Attr(l, "URI"); uri != "" {
				p.parts = append(p.parts, uri)
			}
		case strings.HasPrefix(l, "#EXT-X-PRELOAD-HINT:") && strings.Contains(l, "TYPE=PART"):
			var msn, part int
			if _, err := fmt.Sscanf(benchkit.Attr(l, "URI"), "%d.%d.m4s", &msn, &part); err == nil {
				p.hintMSN, p.hintPart = msn, part
			}
		case l != "" && !strings.HasPrefix(l, "#"):
			p.segments = append(p.segments, l)
		}
	}
	return p
}
