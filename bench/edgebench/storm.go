package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// stormResult is one miss storm against one edge.
type stormResult struct {
	Objects, Clients int
	// PerObject is the origin requests each object caused.
	PerObject []int64
	// Complete counts the clients that got 200 and the full, identical body.
	Complete int
	Failures []string       // the first few failures, for the log
	Kinds    map[string]int // failures by error
	// Wall runs from the start barrier to the last client's last byte,
	// added up over the objects when they are stormed one after another.
	Wall time.Duration
	// Latencies of the clients, sorted: request sent to last byte.
	Latencies []time.Duration
	// Origin is what the origin saw.
	Origin originStormStats
}

// MinMax are the least and most origin requests for one object.
func (r stormResult) MinMax() (lo, hi int64) {
	return slices.Min(r.PerObject), slices.Max(r.PerObject)
}

// Total is the origin requests for all objects.
func (r stormResult) Total() int64 {
	var n int64
	for _, c := range r.PerObject {
		n += c
	}
	return n
}

// Percentile of the client latencies (p in [0, 100]).
func (r stormResult) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(p / 100 * float64(len(r.Latencies)-1))
	return r.Latencies[i]
}

// storm makes fresh objects /storm/{label}/{n}.m4s and has clients
// clients request each of them at the same instant: every client first
// opens its own connection to the edge (GET /healthz), then all wait at a
// barrier and send their request at once. The objects are stormed one
// after another, or all at once when together is set. It then reads from
// the origin's counters how many origin requests each object caused, and
// checks every body against the origin's bytes.
func storm(s *server, o *origin, label string, objects, clients int, together bool) stormResult {
	res := stormResult{Objects: objects, Clients: clients}
	paths := make([]string, objects)
	want := make([][]byte, objects)
	for n := range paths {
		paths[n] = fmt.Sprintf("/storm/%s/%d.m4s", label, n)
		want[n] = o.body(paths[n], segmentBody)
	}
	if together {
		res.Wall = stormOnce(s, o, paths, want, clients, &res)
	} else {
		for n := range paths {
			res.Wall += stormOnce(s, o, paths[n:n+1], want[n:n+1], clients, &res)
		}
	}
	slices.Sort(res.Latencies)
	for _, p := range paths {
		res.PerObject = append(res.PerObject, o.requests(p))
	}
	return res
}

// stormOnce has clients clients request each of paths at one instant,
// adds their outcomes to res and returns the time from the barrier to the
// last byte.
func stormOnce(s *server, o *origin, paths []string, want [][]byte, clients int, res *stormResult) time.Duration {
	total := len(paths) * clients
	var (
		ready, finished sync.WaitGroup
		start           = make(chan struct{})
		mu              sync.Mutex
	)
	ready.Add(total)
	finished.Add(total)
	transports := make([]*http.Transport, total)
	for i := range total {
		tr := &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}
		transports[i] = tr
		go func() {
			defer finished.Done()
			client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
			n := i % len(paths)
			warmErr := warmConn(client, s.Base)
			ready.Done()
			<-start
			t0 := time.Now()
			err := warmErr
			if err == nil {
				err = fetchCompare(client, s.Base+paths[n], want[n])
			}
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			res.Latencies = append(res.Latencies, d)
			if err != nil {
				if res.Kinds == nil {
					res.Kinds = map[string]int{}
				}
				res.Kinds[err.Error()]++
				if len(res.Failures) < 5 {
					res.Failures = append(res.Failures, fmt.Sprintf("%s: %v", paths[n], err))
				}
				return
			}
			res.Complete++
		}()
	}
	ready.Wait()
	t0 := time.Now()
	o.stormBarrier(t0)
	close(start)
	finished.Wait()
	wall := time.Since(t0)
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
	return wall
}

// warmConn opens the client's connection with a request for /healthz.
func warmConn(client *http.Client, base string) error {
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		return fmt.Errorf("opening a connection: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// fetchCompare GETs url and compares the body, as it streams in, with want.
func fetchCompare(client *http.Client, url string, want []byte) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	buf := make([]byte, 32<<10)
	off := 0
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if off+n > len(want) || !bytes.Equal(buf[:n], want[off:off+n]) {
				return fmt.Errorf("body differs from the origin's at or after byte %d", off)
			}
			off += n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d bytes: %w", off, err)
		}
	}
	if off != len(want) {
		return fmt.Errorf("body has %d bytes, want %d", off, len(want))
	}
	return nil
}
