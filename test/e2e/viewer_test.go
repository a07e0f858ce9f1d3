package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// viewer plays a live media playlist as a player does: every 300 ms the
// playlist, then every segment (and init segment) it has not read yet. It
// records what went wrong and checks each playlist it reads: segment URIs
// following the media sequence ({n}.m4s), EXT-X-GAP entries, and when each
// media sequence number was first listed.
type viewer struct {
	url    string
	client *http.Client

	mu   sync.Mutex
	seen map[string]bool // URIs read
	rep  viewerReport
	base int // sequence numbers listed at the first poll

	once     sync.Once
	stopping chan struct{}
	done     chan struct{}
}

// viewerReport is what a viewer saw.
type viewerReport struct {
	errs    []string
	gaps    []string
	badSeq  []string
	listed  map[int]bool  // media sequence numbers ever listed
	newAt   []time.Time   // when each new one was first listed
	longest time.Duration // longest time without a newly listed segment
}

func startViewer(playlistURL string) *viewer {
	v := &viewer{
		url:      playlistURL,
		client:   &http.Client{Timeout: 10 * time.Second}, // a player gives up on a request too
		seen:     map[string]bool{},
		rep:      viewerReport{listed: map[int]bool{}},
		base:     -1,
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	go func() {
		defer close(v.done)
		last := time.Now()
		for {
			select {
			case <-v.stopping:
				return
			default:
			}
			v.poll()
			v.mu.Lock()
			if n := len(v.rep.newAt); n > 0 && v.rep.newAt[n-1].After(last) {
				last = v.rep.newAt[n-1]
			}
			v.rep.longest = max(v.rep.longest, time.Since(last))
			v.mu.Unlock()
			time.Sleep(300 * time.Millisecond)
		}
	}()
	return v
}

// poll reads the playlist once, then what it lists that was not read yet.
func (v *viewer) poll() {
	now := time.Now()
	resp, err := v.client.Get(v.url)
	if err != nil {
		v.fail("playlist: " + err.Error())
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		v.fail(fmt.Sprintf("playlist: HTTP %d %v", resp.StatusCode, err))
		return
	}
	var m playlist.Media
	if err := m.Unmarshal(body); err != nil {
		v.fail("playlist: " + err.Error())
		return
	}
	var refs []string
	if m.Map != nil {
		refs = append(refs, m.Map.URI)
	}
	v.mu.Lock()
	for i, sg := range m.Segments {
		n := m.MediaSequence + i
		if want := strconv.Itoa(n) + ".m4s"; sg.URI != want {
			v.rep.badSeq = append(v.rep.badSeq, fmt.Sprintf("%s at media sequence %d", sg.URI, n))
		}
		if !v.rep.listed[n] {
			v.rep.listed[n] = true
			v.rep.newAt = append(v.rep.newAt, now)
		}
		if sg.Gap {
			// A player does not fetch a gap: it has no media.
			v.rep.gaps = append(v.rep.gaps, now.Format("15:04:05.000")+" "+sg.URI)
			continue
		}
		refs = append(refs, sg.URI)
	}
	if v.base < 0 {
		v.base = len(v.rep.newAt)
	}
	refs = slices.DeleteFunc(refs, func(r string) bool { return v.seen[r] })
	v.mu.Unlock()

	base, _ := url.Parse(v.url)
	for _, ref := range refs {
		r, _ := url.Parse(ref)
		res, err := v.client.Get(base.ResolveReference(r).String())
		if err != nil {
			v.fail(ref + ": " + err.Error())
			return
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 || n == 0 {
			v.fail(fmt.Sprintf("%s: HTTP %d, %d bytes, %v", ref, res.StatusCode, n, err))
			return
		}
		v.mu.Lock()
		v.seen[ref] = true
		v.mu.Unlock()
	}
}

func (v *viewer) fail(e string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rep.errs = append(v.rep.errs, time.Now().Format("15:04:05.000")+" "+e)
}

// segments is how many segments (and init segments) the viewer has read.
func (v *viewer) segments() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen)
}

// newSegments is how many segments have been listed since the first poll.
func (v *viewer) newSegments() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.base < 0 {
		return 0
	}
	return len(v.rep.newAt) - v.base
}

// stop ends the viewer (idempotent) and returns what it saw.
func (v *viewer) stop() viewerReport {
	v.once.Do(func() { close(v.stopping) })
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.rep
}

// firstAfter is how long after t the first segment listed after t was
// listed, -1 if none.
func (r *viewerReport) firstAfter(t time.Time) time.Duration {
	for _, at := range r.newAt {
		if at.After(t) {
			return at.Sub(t)
		}
	}
	return -1
}

func (r *viewerReport) minSeq() int {
	n := -1
	for s := range r.listed {
		if n < 0 || s < n {
			n = s
		}
	}
	return n
}

func (r *viewerReport) maxSeq() int {
	n := -1
	for s := range r.listed {
		n = max(n, s)
	}
	return n
}

// holes lists the media sequence numbers between the first and the last
// listed that were never listed.
func (r *viewerReport) holes() []int {
	var out []int
	for n := r.minSeq(); n >= 0 && n <= r.maxSeq(); n++ {
		if !r.listed[n] {
			out = append(out, n)
		}
	}
	return out
}

// timeline renders when new segments were listed, relative to t, with
// how many were listed at once.
func (r *viewerReport) timeline(t time.Time) string {
	var parts []string
	for i := 0; i < len(r.newAt); {
		j := i
		for j < len(r.newAt) && r.newAt[j].Equal(r.newAt[i]) {
			j++
		}
		part := fmt.Sprintf("%+.1fs", r.newAt[i].Sub(t).Seconds())
		if j-i > 1 {
			part += fmt.Sprintf("×%d", j-i)
		}
		parts = append(parts, part)
		i = j
	}
	return strings.Join(parts, " ")
}
