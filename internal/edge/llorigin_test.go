package edge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// llOrigin is a small LL-HLS origin that follows the contract the edge
// relies on (llhls.go): one rendition, its media playlist at
// /live/ch/720p/index.m3u8, partsPerSeg parts {n}.{k}.m4s a segment.
// Blocking reloads (_HLS_msn, _HLS_part) are held until the part exists,
// then answered with max-age=6; a malformed directive or an _HLS_msn more
// than two segments ahead gets 400 at once; a hold that runs out (hold, or
// expire) gets 503. The test produces parts with produce.
type llOrigin struct {
	*httptest.Server
	partsPerSeg int
	hold        time.Duration
	errorCC     string // Cache-Control of 400 and 503

	mu       sync.Mutex
	msn      int                  // the segment of the last part produced
	part     int                  // the last part produced
	changed  chan struct{}        // closed and replaced at each produce
	giveUp   chan struct{}        // closed by expire: held requests answer 503
	held     map[string]int       // playlist requests being held now, by raw query
	heldFrom map[string]time.Time // when the oldest of them arrived
	queries  []string             // raw queries of the playlist requests, in order
}

const llPlaylistPath = "/live/ch/720p/index.m3u8"

// newLLOrigin starts an origin whose last produced part is msn.part.
func newLLOrigin(t testing.TB, msn, part int) *llOrigin {
	t.Helper()
	o := &llOrigin{
		partsPerSeg: 5, hold: 3 * time.Second, errorCC: "no-store",
		msn: msn, part: part, changed: make(chan struct{}), giveUp: make(chan struct{}),
		held: map[string]int{}, heldFrom: map[string]time.Time{},
	}
	o.Server = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.Close)
	return o
}

func (o *llOrigin) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == llPlaylistPath:
		o.servePlaylist(w, r)
	case strings.HasSuffix(r.URL.Path, ".m4s"):
		o.servePart(w, r)
	default:
		http.NotFound(w, r)
	}
}

// produce makes msn.part the last part and wakes the held requests.
func (o *llOrigin) produce(msn, part int) {
	o.mu.Lock()
	o.msn, o.part = msn, part
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// expire makes every held request give up now (503).
func (o *llOrigin) expire() {
	o.mu.Lock()
	close(o.giveUp)
	o.giveUp = make(chan struct{})
	o.mu.Unlock()
}

// heldNow returns how many playlist requests with the raw query q are
// held, and since when the oldest one is.
func (o *llOrigin) heldNow(q string) (int, time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held[q], o.heldFrom[q]
}

// seen returns the raw queries of the playlist requests received.
func (o *llOrigin) seen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.queries...)
}

// llDirectives are parsed delivery directives; msn and part < 0 when absent.
type llDirectives struct {
	msn, part int
	skip      bool
}

// parseLL checks the delivery directives like the origin must.
func (o *llOrigin) parseLL(r *http.Request) (llDirectives, error) {
	d := llDirectives{msn: -1, part: -1}
	q := r.URL.Query()
	one := func(name string) (string, bool, error) {
		v, ok := q[name]
		if !ok {
			return "", false, nil
		}
		if len(v) != 1 {
			return "", true, fmt.Errorf("%s given %d times", name, len(v))
		}
		return v[0], true, nil
	}
	num := func(name string) (int, bool, error) {
		s, ok, err := one(name)
		if !ok || err != nil {
			return -1, ok, err
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return -1, true, fmt.Errorf("%s=%q is not a decimal integer", name, s)
		}
		return n, true, nil
	}
	var err error
	var hasMSN, hasPart bool
	if d.msn, hasMSN, err = num("_HLS_msn"); err != nil {
		return d, err
	}
	if d.part, hasPart, err = num("_HLS_part"); err != nil {
		return d, err
	}
	if hasPart && !hasMSN {
		return d, fmt.Errorf("_HLS_part without _HLS_msn")
	}
	if hasPart && d.part >= o.partsPerSeg {
		return d, fmt.Errorf("_HLS_part=%d: a segment has %d parts", d.part, o.partsPerSeg)
	}
	if s, ok, err := one("_HLS_skip"); err != nil {
		return d, err
	} else if ok {
		if s != "YES" && s != "v2" {
			return d, fmt.Errorf("_HLS_skip=%q must be YES or v2", s)
		}
		d.skip = true
	}
	return d, nil
}

func (o *llOrigin) servePlaylist(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.queries = append(o.queries, r.URL.RawQuery)
	o.mu.Unlock()
	d, err := o.parseLL(r)
	if err != nil {
		w.Header().Set("Cache-Control", o.errorCC)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if d.msn < 0 {
		msn, part := o.state()
		w.Header().Set("Cache-Control", "public, max-age=1")
		w.Write(llPlaylist(msn, part, o.partsPerSeg, d.skip))
		return
	}
	want := d.part
	if want < 0 {
		want = o.partsPerSeg - 1 // the whole segment
	}
	timer := time.NewTimer(o.hold)
	defer timer.Stop()
	o.mu.Lock()
	if d.msn > o.msn+2 {
		o.mu.Unlock()
		w.Header().Set("Cache-Control", o.errorCC)
		http.Error(w, "_HLS_msn is more than two segments ahead", http.StatusBadRequest)
		return
	}
	q := r.URL.RawQuery
	counted := false
	for o.msn < d.msn || (o.msn == d.msn && o.part < want) {
		if !counted {
			counted = true
			if o.held[q] == 0 {
				o.heldFrom[q] = time.Now()
			}
			o.held[q]++
		}
		changed, giveUp := o.changed, o.giveUp
		o.mu.Unlock()
		select {
		case <-changed:
		case <-giveUp:
			o.answerGaveUp(w, q)
			return
		case <-timer.C:
			o.answerGaveUp(w, q)
			return
		case <-r.Context().Done():
			o.answerGaveUp(w, q)
			return
		}
		o.mu.Lock()
	}
	if counted {
		o.held[q]--
	}
	msn, part := o.msn, o.part
	o.mu.Unlock()
	w.Header().Set("Cache-Control", "public, max-age=6")
	w.Write(llPlaylist(msn, part, o.partsPerSeg, d.skip))
}

// answerGaveUp answers a held request (raw query q) that waited too long.
func (o *llOrigin) answerGaveUp(w http.ResponseWriter, q string) {
	o.mu.Lock()
	o.held[q]--
	o.mu.Unlock()
	w.Header().Set("Cache-Control", o.errorCC)
	w.Header().Set("Retry-After", "1")
	http.Error(w, "the part did not come in time", http.StatusServiceUnavailable)
}

func (o *llOrigin) state() (msn, part int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.msn, o.part
}

// servePart serves a produced part {n}.{k}.m4s (immutable), else 404.
func (o *llOrigin) servePart(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	var n, k int
	if _, err := fmt.Sscanf(name, "%d.%d.m4s", &n, &k); err != nil {
		http.NotFound(w, r)
		return
	}
	msn, part := o.state()
	if n > msn || (n == msn && k > part) {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600, immutable")
	w.Header().Set("Content-Type", "video/iso.segment")
	w.Write(partBytes(n, k))
}

func partBytes(n, k int) []byte { return payload(3000, byte(n*16+k)) }

// llPlaylist renders the media playlist whose last part is msn.part.
func llPlaylist(msn, part, partsPerSeg int, skip bool) []byte {
	var b strings.Builder
	first := max(0, msn-8)
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n#EXT-X-PART-INF:PART-TARGET=0.2\n")
	fmt.Fprintf(&b, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,CAN-SKIP-UNTIL=6.0\n")
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", first)
	from := first
	if skip && msn-first > 6 {
		from = msn - 6
		fmt.Fprintf(&b, "#EXT-X-SKIP:SKIPPED-SEGMENTS=%d\n", from-first)
	}
	for n := from; n < msn; n++ {
		fmt.Fprintf(&b, "#EXTINF:1.000,\n%d.m4s\n", n)
	}
	for k := 0; k <= part; k++ {
		fmt.Fprintf(&b, "#EXT-X-PART:DURATION=0.200,URI=\"%d.%d.m4s\"\n", msn, k)
	}
	nm, nk := nextPart(msn, part, partsPerSeg)
	fmt.Fprintf(&b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"%d.%d.m4s\"\n", nm, nk)
	return []byte(b.String())
}

// nextPart is the part after msn.part.
func nextPart(msn, part, partsPerSeg int) (int, int) {
	if part+1 == partsPerSeg {
		return msn + 1, 0
	}
	return msn, part + 1
}

// counterValue reads a counter.
func counterValue(c interface{ Write(*dto.Metric) error }) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// blockingReloads is the sum of osprey_edge_blocking_reloads_total.
func (te *testEdge) blockingReloads() float64 {
	var total float64
	for _, c := range []string{statusHit, statusMiss, statusPass, statusRevalidated, statusUpdating, statusStale, statusError} {
		total += counterValue(te.metrics.blocking.WithLabelValues(c))
	}
	return total
}
