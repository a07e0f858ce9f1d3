package edge

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkBlockingReloadFanout: v viewers follow a live LL-HLS rendition
// through the edge with blocking reloads, one op per part produced (the
// origin produces it once every viewer waits for it). It reports the
// origin requests per viewer request (1/v when every part's reload is
// collapsed into one origin request; 1 without an edge) from the edge's
// own metrics, and the mean time from a part's production at the origin to
// the last viewer's complete answer (loopback HTTP, 20 µs polling). Run: go test ./internal/edge -run '^$' -bench BlockingReloadFanout
func BenchmarkBlockingReloadFanout(b *testing.B) {
	for _, v := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("viewers=%d", v), func(b *testing.B) { benchFanout(b, v) })
	}
}

func benchFanout(b *testing.B, v int) {
	o := newLLOrigin(b, 0, 0)
	te := newTestEdge(b, Config{}, o.URL)
	reloadURL := func(m, k int) string {
		return te.srv.URL + llPlaylistPath + fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d", m, k)
	}
	// allWaiting polls until every viewer waits on the flight for m.k
	// and the origin holds its one request.
	allWaiting := func(m, k int) {
		q := fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", m, k)
		deadline := time.Now().Add(10 * time.Second)
		for {
			held, _ := o.heldNow(q)
			if held == 1 && te.joined(llPlaylistPath+"?"+q) == int32(v-1) {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("viewers did not all wait for part %d.%d", m, k)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var answered atomic.Int64
	for range v {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, k := 0, 1
			for {
				a := fetchAnswer(ctx, reloadURL(m, k))
				if a.err != nil || a.status != 200 {
					return // the end (or a failure the counts will show)
				}
				answered.Add(1)
				m, k = lastPart(a.body)
				m, k = nextPart(m, k, o.partsPerSeg)
			}
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
	}()

	m, k := 0, 1
	var fanout time.Duration // from each part to its last viewer's answer
	b.ResetTimer()
	for i := range b.N {
		allWaiting(m, k)
		start := time.Now()
		o.produce(m, k)
		for answered.Load() < int64((i+1)*v) {
			time.Sleep(20 * time.Microsecond)
		}
		fanout += time.Since(start)
		m, k = nextPart(m, k, o.partsPerSeg)
	}
	allWaiting(m, k) // every answer is in; one origin request waits for the next part
	b.StopTimer()

	viewerReqs := answered.Load()
	originReqs := int64(counterValue(te.metrics.blockingOrigin)) - 1
	if viewerReqs != int64(b.N*v) || originReqs != int64(b.N) {
		b.Errorf("%d viewer requests answered (want %d), %d origin requests (want %d)", viewerReqs, b.N*v, originReqs, b.N)
	}
	b.ReportMetric(float64(originReqs)/float64(viewerReqs), "origin-req/viewer-req")
	b.ReportMetric(float64(fanout.Microseconds())/float64(b.N), "us-to-last-viewer")
}
