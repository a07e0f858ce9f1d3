package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage/s3/s3test"
)

// TestClusterS3RefusesWrites: S3 refuses every write (503 SlowDown) for
// 10 s in the middle of a live stream. The packager keeps the segments
// and retries; a player reading the 360p playlist through the origin sees
// the playlist stop advancing, then catch up: no HTTP error, no
// EXT-X-GAP, a contiguous media sequence across the outage, every listed
// segment there, and ffprobe reads the stream afterwards. Parts are off:
// with them the ingest node serves its playlists from memory, and its own
// viewers do not feel the outage at all (what this test looks at is the
// stored playlists, which every other origin node serves).
func TestClusterS3RefusesWrites(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket(t)
	fault := srv.StartFault(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	storageURL := "s3://" + bucket + "/?endpoint=" + url.QueryEscape(fault.URL) + "&path_style=true&region=us-east-1"
	s := startOsprey(t, "--storage", storageURL, "--ladder", "low", "--part-duration", "0")
	ch := s.createChannel("s3faults")
	pub := publish(t, "rtmp://"+s.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 180)
	defer pub.cancel()
	pl := renditionURLWait(t, ch.Playback.HLS, "360p")
	waitFor(t, 60*time.Second, "3 segments in the 360p playlist", func() bool {
		m, _ := mediaPlaylist(t, pl)
		return len(m.Segments) >= 3
	})

	p := startViewer(pl)
	waitFor(t, 30*time.Second, "the player to read 2 new segments", func() bool { return p.newSegments() >= 2 })

	const outage = 10 * time.Second
	fault.Refuse(http.StatusServiceUnavailable, -1)
	on := time.Now()
	// The API shows the held segments meanwhile.
	waitFor(t, outage, "the channel's store_backlog to grow", func() bool {
		st := s.getChannel(ch.ID)
		return st.Live != nil && st.Live.Packager != nil && st.Live.Packager.StoreBacklog > 0
	})
	t.Logf("the API showed a storage backlog %v into the outage", time.Since(on).Round(time.Millisecond))
	time.Sleep(outage - time.Since(on)) // the fault itself: writes refused this long
	fault.Accept()
	off := time.Now()
	refused := fault.Refused()
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
		p.segments(), rep.longest.Round(time.Millisecond), rep.firstAfter(off).Round(time.Millisecond))
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
