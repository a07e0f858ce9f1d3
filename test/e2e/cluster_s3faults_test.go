package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// TestClusterS3RefusesWrites: S3 refuses every write (503 SlowDown) for
// 10 s in the middle of a live stream. The packager keeps the segments
// and retries; a player reading the 360p playlist through the origin sees
// the playlist stop advancing, then catch up: no HTTP error, no
// EXT-X-GAP, a contiguous media sequence across the outage, every listed
// segment there, and ffprobe reads the stream afterwards.
func TestClusterS3RefusesWrites(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	fault := startS3Fault(t, srv.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	storageURL := "s3://" + bucket + "/?endpoint=" + url.QueryEscape(fault.URL) + "&path_style=true&region=us-east-1"
	s := startOsprey(t, "--storage", storageURL, "--ladder", "low")
	ch := s.createChannel("s3faults")
	pub := publish(t, "rtmp://"+s.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 180)
	defer pub.cancel()
	pl := renditionURLWait(t, ch.Playback.HLS, "360p")
	waitFor(t, 60*time.Second, "3 segments in the 360p playlist", func() bool {
		m, _ := mediaPlaylist(t, pl)
		return len(m.Segments) >= 3
	})

	p := startFaultPlayer(pl)
	waitFor(t, 30*time.Second, "the player to read 2 new segments", func() bool { return p.newSegments() >= 2 })

	const outage = 10 * time.Second
	fault.refusing.Store(true)
	on := time.Now()
	// The API shows the held segments meanwhile.
	waitFor(t, outage, "the channel's store_backlog to grow", func() bool {
		st := s.getChannel(ch.ID)
		return st.Live != nil && st.Live.Packager != nil && st.Live.Packager.StoreBacklog > 0
	})
	t.Logf("the API showed a storage backlog %v into the outage", time.Since(on).Round(time.Millisecond))
	time.Sleep(outage - time.Since(on)) // the fault itself: writes refused this long
	fault.refusing.Store(false)
	off := time.Now()
	refused := fault.refused.Load()
	t.Logf("S3 refused %d writes during %v", refused, off.Sub(on).Round(time.Millisecond))
	if refused == 0 {
		t.Fatal("no write reached the fault proxy during the outage: osprey is not writing through it")
	}
	before := p.newSegments()
	// The backlog of the outage, then the stream going on.
	waitFor(t, 45*time.Second, "the player to see 8 new segments after the outage", func() bool {
		return p.newSegments() >= before+8
	})
	rep := p.stop()

	t.Logf("player: %d segments read, longest without a new segment %v, first new segment %v after writes were accepted again",
		rep.segments, rep.longest.Round(time.Millisecond), rep.firstAfter(off).Round(time.Millisecond))
	t.Logf("player: new segments at %s", rep.timeline(on))
	for _, e := range rep.errs {
		t.Errorf("player error: %s", e)
	}
	for _, g := range rep.gaps {
		t.Errorf("EXT-X-GAP seen: %s", g)
	}
	for _, e := range rep.badSeq {
		t.Errorf("media sequence: %s", e)
	}
	if missing := rep.holes(); len(missing) > 0 {
		t.Errorf("segments never listed between %d and %d: %v", rep.minSeq(), rep.maxSeq(), missing)
	}
	// WriteUnit never waited on S3: the transcoder kept up, nothing
	// restarted, one publication, one packager epoch.
	if n := countMsg(s, "transcoder stopped while the publisher is live; restarting"); n != 0 {
		t.Errorf("the transcoder was restarted %d times", n)
	}
	for _, msg := range []string{"publishing", "packager epoch started"} {
		if n := countMsg(s, msg); n != 1 {
			t.Errorf("%q logged %d times, want once", msg, n)
		}
	}
	t.Logf("osprey: %d segment writes retried, %d given up, transcoder fell behind %d times",
		countMsg(s, "storing segment object failed; retrying"), countMsg(s, "object not stored: its segment is listed as a gap"),
		countMsg(s, "transcoder is falling behind real time"))
	if after := rep.firstAfter(off); after < 0 || after > 15*time.Second {
		t.Errorf("the playlist advanced %v after writes were accepted again, want within a few seconds", after)
	}
	if rep.longest < outage/2 {
		// Nothing can be published while S3 refuses writes: a player that
		// saw no stall means the outage did not reach the packager.
		t.Errorf("longest stall %v during a %v outage: the outage was not felt", rep.longest, outage)
	}

	// Every listed object is there, and the stream reads.
	m, text := mediaPlaylist(t, pl)
	if m.Map != nil {
		if code, _ := get(t, resolve(t, pl, m.Map.URI)); code != 200 {
			t.Errorf("init %s: HTTP %d", m.Map.URI, code)
		}
	}
	for _, sg := range m.Segments {
		if code, _ := get(t, resolve(t, pl, sg.URI)); code != 200 {
			t.Errorf("%s: HTTP %d", sg.URI, code)
		}
		if sg.Gap {
			t.Errorf("%s listed as a gap", sg.URI)
		}
	}
	waitFor(t, 20*time.Second, "the backlog to be written", func() bool {
		st := s.getChannel(ch.ID)
		return st.Live != nil && st.Live.Packager != nil && st.Live.Packager.StoreBacklog == 0
	})
	if st := s.getChannel(ch.ID); st.Live.Packager.StoreGaps != 0 {
		t.Errorf("the API counts %d segment objects given up", st.Live.Packager.StoreGaps)
	}
	if probe := ffprobe(t, pl); len(probe.Streams) == 0 {
		t.Errorf("ffprobe found no stream in %s", pl)
	}
	if t.Failed() {
		t.Logf("360p playlist at the end:\n%s", text)
	}
}

// faultPlayer plays a live media playlist as a player does (every 300 ms:
// the playlist, then every segment not read yet) and checks every
// playlist it reads: no EXT-X-GAP, segment URIs following the media
// sequence.
type faultPlayer struct {
	url      string
	client   *http.Client
	mu       sync.Mutex
	seen     map[string]bool
	rep      faultReport
	base     int // segments read when started
	stopping chan struct{}
	done     chan struct{}
}

// faultReport is what a faultPlayer saw.
type faultReport struct {
	segments int
	errs     []string
	gaps     []string
	badSeq   []string
	listed   map[int]bool  // media sequence numbers ever listed
	newAt    []time.Time   // when each new segment was first listed
	longest  time.Duration // longest time without a new segment
}

func startFaultPlayer(u string) *faultPlayer {
	p := &faultPlayer{url: u, client: &http.Client{Timeout: 10 * time.Second}, seen: map[string]bool{}, stopping: make(chan struct{}), done: make(chan struct{})}
	p.rep.listed = map[int]bool{}
	go func() {
		defer close(p.done)
		last := time.Now()
		for {
			select {
			case <-p.stopping:
				return
			default:
			}
			p.poll()
			p.mu.Lock()
			if n := len(p.rep.newAt); n > 0 && p.rep.newAt[n-1].After(last) {
				last = p.rep.newAt[n-1]
			}
			p.rep.longest = max(p.rep.longest, time.Since(last))
			p.mu.Unlock()
			time.Sleep(300 * time.Millisecond)
		}
	}()
	return p
}

func (p *faultPlayer) poll() {
	now := time.Now()
	resp, err := p.client.Get(p.url)
	if err != nil {
		p.fail("playlist: " + err.Error())
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		p.fail(fmt.Sprintf("playlist: HTTP %d %v", resp.StatusCode, err))
		return
	}
	var m playlist.Media
	if err := m.Unmarshal(body); err != nil {
		p.fail("playlist: " + err.Error())
		return
	}
	p.mu.Lock()
	for i, sg := range m.Segments {
		n := m.MediaSequence + i
		if want := strconv.Itoa(n) + ".m4s"; sg.URI != want {
			p.rep.badSeq = append(p.rep.badSeq, fmt.Sprintf("%s at media sequence %d", sg.URI, n))
		}
		if sg.Gap {
			p.rep.gaps = append(p.rep.gaps, fmt.Sprintf("%s %s", now.Format("15:04:05.000"), sg.URI))
		}
		if !p.rep.listed[n] {
			p.rep.listed[n] = true
			p.rep.newAt = append(p.rep.newAt, now)
		}
	}
	p.mu.Unlock()
	seen := p.snapshotSeen()
	if e := playOnce(p.client, p.url, seen); e != "" {
		p.fail(e)
	}
	p.mu.Lock()
	p.seen = seen
	p.rep.segments = len(seen)
	p.mu.Unlock()
}

func (p *faultPlayer) snapshotSeen() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]bool, len(p.seen))
	for k, v := range p.seen {
		out[k] = v
	}
	return out
}

func (p *faultPlayer) fail(e string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rep.errs = append(p.rep.errs, time.Now().Format("15:04:05.000")+" "+e)
}

// newSegments is how many segments have been listed since the player started.
func (p *faultPlayer) newSegments() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.base == 0 && len(p.rep.newAt) > 0 {
		p.base = len(p.rep.newAt) // the window listed at the first poll
	}
	return len(p.rep.newAt) - p.base
}

// stop ends the player and returns what it saw.
func (p *faultPlayer) stop() faultReport {
	close(p.stopping)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rep
}

// firstAfter is how long after t the first segment listed after t was
// listed, -1 if none.
func (r *faultReport) firstAfter(t time.Time) time.Duration {
	for _, at := range r.newAt {
		if at.After(t) {
			return at.Sub(t)
		}
	}
	return -1
}

func (r *faultReport) minSeq() int {
	n := -1
	for s := range r.listed {
		if n < 0 || s < n {
			n = s
		}
	}
	return n
}

func (r *faultReport) maxSeq() int {
	n := -1
	for s := range r.listed {
		n = max(n, s)
	}
	return n
}

// holes lists the media sequence numbers between the first and the last
// listed that were never listed.
func (r *faultReport) holes() []int {
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
func (r *faultReport) timeline(t time.Time) string {
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
