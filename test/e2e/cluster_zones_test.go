package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
)

// TestClusterZones splits the cluster over two zones (network namespaces)
// that share the region's PostgreSQL, S3 and NATS:
//
//	zone a: ingest A, origin+api B
//	zone b: ingest A2, origin+api C
//	region: the services, an edge with origins C and B, publisher, viewer
//
// 1. Zone b is cut: the edge's first origin vanishes without a word;
// the viewer keeps playing through B; C reports itself not ready, naming
// what it cannot reach; back when the link is.
// 2. Zone a is cut mid-stream: ingest A and origin B vanish. PostgreSQL
// ends A's session on its own (server-side keepalives), so A's channel
// lease lapses; the publisher, reconnecting through A2, continues the
// channel; the viewer goes on through C after a discontinuity.
// 3. Zone a comes back: A, whose channel another node took, ends its
// publication without touching the channel's playlists.
func TestClusterZones(t *testing.T) {
	za, zb := newZones(t)
	pg := pgtest.StartServer(t, servicesAddr, zonesSubnet)
	c := newClusterOn(t, servicesAddr, pg.URL())
	a := c.nodeIn(za, "a", "ingest")
	a2 := c.nodeIn(zb, "a2", "ingest")
	b := c.nodeIn(za, "b", "origin,api", "--ingest-rtmp-url", "rtmp://"+a.rtmpAddr+"/live")
	cn := c.nodeIn(zb, "c", "origin,api")
	e := c.edge("e", cn, b)

	ch := b.createChannel("zones")
	pub := publish(t, "rtmp://"+a.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 300)
	defer pub.cancel()
	fromB := renditionURLWait(t, ch.Playback.HLS, "360p")
	v := startViewer(swapBase(t, fromB, e.base))
	defer v.stop()
	waitFor(t, 40*time.Second, "the viewer to read 3 segments through the edge", func() bool { return v.segments() >= 3 })
	var pub2 *publisher // the publisher once it has moved to A2 (it outlives the subtest)
	top := t
	defer func() {
		if pub2 != nil {
			pub2.cancel()
		}
	}()

	t.Run("zone b cut", func(t *testing.T) {
		before := v.segments()
		zb.cut()
		cut := time.Now()
		waitFor(t, 20*time.Second, "C to report the catalog unreachable", func() bool {
			code, body := zb.get(cn.httpBase + "/readyz")
			if code == http.StatusServiceUnavailable && strings.Contains(body, "catalog") && strings.Contains(body, pg.Addr()) {
				t.Logf("C /readyz %v after the cut: %d %s", time.Since(cut).Round(time.Millisecond), code, strings.TrimSpace(body))
				return true
			}
			return false
		})
		waitFor(t, 20*time.Second, "3 new segments through the edge", func() bool { return v.segments()-before >= 3 })
		t.Logf("the viewer read %d new segments in the %v after zone b was cut", v.segments()-before, time.Since(cut).Round(time.Millisecond))
		zb.restore()
		restored := time.Now()
		waitFor(t, 30*time.Second, "C ready again", func() bool {
			code, _ := get(t, cn.httpBase+"/readyz")
			return code == http.StatusOK
		})
		t.Logf("C ready %v after zone b came back", time.Since(restored).Round(time.Millisecond))
	})

	t.Run("zone a cut mid-stream", func(t *testing.T) {
		fromC := swapBase(t, fromB, cn.httpBase)
		m1, _ := mediaPlaylist(t, fromC)
		oldSeq := seqByURI(m1)
		before := v.segments()

		za.cut()
		cut := time.Now()
		pub.cancel() // the encoder gives up on A and reconnects elsewhere
		<-pub.done
		m1, _ = mediaPlaylist(t, fromC)
		oldLast := m1.MediaSequence + len(m1.Segments) - 1
		for k, s := range seqByURI(m1) {
			oldSeq[k] = s
		}

		// Refused while PostgreSQL still holds A's lease; accepted once
		// it has ended A's session.
		refusals := 0
		for pub2 == nil && time.Since(cut) < 40*time.Second {
			p := publish(top, "rtmp://"+a2.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 300)
			select {
			case <-p.done:
				refusals++
				time.Sleep(time.Second)
			case <-time.After(4 * time.Second):
				pub2 = p
			}
		}
		if pub2 == nil {
			t.Fatalf("A2 still refused the channel 40 s after zone a was cut (%d refusals)", refusals)
		}
		// The lease lapsed before the accepted attempt began (4 s ago).
		lapsed := time.Since(cut) - 4*time.Second
		t.Logf("A2 accepted the publisher after %d refusals; A's lease lapsed within %v of the cut", refusals, lapsed.Round(time.Millisecond))
		if lapsed > 12*time.Second {
			t.Errorf("A's lease lapsed %v after zone a was cut, want ≤ 10 s (+ the publisher's 1 s retry)", lapsed)
		}

		m2, text := waitDiscontinuity(t, "the 360p playlist on C", func() string { return fromC })
		t.Logf("the playlist went on %v after the cut", time.Since(cut).Round(time.Millisecond))
		checkContinued(t, m2, oldSeq, oldLast)
		waitFor(t, 20*time.Second, "the viewer to read 3 segments of A2's", func() bool { return v.segments()-before >= 3 })
		if t.Failed() {
			t.Logf("playlist after the cut:\n%s", text)
		}
	})

	t.Run("zone a back", func(t *testing.T) {
		za.restore()
		restored := time.Now()
		waitFor(t, 60*time.Second, "B ready again", func() bool {
			code, _ := get(t, b.httpBase+"/readyz")
			return code == http.StatusOK
		})
		// A ended its publication without the lease: cut off, when its
		// publisher went silent (ingest.idle_timeout), or back, when it
		// found A2 holding the channel.
		var gaveUp []map[string]any
		waitFor(t, 60*time.Second, "A to end its publication", func() bool {
			gaveUp = append(a.logs.find("another node has taken the channel"),
				a.logs.find("the publication ends without its channel's lease")...)
			return len(gaveUp) > 0
		})
		t.Logf("A gave the channel up at %v (%q); zone a came back at %s", gaveUp[0]["time"], gaveUp[0]["msg"], restored.UTC().Format("15:04:05.000"))
		// The channel goes on from A2: not ended, still advancing.
		fromC := swapBase(t, fromB, cn.httpBase)
		m, _ := mediaPlaylist(t, fromC)
		last := m.MediaSequence + len(m.Segments)
		waitFor(t, 20*time.Second, "the playlist to advance after A gave up", func() bool {
			m, _ = mediaPlaylist(t, fromC)
			if m.Endlist {
				t.Fatal("the playlist ended: A's publication ended the channel another node owns")
			}
			return m.MediaSequence+len(m.Segments) > last+1
		})
		for _, s := range m.Segments {
			if s.Gap {
				continue // the numbers A may have served from memory, skipped (at most 8)
			}
			if code, _ := get(t, resolve(t, fromC, s.URI)); code != 200 {
				t.Errorf("%s: HTTP %d", s.URI, code)
			}
		}
	})

	rep := v.stop()
	for _, e := range rep.errs {
		t.Errorf("viewer through the edge: %s", e)
	}
	t.Logf("the viewer read %d segments; longest wait for a new one %v", v.segments(), rep.longest.Round(time.Millisecond))
}

// checkContinued checks that m, a media playlist after a failover, goes on
// from the one that listed oldSeq (URI → sequence) up to oldLast: the same
// numbers for the same segments, one discontinuity, nothing skipped or
// dropped from the window.
func checkContinued(t *testing.T, m *playlist.Media, oldSeq map[string]int, oldLast int) {
	t.Helper()
	if m.Endlist {
		t.Error("the playlist ended")
	}
	for uri, seq := range seqByURI(m) {
		if old, ok := oldSeq[uri]; ok && old != seq {
			t.Errorf("segment %s: sequence %d before the failover, %d after", uri, old, seq)
		}
	}
	for i, s := range m.Segments {
		if s.Discontinuity {
			if seq := m.MediaSequence + i; seq <= oldLast {
				t.Errorf("first segment after the discontinuity has sequence %d, the old session reached %d", seq, oldLast)
			}
			if i == 0 && m.MediaSequence > oldLast+1 {
				t.Errorf("sequence jumps from %d to %d", oldLast, m.MediaSequence)
			}
		}
	}
	if m.MediaSequence > oldLast+1 {
		t.Errorf("media sequence %d: segments of the first session (up to %d) fell out of a playlist that should keep them", m.MediaSequence, oldLast)
	}
}

// waitDiscontinuity waits (45 s at most) until the media playlist at url()
// lists 2 segments after an EXT-X-DISCONTINUITY, and returns it, parsed
// and as text. url may answer "" while there is no playlist yet.
func waitDiscontinuity(t *testing.T, what string, url func() string) (*playlist.Media, string) {
	t.Helper()
	var m *playlist.Media
	var text string
	waitFor(t, 45*time.Second, "2 segments after a discontinuity in "+what, func() bool {
		u := url()
		if u == "" {
			return false
		}
		m, text = mediaPlaylist(t, u)
		for i, s := range m.Segments {
			if s.Discontinuity {
				return len(m.Segments)-i >= 2
			}
		}
		return false
	})
	return m, text
}
