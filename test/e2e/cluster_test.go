package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/hls/llcheck"
)

// TestCluster runs node A (ingest), B and C (origin,api), W (worker) and two
// edges with origins B and C on PostgreSQL, S3 and NATS:
//   - RTMP published to A is served by B and by C with the same bytes, and
//     ffprobe reads it from C;
//   - B serves LL-HLS (parts, blocking reloads) from A's memory;
//   - a tus upload begun on B is finished on C and made ready by W;
//   - an invalidation posted to one edge empties the other edge's cache;
//   - kill -9 of B while a player reads through the edge: no error;
//   - the channel records its session: A (ingest only) makes the asset
//     when the publisher stops and queues asset.ready, which W delivers.
func TestCluster(t *testing.T) {
	start := time.Now()
	c := newCluster(t)
	// The webhook receiver listens on loopback: B checks the URL, W delivers.
	hooksCfg := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(hooksCfg, []byte("webhooks:\n  allow_private_urls: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := c.node("a", "ingest")
	rtmpBase := "rtmp://" + a.rtmpAddr + "/live"
	b := c.node("b", "origin,api", "--ingest-rtmp-url", rtmpBase, "--config", hooksCfg)
	cc := c.node("c", "origin,api", "--ingest-rtmp-url", rtmpBase)
	c.node("w", "worker", "--config", hooksCfg)
	e1 := c.edge("edge-1", b, cc)
	e2 := c.edge("edge-2", cc, b)
	t.Logf("cluster up in %v", time.Since(start).Round(time.Millisecond))
	hook := startHookReceiver(t)
	if code := b.api("POST", "/api/v1/webhooks", map[string]any{"url": hook.url, "events": []string{"asset.ready"}}, nil); code != http.StatusCreated {
		t.Fatalf("creating the webhook: HTTP %d", code)
	}

	var ch channel
	if code := b.api("POST", "/api/v1/channels", map[string]any{"name": "cluster", "record": true}, &ch); code != http.StatusCreated {
		t.Fatalf("creating the channel: HTTP %d", code)
	}
	if want := rtmpBase + "/" + ch.StreamKey; ch.Ingest.RTMP != want {
		t.Errorf("ingest URL from B %q, want %q (from --ingest-rtmp-url)", ch.Ingest.RTMP, want)
	}
	pub := publish(t, rtmpBase+"/"+ch.StreamKey, "flv", "640x360", 90)
	defer pub.cancel()

	// 3. tus begun on B, finished on C, made ready by W (while A transcodes).
	t.Run("tus across API nodes", func(t *testing.T) {
		began := time.Now()
		path := makeSource(t, t.TempDir(), "tus.mp4", join(videoIn("320x240", 3), toneIn(3),
			[]string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"})...)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		resp := tusDo(t, "POST", b.httpBase+"/api/v1/uploads/", map[string]string{
			"Upload-Length":   strconv.Itoa(len(data)),
			"Upload-Metadata": "filename dHVzLm1wNA==", // "tus.mp4"
		}, nil)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("creation on B: HTTP %d", resp.StatusCode)
		}
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("creation: no Location: %v", err)
		}
		uploadID := filepath.Base(loc.Path)
		half := len(data) / 2
		resp = tusDo(t, "PATCH", loc.String(), map[string]string{
			"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0",
		}, bytes.NewReader(data[:half]))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("first chunk on B: HTTP %d", resp.StatusCode)
		}
		onC := swapBase(t, loc.String(), cc.httpBase)
		resp = tusDo(t, "HEAD", onC, nil, nil)
		offset, _ := strconv.Atoi(resp.Header.Get("Upload-Offset"))
		if resp.StatusCode != http.StatusOK || offset != half {
			t.Fatalf("HEAD on C: HTTP %d, offset %d; B took %d bytes", resp.StatusCode, offset, half)
		}
		resp = tusDo(t, "PATCH", onC, map[string]string{
			"Content-Type": "application/offset+octet-stream", "Upload-Offset": strconv.Itoa(offset),
		}, bytes.NewReader(data[offset:]))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("last chunk on C: HTTP %d", resp.StatusCode)
		}
		var list assetList
		waitFor(t, 10*time.Second, "the upload's asset", func() bool {
			cc.api("GET", "/api/v1/assets?upload_id="+url.QueryEscape(uploadID), nil, &list)
			return len(list.Items) == 1
		})
		as := list.Items[0]
		if as.Source.Size != int64(len(data)) || as.Source.Filename != "tus.mp4" {
			t.Errorf("asset source %+v, want tus.mp4 of %d bytes", as.Source, len(data))
		}
		if as = b.waitAsset(as.ID, 120*time.Second); as.Status != "ready" {
			t.Fatalf("asset: %s (%s)", as.Status, as.Error)
		}
		t.Logf("tus upload B→C ready after %v", time.Since(began).Round(time.Millisecond))

		// 6. An invalidation posted to edge 1 empties edge 2's cache.
		manifest := swapBase(t, as.Playback.HLS, e2.base)
		if st, _, _ := getHeader(t, manifest, "Cache-Status"); st != 200 {
			t.Fatalf("asset manifest through edge 2: HTTP %d", st)
		}
		if st, cs, _ := getHeader(t, manifest, "Cache-Status"); st != 200 || !strings.Contains(cs, "hit") {
			t.Fatalf("second request through edge 2: HTTP %d, Cache-Status %q, want a hit", st, cs)
		}
		posted := time.Now()
		req, _ := http.NewRequest(http.MethodPost, e1.base+"/api/v1/edge/invalidations",
			strings.NewReader(fmt.Sprintf(`{"paths":["/vod/%s/*"]}`, as.ID)))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var inv struct {
			Propagated bool `json:"propagated"`
		}
		if err := json.Unmarshal(body, &inv); err != nil || res.StatusCode != http.StatusCreated || !inv.Propagated {
			t.Fatalf("invalidation on edge 1: HTTP %d %s", res.StatusCode, body)
		}
		waitFor(t, time.Second, "edge 2 to drop the invalidated manifest", func() bool {
			_, cs, _ := getHeader(t, manifest, "Cache-Status")
			return strings.Contains(cs, "fwd=miss")
		})
		t.Logf("edge 2 emptied %v after the POST to edge 1", time.Since(posted).Round(time.Millisecond))
	})

	// 1. The same bytes from B and from C.
	t.Run("same bytes from every origin", func(t *testing.T) {
		playlistB := renditionURLWait(t, ch.Playback.HLS, "360p")
		waitFor(t, 40*time.Second, "3 segments on B", func() bool {
			m, _ := mediaPlaylist(t, playlistB)
			return len(m.Segments) >= 3
		})
		for _, u := range []string{ch.Playback.HLS, playlistB, ch.Playback.DASH} {
			sameFromBoth(t, u, b.httpBase, cc.httpBase)
		}
		m, _ := mediaPlaylist(t, playlistB)
		seg := resolve(t, playlistB, m.Segments[len(m.Segments)-1].URI)
		_, fromB := get(t, seg)
		code, fromC := get(t, swapBase(t, seg, cc.httpBase))
		if code != 200 || len(fromB) == 0 || !bytes.Equal(fromB, fromC) {
			t.Errorf("segment %s: %d bytes from B, HTTP %d and %d bytes from C", seg, len(fromB), code, len(fromC))
		}
		if m.Map != nil {
			init := resolve(t, playlistB, m.Map.URI)
			_, ib := get(t, init)
			_, ic := get(t, swapBase(t, init, cc.httpBase))
			if len(ib) == 0 || !bytes.Equal(ib, ic) {
				t.Errorf("init segment differs: %d bytes from B, %d from C", len(ib), len(ic))
			}
		}
		p := ffprobe(t, swapBase(t, ch.Playback.HLS, cc.httpBase))
		var video, audio bool
		for _, s := range p.Streams {
			video = video || s.CodecType == "video"
			audio = audio || s.CodecType == "audio"
		}
		if !video || !audio {
			t.Errorf("ffprobe of the stream from C: %+v", p.Streams)
		}
	})

	// 1b. LL-HLS from an origin node: A (ingest only) has the parts in
	// memory; B serves them, blocking reloads included, from A. How long
	// after A has a part B answers is the cost of the hop.
	t.Run("low latency from an origin node", func(t *testing.T) {
		playlistB := renditionURLWait(t, ch.Playback.HLS, "360p")
		var pl []byte
		waitFor(t, 20*time.Second, "parts in B's playlist", func() bool {
			_, pl = get(t, playlistB)
			return bytes.Contains(pl, []byte("#EXT-X-PART:"))
		})
		if err := llcheck.Media(pl, llcheck.Options{}); err != nil {
			t.Errorf("B's LL playlist: %v\n%s", err, pl)
		}
		onA := swapBase(t, playlistB, a.httpBase)
		var hops []time.Duration
		for range 15 {
			_, pl := get(t, playlistB)
			p, err := llcheck.Parse(pl)
			if err != nil || p.PreloadHint == nil {
				t.Fatalf("B's playlist: %v\n%s", err, pl)
			}
			msn, part := hintPosition(t, p.PreloadHint.URI)
			q := fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d", msn, part)
			var tA, tB time.Time
			var bodyA, bodyB []byte
			var codeA, codeB int
			var wg sync.WaitGroup
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, onA+q, nil)
				req.Header.Set("Osprey-Peer", "test") // as an origin node asks the ingest node
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				bodyA, _ = io.ReadAll(resp.Body)
				codeA, tA = resp.StatusCode, time.Now()
			})
			wg.Go(func() {
				codeB, bodyB = get(t, playlistB+q)
				tB = time.Now()
			})
			wg.Wait()
			if codeA != 200 || codeB != 200 || !bytes.Contains(bodyB, []byte(p.PreloadHint.URI)) {
				t.Fatalf("blocking reload for %d.%d: A %d, B %d\n%s", msn, part, codeA, codeB, bodyB)
			}
			if !bytes.Equal(bodyA, bodyB) {
				t.Errorf("blocking reload for %d.%d: B's answer differs from A's:\n%s\n%s", msn, part, bodyA, bodyB)
			}
			hops = append(hops, tB.Sub(tA))
		}
		slices.Sort(hops)
		t.Logf("origin node B answered a blocking reload %v (median) / %v (max) after the ingest node A had the part",
			hops[len(hops)/2], hops[len(hops)-1])
		// A part, fetched from B, is A's.
		_, pl = get(t, playlistB)
		p, err := llcheck.Parse(pl)
		if err != nil || len(p.Segments) == 0 {
			t.Fatalf("B's playlist: %v", err)
		}
		partURI := p.PreloadHint.URI
		codeB, fromB := get(t, resolve(t, playlistB, partURI))
		req, _ := http.NewRequest(http.MethodGet, resolve(t, onA, partURI), nil)
		req.Header.Set("Osprey-Peer", "test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		fromA, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if codeB != 200 || len(fromB) == 0 || !bytes.Equal(fromA, fromB) {
			t.Errorf("part %s: %d bytes from B (HTTP %d), %d from A", partURI, len(fromB), codeB, len(fromA))
		}
		// The ingest-only node serves nobody else.
		if code, _ := get(t, onA); code != http.StatusNotFound {
			t.Errorf("ingest-only node answered a viewer's playlist request: HTTP %d", code)
		}
	})

	// 2. kill -9 B while a player reads through edge 1 (primary origin B).
	t.Run("origin killed behind the edge", func(t *testing.T) {
		playlist := swapBase(t, renditionURLWait(t, ch.Playback.HLS, "360p"), e1.base)
		v := startViewer(playlist)
		time.Sleep(2 * time.Second) // the player plays through B first
		before := v.segments()
		kill9(t, b.process)
		killed := time.Now()
		t.Logf("killed B; the player had %d segments", before)
		time.Sleep(10 * time.Second) // the player goes on reading through the edge
		after := v.segments() - before
		for _, e := range v.stop().errs {
			t.Errorf("player through the edge: %s", e)
		}
		if after < 3 {
			t.Errorf("the player got %d new segments in the 10 s after B died (since %v), want ≥ 3", after, killed.Format("15:04:05"))
		}
	})
	pub.cancel()

	// The session's recording, made by A, announced by W.
	var rec asset
	waitFor(t, 60*time.Second, "the session's recording", func() bool {
		var list assetList
		cc.api("GET", "/api/v1/assets", nil, &list)
		for _, as := range list.Items {
			if as.Source.Origin == "record" && as.Status != "processing" {
				rec = as
				return true
			}
		}
		return false
	})
	if rec.Status != "ready" || rec.Duration < 10 {
		t.Fatalf("recording: %s (%s), %.1f s", rec.Status, rec.Error, rec.Duration)
	}
	waitFor(t, 30*time.Second, "asset.ready of the recording at the webhook", func() bool { return hook.has("asset.ready", rec.ID) })
	t.Logf("TestCluster took %v", time.Since(start).Round(time.Millisecond))
}

// tusDo sends one tus request with the admin token.
func tusDo(t *testing.T, method, u string, hdr map[string]string, body io.Reader) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, u, body)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	resp.Body.Close()
	return resp
}

// renditionURLWait waits until the multivariant playlist lists the rendition.
func renditionURLWait(t *testing.T, hlsURL, name string) string {
	t.Helper()
	var u string
	waitFor(t, 40*time.Second, "rendition "+name+" in "+hlsURL, func() bool {
		u = renditionURL(t, hlsURL, name)
		return u != ""
	})
	return u
}

// sameFromBoth fetches u from origin x, then y, then x again until x
// answered the same twice in a row (so nothing changed in between), and
// fails unless y answered those bytes too. Live manifests change every
// segment, hence the retries.
func sameFromBoth(t *testing.T, u, x, y string) {
	t.Helper()
	ux, uy := swapBase(t, u, x), swapBase(t, u, y)
	for range 20 {
		c1, b1 := get(t, ux)
		c2, b2 := get(t, uy)
		c3, b3 := get(t, ux)
		if c1 != 200 || c2 != 200 || c3 != 200 {
			t.Errorf("%s: HTTP %d from %s, %d from %s", u, c1, x, c2, y)
			return
		}
		if !bytes.Equal(b1, b3) {
			continue // it changed meanwhile
		}
		if bytes.Equal(b1, b2) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, b1 := get(t, ux)
	_, b2 := get(t, uy)
	t.Errorf("%s differs between the origins:\n%s:\n%s\n%s:\n%s", u, x, b1, y, b2)
}
