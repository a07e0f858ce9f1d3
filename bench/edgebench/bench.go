package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/bench/internal/wrk"
)

// bench holds a run's settings, working sets and results.
type bench struct {
	o         opts
	work      string
	origin    *origin
	sets      []workingSet
	nginxConf string // the configuration of the last nginx started
	rounds    []round
}

// workingSet is a list of paths walked round-robin by wrk.
type workingSet struct {
	name   string // "segments" or "playlists"
	prefix string // origin path prefix, to count origin requests
	size   int    // body bytes
	paths  []string
	script string // the wrk Lua script
}

type round struct {
	order   []string
	results map[string]*serverRound
}

// serverRound is what one edge did in one round.
type serverRound struct {
	hits        []hitRun // one per working set
	storm       stormResult
	accessBytes int64 // access log size after the round
	accessLines int64 // access log lines after the round
}

// hitRun is one measured wrk run.
type hitRun struct {
	wrkResult
	cpu        time.Duration // the server's CPU time during the run
	originReqs int64         // origin requests during the run (should be 0)
	others     time.Duration // CPU time of everything else on the machine during the run
}

func newBench(o opts, work string, org *origin) (*bench, error) {
	b := &bench{o: o, work: work, origin: org}
	var segs, pls []string
	for n := range o.objects {
		segs = append(segs, fmt.Sprintf("/seg/%d.m4s", n))
		pls = append(pls, fmt.Sprintf("/live/%d/index.m3u8", n))
	}
	b.sets = []workingSet{
		{name: "segments", prefix: "/seg/", size: segmentSize, paths: segs},
		{name: "playlists", prefix: "/live/", size: playlistSize, paths: pls},
	}
	for i := range b.sets {
		s, err := wrk.WriteScript(work, b.sets[i].name, b.sets[i].paths)
		if err != nil {
			return nil, err
		}
		b.sets[i].script = s
	}
	return b, nil
}

// startServer starts the named edge with a fresh folder.
func (b *bench) startServer(name, dir string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if name == nginxName {
		s, conf, err := startNginx(dir, b.origin.base, b.o)
		b.nginxConf = conf
		return s, err
	}
	return startOsprey(name, b.o.osprey, dir, b.origin.base, b.o)
}

// measure runs one edge through the hit runs and the miss storm.
func (b *bench) measure(name string, roundNo int) (*serverRound, error) {
	dir := filepath.Join(b.work, fmt.Sprintf("r%d-%s", roundNo, name))
	defer os.RemoveAll(dir)
	s, err := b.startServer(name, dir)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	if err := b.warm(s); err != nil {
		return nil, err
	}
	res := &serverRound{}
	for _, set := range b.sets {
		before := b.origin.requestsUnder(set.prefix)
		cpu0, busy0 := s.cpu(), benchkit.MachineBusy()
		w, err := wrk.Run(wrkArgs(b.o, b.o.duration, set.script, s.Base))
		if err != nil {
			return nil, err
		}
		run := hitRun{wrkResult: w, cpu: s.cpu() - cpu0, originReqs: b.origin.requestsUnder(set.prefix) - before}
		run.others = max(0, benchkit.MachineBusy()-busy0-run.cpu-w.CPU)
		if b.o.verbose {
			log.Printf("%s %s:\n%s", name, set.name, w.Output)
		}
		log.Printf("  %s hits: %.0f req/s, p99 %s, CPU %.2f s (wrk %.2f s, others %.2f s), errors %d, origin requests %d",
			set.name, w.RPS(), fmtMs(w.P99), run.cpu.Seconds(), w.CPU.Seconds(), run.others.Seconds(), w.Errors, run.originReqs)
		res.hits = append(res.hits, run)
	}
	label := fmt.Sprintf("r%d-%s", roundNo, name)
	b.origin.takeStormStats()
	res.storm = storm(s, b.origin, label, b.o.stormObjects, b.o.stormConns, b.o.stormTogether)
	lo, hi := res.storm.MinMax()
	res.storm.Origin = b.origin.takeStormStats()
	og := res.storm.Origin
	log.Printf("  storm: origin requests per object %d..%d, %d/%d clients complete, wall %s; "+
		"origin: last request %s after the barrier, slowest start of an answer %s, slowest last byte %s, %d abandoned by the edge",
		lo, hi, res.storm.Complete, res.storm.Objects*res.storm.Clients, res.storm.Wall.Round(time.Millisecond),
		og.LastArrival.Round(time.Millisecond), og.SlowestStart.Round(time.Millisecond), og.SlowestEnd.Round(time.Millisecond), og.Abandoned)
	for _, f := range res.storm.Failures {
		log.Printf("  storm failure: %s", f)
	}
	s.stop()
	if data, err := os.ReadFile(s.AccessLog); err == nil {
		res.accessBytes = int64(len(data))
		res.accessLines = int64(bytes.Count(data, []byte("\n")))
	}
	return res, nil
}

// warm fetches every path until it is a cache hit (the first GET is a
// miss; a disk-tier write may take a moment), checking every answer, then
// runs wrk over each working set for the warm-up time.
func (b *bench) warm(s *server) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for _, set := range b.sets {
		for _, p := range set.paths {
			for try := 0; ; try++ {
				resp, err := client.Get(s.Base + p)
				if err != nil {
					return fmt.Errorf("warming %s: %w", p, err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || n != int64(set.size) {
					return fmt.Errorf("warming %s: HTTP %d, %d bytes, %v", p, resp.StatusCode, n, err)
				}
				if try > 0 && s.isHit(resp) {
					break
				}
				if try == 5 {
					return fmt.Errorf("%s: GET %s was not a cache hit after %d tries (%s: %q)", s.Name, p, try+1, s.HitHeader, resp.Header.Get(s.HitHeader))
				}
				if try > 0 {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}
	}
	if b.o.warmup < time.Second {
		return nil
	}
	for _, set := range b.sets {
		if _, err := wrk.Run(wrkArgs(b.o, b.o.warmup, set.script, s.Base)); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return nil
}

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// cmdline quotes a command line for the report.
func cmdline(name string, args []string) string {
	q := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " ;'\"$") {
			a = "'" + a + "'"
		}
		q = append(q, a)
	}
	return strings.Join(q, " ")
}
