package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
	"github.com/ospreyvideo/osprey/bench/internal/s3kit"
	"github.com/ospreyvideo/osprey/bench/internal/wrk"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/storage"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/storage/readcache"
)

// Variant names, in the report's order.
const (
	nameFS      = "fs"
	nameS3Cache = "s3+cache"
	nameS3      = "s3"
)

// variant is one store behind its own origin handler and port.
type variant struct {
	name  string
	store storage.Store
	cache *readcache.Store // s3+cache only
	base  string           // http://127.0.0.1:PORT
	srv   *http.Server
	done  chan struct{}
}

// bench holds a run's servers and results.
type bench struct {
	o        opts
	work     string
	s3       *s3kit.Server
	variants []*variant
	paths    []string
	data     [][]byte
	script   string
	rounds   []round
}

// round is one round's results by variant name, and its order.
type round struct {
	order   []string
	results map[string]measured
}

// measured is one variant's measured run.
type measured struct {
	wrkResult
	cpu     time.Duration // the serving process's CPU time during the run
	s3CPU   time.Duration // versitygw's CPU time during the run
	s3Loads int64         // backend reads the cache made during the run
	others  time.Duration // CPU time of everything else on the machine during the run
}

// perCPU is the requests served per CPU-second of the serving process and
// of versitygw: how much work a hit costs, which other load on the
// machine disturbs far less than requests/s.
func (m measured) perCPU() float64 { return float64(m.Requests) / (m.cpu + m.s3CPU).Seconds() }

// setup starts versitygw, stores the segments in both backends and starts
// the three origin servers (wrk is not needed yet).
func setup(o opts) (_ *bench, err error) {
	work, err := os.MkdirTemp("", "originbench-")
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, work: work}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	for _, d := range []string{"fs", "s3"} {
		if err := os.Mkdir(filepath.Join(work, d), 0o755); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fsStore, err := fs.New(filepath.Join(work, "fs"))
	if err != nil {
		return nil, err
	}
	log.Print("starting versitygw")
	if b.s3, err = s3kit.Start(filepath.Join(work, "s3")); err != nil {
		return nil, err
	}
	s3Store, err := b.s3.Store(ctx, "originbench")
	if err != nil {
		return nil, err
	}
	if o.cacheDir != "" {
		if err := os.MkdirAll(o.cacheDir, 0o750); err != nil {
			return nil, err
		}
		if err := readcache.CheckDir(o.cacheDir); err != nil {
			return nil, err
		}
	}
	cached := readcache.New(s3Store, readcache.Config{MaxBytes: o.cacheBytes, Dir: o.cacheDir})

	log.Printf("storing %d segments of %d bytes in both backends", o.segments, o.segmentSize)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range o.segments {
		key := fmt.Sprintf("live/bench/s1/720p/%d.m4s", n+1)
		data := make([]byte, o.segmentSize)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for _, s := range []storage.Store{fsStore, s3Store} {
			if err := s.Put(ctx, key, data); err != nil {
				return nil, fmt.Errorf("storing %s: %w", key, err)
			}
		}
		b.paths = append(b.paths, "/"+key)
		b.data = append(b.data, data)
	}
	if b.script, err = wrk.WriteScript(work, "segments", b.paths); err != nil {
		return nil, err
	}
	for _, v := range []*variant{
		{name: nameFS, store: fsStore},
		{name: nameS3Cache, store: cached, cache: cached},
		{name: nameS3, store: s3Store},
	} {
		if err := v.start(); err != nil {
			return nil, err
		}
		b.variants = append(b.variants, v)
	}
	return b, nil
}

// start serves the variant's store with the origin handler on a loopback port.
func (v *variant) start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	v.base = "http://" + ln.Addr().String()
	v.srv = &http.Server{Handler: origin.New(v.store, origin.DefaultConfig(), nil), ReadHeaderTimeout: 10 * time.Second}
	v.done = make(chan struct{})
	go func() {
		defer close(v.done)
		if err := v.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Printf("%s: %v", v.name, err)
		}
	}()
	return nil
}

// close stops the servers and versitygw and removes the work folder.
func (b *bench) close() {
	for _, v := range b.variants {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = v.srv.Shutdown(ctx)
		cancel()
		<-v.done
	}
	if b.s3 != nil {
		b.s3.Stop()
	}
	_ = os.RemoveAll(b.work)
}

// run checks every variant, then runs the rounds.
func (b *bench) run() error {
	for _, v := range b.variants {
		if err := b.check(v); err != nil {
			return err
		}
	}
	names := []string{nameFS, nameS3Cache, nameS3}
	for r := range b.o.rounds {
		order := append(slices.Clone(names[r%len(names):]), names[:r%len(names)]...)
		rd := round{order: order, results: map[string]measured{}}
		for _, name := range order {
			v := b.variant(name)
			m, err := b.measure(v)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, name, err)
			}
			log.Printf("round %d %-8s %6.0f req/s, p50 %s, p99 %s, CPU %.2f s (versitygw %.2f s, wrk %.2f s, others %.2f s), cache loads %d, errors %d",
				r+1, name, m.RPS(), fmtMs(m.P50), fmtMs(m.P99), m.cpu.Seconds(), m.s3CPU.Seconds(), m.CPU.Seconds(), m.others.Seconds(), m.s3Loads, m.Errors)
			rd.results[name] = m
		}
		b.rounds = append(b.rounds, rd)
	}
	return nil
}

func (b *bench) variant(name string) *variant {
	for _, v := range b.variants {
		if v.name == name {
			return v
		}
	}
	panic("originbench: no variant " + name)
}

// check fetches every segment through v and compares it with what was
// stored (this also fills the cache of s3+cache).
func (b *bench) check(v *variant) error {
	client := &http.Client{Timeout: 30 * time.Second}
	for i, p := range b.paths {
		resp, err := client.Get(v.base + p)
		if err != nil {
			return fmt.Errorf("%s: GET %s: %w", v.name, p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, b.data[i]) {
			return fmt.Errorf("%s: GET %s: HTTP %d, %d bytes (equal to the stored ones: %v), %v",
				v.name, p, resp.StatusCode, len(body), bytes.Equal(body, b.data[i]), err)
		}
	}
	return nil
}

// measure warms v up with wrk, then measures a wrk run.
func (b *bench) measure(v *variant) (measured, error) {
	if b.o.warmup >= time.Second {
		if _, err := runWrk(b.o, b.script, v.base, b.o.warmup); err != nil {
			return measured{}, fmt.Errorf("warm-up: %w", err)
		}
	}
	var loads0 int64
	if v.cache != nil {
		loads0 = v.cache.Stats().Loads
	}
	self, s3pid := os.Getpid(), b.s3.PID()
	cpu0, s3cpu0, busy0 := benchkit.SelfCPU(self), benchkit.SelfCPU(s3pid), benchkit.MachineBusy()
	w, err := runWrk(b.o, b.script, v.base, b.o.duration)
	if err != nil {
		return measured{}, err
	}
	m := measured{wrkResult: w, cpu: benchkit.SelfCPU(self) - cpu0, s3CPU: benchkit.SelfCPU(s3pid) - s3cpu0}
	m.others = max(0, benchkit.MachineBusy()-busy0-m.cpu-m.s3CPU-w.CPU)
	if v.cache != nil {
		m.s3Loads = v.cache.Stats().Loads - loads0
	}
	return m, nil
}

func fmtMs(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
