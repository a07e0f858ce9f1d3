package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/lease/pgtest"
)

// TestClusterPostgresRestart: the catalog's PostgreSQL (a server of the
// test's own) is stopped for 8 s and started again while a channel is
// live on ingest node A and played from origin node B. The stream goes on
// without a discontinuity; B's API answers 503 "unavailable" with a JSON
// message naming the catalog, quickly, meanwhile; afterwards the API
// answers again and A holds the channel's lease again.
func TestClusterPostgresRestart(t *testing.T) {
	pg := pgtest.StartServer(t, "127.0.0.1", "")
	c := newClusterOn(t, "127.0.0.1", pg.URL())
	a := c.node("a", "ingest")
	b := c.node("b", "origin,api", "--ingest-rtmp-url", "rtmp://"+a.rtmpAddr+"/live")
	ch := b.createChannel("pgrestart")
	pub := publish(t, "rtmp://"+a.rtmpAddr+"/live/"+ch.StreamKey, "flv", "640x360", 120)
	defer pub.cancel()
	fromB := renditionURLWait(t, ch.Playback.HLS, "360p")
	v := startViewer(fromB)
	defer v.stop()
	waitFor(t, 40*time.Second, "the viewer to read 3 segments", func() bool { return v.segments() >= 3 })

	pg.Stop()
	stopped := time.Now()
	before := v.segments()
	t.Logf("PostgreSQL stopped")
	client := &http.Client{Timeout: 15 * time.Second}
	var sawUnavailable bool
	for time.Since(stopped) < 8*time.Second {
		code, body, took := apiGet(t, client, b.httpBase+"/api/v1/channels/"+ch.ID)
		switch {
		case code == http.StatusServiceUnavailable:
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "unavailable" || !strings.Contains(e.Error.Message, "catalog") {
				t.Errorf("503 without the JSON error naming the catalog: %s", body)
			}
			if !sawUnavailable {
				t.Logf("API %v after the stop: 503 in %v: %s", time.Since(stopped).Round(time.Millisecond), took.Round(time.Millisecond), strings.Join(strings.Fields(string(body)), " "))
			}
			sawUnavailable = true
		case code == http.StatusOK && !sawUnavailable:
			// answered before the pool noticed the server gone
		default:
			t.Errorf("API while PostgreSQL is down: HTTP %d after %v: %s", code, took, body)
		}
		if took > 6*time.Second {
			t.Errorf("API took %v to answer while PostgreSQL is down", took)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !sawUnavailable {
		t.Error("the API never answered 503 while PostgreSQL was down")
	}
	if got := v.segments() - before; got < 2 {
		t.Errorf("the viewer read %d new segments in the 8 s PostgreSQL was down, want ≥ 2", got)
	}

	pg.Start()
	started := time.Now()
	waitFor(t, 30*time.Second, "the API to answer again", func() bool {
		code, _, _ := apiGet(t, client, b.httpBase+"/api/v1/channels/"+ch.ID)
		return code == http.StatusOK
	})
	t.Logf("API answering %v after PostgreSQL started", time.Since(started).Round(time.Millisecond))
	waitFor(t, 30*time.Second, "A to hold the channel's lease again", func() bool {
		return len(a.logs.find("reclaimed the channel's lease")) > 0
	})
	// Still the same live session: no discontinuity, not ended, advancing.
	m, text := mediaPlaylist(t, fromB)
	last := m.MediaSequence + len(m.Segments)
	waitFor(t, 20*time.Second, "the playlist to advance after the restart", func() bool {
		m, text = mediaPlaylist(t, fromB)
		return m.MediaSequence+len(m.Segments) > last+1
	})
	for _, s := range m.Segments {
		if s.Discontinuity {
			t.Errorf("a discontinuity at %s: the session should have gone on\n%s", s.URI, text)
		}
	}
	if m.Endlist {
		t.Errorf("the playlist ended\n%s", text)
	}
	if ch := b.getChannel(ch.ID); ch.State != "live" {
		t.Errorf("channel state %q after the restart, want live", ch.State)
	}
	rep := v.stop()
	for _, e := range rep.errs {
		t.Errorf("viewer: %s", e)
	}
	t.Logf("the viewer read %d segments; longest wait for a new one %v", v.segments(), rep.longest.Round(time.Millisecond))
}

// apiGet GETs an admin API URL, returning status, body and how long it took.
func apiGet(t *testing.T, client *http.Client, u string) (int, []byte, time.Duration) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, time.Since(start)
}
