package e2e

import (
	"encoding/json"
	"math"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// clipAnswer is the API's answer to POST /api/v1/channels/{id}/clips.
type clipAnswer struct {
	AssetID string `json:"asset_id"`
	asset
	Clip struct {
		RequestedStart time.Time `json:"requested_start"`
		RequestedEnd   time.Time `json:"requested_end"`
		Start          time.Time `json:"start"`
		End            time.Time `json:"end"`
		Precision      string    `json:"precision"`
	} `json:"clip"`
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *server) clip(id string, start, end time.Time, title string) (int, clipAnswer) {
	s.t.Helper()
	var a clipAnswer
	code := s.api("POST", "/api/v1/channels/"+id+"/clips", map[string]string{
		"start": start.UTC().Format(time.RFC3339Nano), "end": end.UTC().Format(time.RFC3339Nano), "title": title,
	}, &a)
	return code, a
}

// TestClipFromLiveStream cuts a 20 s clip out of a live stream: refused
// before the channel ever went live (409) and outside the DVR window
// (422 naming it); then a ready asset within seconds, as long as the
// segments holding the span, that decodes and plays in hls.js and dash.js. The
// channel records its session: when the publisher stops, the whole
// session becomes an asset too.
//
// It needs the DVR index writer (packager) and the clip service wired in
// the app (api.Deps.Clips, live.Config.Recorder).
func TestClipFromLiveStream(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("clips")
	// The CLI's update turns recording on (PATCH /api/v1/channels/{id}).
	if out, err := s.cli("channel", "update", ch.ID, "--record", "--dvr-window", "30m"); err != nil ||
		!regexp.MustCompile(`(?m)^DVR window:\s+30m$`).MatchString(out) || !regexp.MustCompile(`(?m)^Record:\s+each session`).MatchString(out) {
		t.Fatalf("osprey channel update --record --dvr-window 30m: %v\n%s", err, out)
	}

	now := time.Now()
	code, ans := s.clip(ch.ID, now.Add(-30*time.Second), now.Add(-10*time.Second), "")
	if code != http.StatusConflict || ans.Error.Code != "not_live" {
		t.Fatalf("clip of a channel never live: HTTP %d %+v, want 409 not_live", code, ans.Error)
	}

	pub := publish(t, rtmpURL(ch), "flv", "640x360", 40)
	waitLive(t, s, ch)
	live := time.Now()
	start, end := live.Add(3*time.Second), live.Add(23*time.Second)
	// The span must be stored: wait until its end is a segment behind the live edge.
	waitFor(t, 60*time.Second, "the span to be stored", func() bool { return time.Since(end) > 5*time.Second })

	code, ans = s.clip(ch.ID, live.Add(time.Hour), live.Add(time.Hour+20*time.Second), "")
	if code != http.StatusUnprocessableEntity || ans.Error.Code != "outside_dvr_window" || !strings.Contains(ans.Error.Message, "DVR window, which is ") {
		t.Fatalf("clip in the future: HTTP %d %+v, want 422 naming the window", code, ans.Error)
	}

	asked := time.Now()
	code, ans = s.clip(ch.ID, start, end, "Highlight")
	took := time.Since(asked)
	if code != http.StatusCreated {
		t.Fatalf("clip: HTTP %d %+v", code, ans.Error)
	}
	t.Logf("clip %s ready in %v: %s to %s (asked %s to %s), %.3f s", ans.AssetID, took, ans.Clip.Start, ans.Clip.End, start, end, ans.Duration)
	if ans.AssetID == "" || ans.ID != ans.AssetID || ans.Status != "ready" || ans.Title != "Highlight" || ans.Source.Origin != "clip" {
		t.Fatalf("clip answer %+v", ans.asset)
	}
	if took > 10*time.Second {
		t.Errorf("a 20 s clip took %v to be ready", took)
	}
	// Precision: the start snaps back to its segment's keyframe (at most
	// a segment earlier), the end is cut within a frame (30 fps) after the
	// asked one.
	const seg, frame = 2*time.Second + 100*time.Millisecond, 34 * time.Millisecond
	if ans.Clip.Start.After(start) || ans.Clip.Start.Before(start.Add(-seg)) || ans.Clip.End.Before(end) || ans.Clip.End.After(end.Add(frame)) ||
		ans.Clip.Precision != "segment-start,frame-end" {
		t.Fatalf("clip holds %s to %s (%s) for %s to %s", ans.Clip.Start, ans.Clip.End, ans.Clip.Precision, start, end)
	}
	if want := ans.Clip.End.Sub(ans.Clip.Start).Seconds(); math.Abs(ans.Duration-want) > frame.Seconds() {
		t.Errorf("asset duration %.3f s, its segments span %.3f s", ans.Duration, want)
	}
	got := s.getAsset(ans.AssetID)
	if got.Status != "ready" || got.Thumbnails.Poster == "" {
		t.Fatalf("GET of the clip's asset: %+v", got)
	}
	if d := mediaDuration(t, got.Playback.HLS); math.Abs(d-ans.Duration) > frame.Seconds() {
		t.Errorf("ffprobe says the clip lasts %.3f s, the API %.3f s", d, ans.Duration)
	}
	mv := multivariant(t, got.Playback.HLS)
	u := resolve(t, got.Playback.HLS, mv.Variants[0].URI)
	m, _ := mediaPlaylist(t, u)
	decodes(t, downloadRendition(t, u, m, t.TempDir()))

	// The CLI clips the newest 10 s of the DVR window.
	out, err := s.cli("channel", "clip", ch.ID, "--last", "10s", "--title", "Last ten")
	if err != nil || !regexp.MustCompile(`(?m)^Status:\s+ready$`).MatchString(out) || !regexp.MustCompile(`(?m)^Title:\s+Last ten$`).MatchString(out) {
		t.Fatalf("osprey channel clip --last 10s: %v\n%s", err, out)
	}
	if m := regexp.MustCompile(`(?m)^Duration:\s+0:(\d\d)$`).FindStringSubmatch(out); m == nil || m[1] < "10" || m[1] > "13" {
		t.Errorf("osprey channel clip --last 10s made a clip of another length:\n%s", out)
	}

	harness, err := filepath.Abs("browser/play.mjs")
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range []string{"hls", "dash"} {
		out, err := exec.Command("node", harness, got.Playback.Player, "--engine", engine, "--seconds", "3", "--timeout", "45").Output()
		if err != nil {
			t.Fatalf("%s playback of the clip failed: %v\n%s", engine, err, out)
		}
		t.Logf("%s: %s", engine, out)
	}

	// The recording of the whole session once the publisher stops.
	if err := pub.wait(t, 90*time.Second); err != nil {
		t.Fatalf("publisher: %v", err)
	}
	var rec asset
	waitFor(t, 60*time.Second, "the session's recording", func() bool {
		var list assetList
		s.api("GET", "/api/v1/assets", nil, &list)
		for _, a := range list.Items {
			if a.Source.Origin == "record" && (a.Status == "ready" || a.Status == "failed") {
				rec = a
				return true
			}
		}
		return false
	})
	if rec.Status != "ready" || rec.Duration < 35 || rec.Duration > 45 {
		b, _ := json.Marshal(rec)
		t.Fatalf("recording of a 40 s session: %s", b)
	}
}
