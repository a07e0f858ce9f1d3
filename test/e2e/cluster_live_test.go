package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// TestClusterLiveFailover: kill -9 of the ingest node A mid-stream; the
// publisher reconnects through a new ingest node A2 within 10 s, and the
// channel's media playlist on B goes on: the same playlist, media sequence
// numbers continuing, an EXT-X-DISCONTINUITY, no listed segment missing.
func TestClusterLiveFailover(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", "ingest")
	b := c.node("b", "origin,api", "--ingest-rtmp-url", "rtmp://"+a.rtmpAddr+"/live")
	ch := b.createChannel("failover")
	pub := publish(t, "rtmp://"+a.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 120)
	defer pub.cancel()
	before := renditionURLWait(t, ch.Playback.HLS, "360p")
	waitFor(t, 40*time.Second, "3 segments on B", func() bool {
		m, _ := mediaPlaylist(t, before)
		return len(m.Segments) >= 3
	})
	m1, _ := mediaPlaylist(t, before)
	oldSeq := seqByURI(m1)
	oldLast := m1.MediaSequence + len(m1.Segments) - 1

	kill9(t, a.process)
	killed := time.Now()
	pub.cancel()
	<-pub.done
	a2 := c.node("a2", "ingest")
	pub2 := publish(t, "rtmp://"+a2.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 120)
	defer pub2.cancel()
	if took := time.Since(killed); took > 10*time.Second {
		t.Errorf("publishing again took %v after the kill, want < 10 s", took)
	}
	t.Logf("publishing to A2 %v after A died", time.Since(killed).Round(time.Millisecond))

	// The playlist goes on after a discontinuity.
	var after string
	m2, text := waitDiscontinuity(t, "the channel's 360p playlist on B", func() string {
		after = renditionURL(t, ch.Playback.HLS, "360p")
		return after
	})
	t.Logf("the playlist went on %v after the kill", time.Since(killed).Round(time.Millisecond))
	if after != before {
		t.Errorf("the channel's 360p playlist moved from %s to %s; it should go on", before, after)
	}
	checkContinued(t, m2, oldSeq, oldLast)
	for _, u := range []string{after, renditionURL(t, ch.Playback.HLS, "audio")} {
		if u == "" {
			t.Error("no audio rendition after the failover")
			continue
		}
		m, _ := mediaPlaylist(t, u)
		if m.Map != nil {
			if code, _ := get(t, resolve(t, u, m.Map.URI)); code != 200 {
				t.Errorf("%s: init %s: HTTP %d", u, m.Map.URI, code)
			}
		}
		holes := 0
		for _, s := range m.Segments {
			if s.Gap {
				holes++ // the numbers A may have served from memory, skipped
				continue
			}
			if code, _ := get(t, resolve(t, u, s.URI)); code != 200 {
				t.Errorf("%s: %s: HTTP %d", u, s.URI, code)
			}
		}
		if holes > 8 {
			t.Errorf("%s: %d holes, the reservation is 8", u, holes)
		}
	}
	if t.Failed() {
		t.Logf("playlist after the failover:\n%s", text)
	}
}

// seqByURI maps each listed segment to its media sequence number.
func seqByURI(m *playlist.Media) map[string]int {
	out := map[string]int{}
	for i, s := range m.Segments {
		out[s.URI] = m.MediaSequence + i
	}
	return out
}

// TestClusterKeyRotation: a key rotated through B is refused by A within
// 1 s; a publisher on A is cut within 1 s when a rotation on B asks for it,
// and when the channel is deleted through B.
func TestClusterKeyRotation(t *testing.T) {
	c := newCluster(t)
	a := c.node("a", "ingest")
	rtmpBase := "rtmp://" + a.rtmpAddr + "/live/"
	b := c.node("b", "origin,api", "--ingest-rtmp-url", strings.TrimSuffix(rtmpBase, "/"))
	ch := b.createChannel("rotation")
	oldKey := ch.StreamKey

	t.Run("old key refused", func(t *testing.T) {
		// A has taken the key once, so whatever it remembers of it must go.
		first := publish(t, rtmpBase+oldKey, "flv", "320x240", 30)
		waitFor(t, 30*time.Second, "A to take the first publisher", func() bool { return countMsg(a, "publishing") == 1 })
		first.cancel()
		<-first.done
		waitFor(t, 10*time.Second, "A to see the publisher leave", func() bool { return countMsg(a, "publisher left") == 1 })
		var rotated channel
		if code := b.api("POST", "/api/v1/channels/"+ch.ID+"/rotate-key", nil, &rotated); code != http.StatusOK {
			t.Fatalf("rotate-key on B: HTTP %d", code)
		}
		if rotated.StreamKey == "" || rotated.StreamKey == oldKey {
			t.Fatalf("rotate-key gave key %q", rotated.StreamKey)
		}
		ch.StreamKey = rotated.StreamKey
		time.Sleep(time.Second) // the bound: A must refuse the old key from here on
		refusedBefore := countMsg(a, "refused publisher")
		old := publish(t, rtmpBase+oldKey, "flv", "320x240", 30)
		if err := old.wait(t, 15*time.Second); err == nil {
			t.Errorf("publishing with the old key 1 s after the rotation succeeded:\n%s", old.out)
		}
		if countMsg(a, "publishing") != 1 {
			t.Errorf("A took a publisher with the old key")
		}
		if countMsg(a, "refused publisher") <= refusedBefore {
			t.Errorf("A logged no refused publisher for the old key")
		}
	})

	t.Run("publisher cut by rotate-key with disconnect", func(t *testing.T) {
		pub := publish(t, rtmpBase+ch.StreamKey, "flv", "320x240", 120)
		defer pub.cancel()
		waitFor(t, 30*time.Second, "A to take the publisher with the new key", func() bool { return countMsg(a, "publishing") == 2 })
		sent := time.Now()
		var rotated channel
		if code := b.api("POST", "/api/v1/channels/"+ch.ID+"/rotate-key?disconnect=true", nil, &rotated); code != http.StatusOK {
			t.Fatalf("rotate-key?disconnect=true on B: HTTP %d", code)
		}
		ch.StreamKey = rotated.StreamKey
		cutWithin(t, pub, sent, time.Second)
	})

	t.Run("publisher cut by deleting the channel", func(t *testing.T) {
		n := countMsg(a, "publishing")
		pub := publish(t, rtmpBase+ch.StreamKey, "flv", "320x240", 120)
		defer pub.cancel()
		waitFor(t, 30*time.Second, "A to take the publisher", func() bool { return countMsg(a, "publishing") > n })
		sent := time.Now()
		if code := b.api("DELETE", "/api/v1/channels/"+ch.ID, nil, nil); code != http.StatusNoContent {
			t.Fatalf("DELETE channel on B: HTTP %d", code)
		}
		cutWithin(t, pub, sent, time.Second)
	})
}

// cutWithin fails unless the publisher's ffmpeg ends within limit of since.
func cutWithin(t *testing.T, pub *publisher, since time.Time, limit time.Duration) {
	t.Helper()
	select {
	case <-pub.done:
		t.Logf("publisher cut %v after the request", time.Since(since).Round(time.Millisecond))
	case <-time.After(time.Until(since.Add(limit))):
		t.Errorf("publisher still streaming %v after the request", limit)
		select {
		case <-pub.done:
			t.Logf("publisher cut only %v after the request", time.Since(since).Round(time.Millisecond))
		case <-time.After(10 * time.Second):
			t.Log("publisher not cut 10 s later either")
		}
	}
}

// countMsg counts a node's log records whose message is exactly msg.
func countMsg(s *server, msg string) int {
	n := 0
	for _, rec := range s.logs.find(msg) {
		if rec["msg"] == msg {
			n++
		}
	}
	return n
}
