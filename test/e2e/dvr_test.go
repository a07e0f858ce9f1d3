package e2e

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dvrWindow is a channel's /live/{id}/dvr-window.json.
type dvrWindow struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// waitDVRWindow waits until the channel's DVR window spans at least span.
func waitDVRWindow(t *testing.T, ch channel, span time.Duration) dvrWindow {
	t.Helper()
	u := resolve(t, ch.Playback.HLS, "dvr-window.json")
	var w dvrWindow
	var last string
	deadline := time.Now().Add(span + 45*time.Second)
	for time.Now().Before(deadline) {
		code, body := get(t, u)
		last = strconv.Itoa(code) + " " + string(body)
		if code == 200 && json.Unmarshal(body, &w) == nil && w.To.Sub(w.From) >= span {
			return w
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the DVR window never spanned %v (last answer: %s); the packager writes the index (dvr.json) only with the DVR writer", span, last)
	return w
}

func iso(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// A past span of a live channel is a closed playlist that plays: its
// segments cover the span (within a segment at each end), decode, and
// carry program date times; an open span is an EVENT playlist; malformed
// spans are 400 and spans outside the window 422.
func TestDVRTimeShiftedPlayback(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("dvr e2e")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 300)
	waitLive(t, s, ch)
	w := waitDVRWindow(t, ch, 16*time.Second)

	start, end := w.From.Add(2*time.Second), w.From.Add(14*time.Second)
	span := "start=" + iso(start) + "&end=" + iso(end)
	mv := multivariant(t, ch.Playback.HLS+"?"+span)
	if len(mv.Variants) == 0 {
		t.Fatal("no variants in the time-shifted multivariant playlist")
	}
	v := mv.Variants[0]
	if !strings.HasSuffix(v.URI, "?"+span) {
		t.Errorf("variant %s does not carry %s", v.URI, span)
	}
	u := resolve(t, ch.Playback.HLS, v.URI)
	m, text := mediaPlaylist(t, u)
	if !m.Endlist || !strings.Contains(text, "#EXT-X-PLAYLIST-TYPE:VOD") {
		t.Errorf("past span: not a closed playlist:\n%s", text)
	}
	if n := strings.Count(text, "#EXT-X-PROGRAM-DATE-TIME:"); n != len(m.Segments) {
		t.Errorf("%d program date times for %d segments", n, len(m.Segments))
	}
	var listed time.Duration
	for _, seg := range m.Segments {
		listed += seg.Duration
	}
	first := m.Segments[0].DateTime
	if first == nil || first.After(start) || start.Sub(*first) > time.Duration(m.TargetDuration)*time.Second {
		t.Errorf("first segment at %v, span starts %v (target %d s)", first, start, m.TargetDuration)
	}
	file := downloadRendition(t, u, m, t.TempDir())
	decodes(t, file)
	// The decoded duration: frames counted over the frame rate (the
	// container's duration starts at the epoch-locked decode time).
	got := decodedSeconds(t, file)
	want := end.Sub(start).Seconds()
	seg := float64(m.TargetDuration)
	t.Logf("span %.1f s: %d segments listed, %.2f s; decoded %.2f s", want, len(m.Segments), listed.Seconds(), got)
	if got < want-0.5 || got > want+2*seg+0.5 || abs(got-listed.Seconds()) > 0.5 {
		t.Errorf("ffprobe duration %.2f s; span %.1f s, listed %.2f s, segments of %v s", got, want, listed.Seconds(), seg)
	}

	// The same span as a static MPD, read by ffprobe.
	code, mpd := get(t, ch.Playback.DASH+"?"+span)
	if code != 200 || !strings.Contains(string(mpd), `type="static"`) {
		t.Errorf("time-shifted MPD: HTTP %d\n%s", code, mpd)
	} else if p := ffprobe(t, ch.Playback.DASH+"?"+span); len(p.Streams) == 0 {
		t.Error("ffprobe reads no stream from the time-shifted MPD")
	}

	// An open span grows: EVENT, no ENDLIST.
	open := resolve(t, ch.Playback.HLS, strings.Split(v.URI, "?")[0]) + "?start=" + url.QueryEscape(iso(start))
	if _, text := mediaPlaylist(t, open); !strings.Contains(text, "#EXT-X-PLAYLIST-TYPE:EVENT") || strings.Contains(text, "#EXT-X-ENDLIST") {
		t.Errorf("open span while live:\n%s", text)
	}

	for _, tc := range []struct {
		query  string
		status int
		msg    string
	}{
		{"start=yesterday", 400, "start"},
		{"start=" + iso(end) + "&end=" + iso(start), 400, "end"},
		{"start=" + iso(start) + "&end=soon", 400, "end"},
		{"start=" + iso(w.From.Add(-2*time.Hour)) + "&end=" + iso(w.From.Add(-time.Hour)), 422, "DVR window"},
	} {
		for _, base := range []string{ch.Playback.HLS, ch.Playback.DASH, u[:strings.Index(u, "?")]} {
			code, body := get(t, base+"?"+tc.query)
			if code != tc.status || !strings.Contains(string(body), tc.msg) {
				t.Errorf("%s?%s: HTTP %d %q, want %d naming %q", base, tc.query, code, body, tc.status, tc.msg)
			}
		}
	}

	dvrBrowserSeek(t, ch)
	pub.cancel()
}

// dvrBrowserSeek opens the player page in headless Chromium, seeks back
// with the seek bar (the player plays from there, far behind live) and
// returns to live with the Live button, with hls.js and with dash.js.
func dvrBrowserSeek(t *testing.T, ch channel) {
	t.Helper()
	harness, err := filepath.Abs("browser/dvrseek.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("browser/node_modules/playwright-core"); err != nil {
		t.Fatal("playwright-core is not installed: run the README's test command (it runs npm ci in test/e2e/browser)")
	}
	for _, engine := range []string{"dash", "hls"} {
		out, err := exec.Command("node", harness, ch.Playback.Player, "--engine", engine, "--back", "20", "--timeout", "90").Output()
		if err != nil {
			t.Errorf("seeking in the page with %s failed: %v\n%s", engine, err, out)
			continue
		}
		t.Logf("browser, %s: %s", engine, out)
	}
}

// decodedSeconds counts the video frames of a file and divides by its
// frame rate.
func decodedSeconds(t *testing.T, file string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,r_frame_rate", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("counting frames of %s: %v", file, err)
	}
	var p struct {
		Streams []struct {
			Frames string `json:"nb_read_frames"`
			Rate   string `json:"r_frame_rate"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe: %v %s", err, out)
	}
	frames, err1 := strconv.Atoi(p.Streams[0].Frames)
	num, den, _ := strings.Cut(p.Streams[0].Rate, "/")
	n, err2 := strconv.ParseFloat(num, 64)
	d, err3 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || err3 != nil || n <= 0 || d <= 0 {
		t.Fatalf("ffprobe: frames %q rate %q", p.Streams[0].Frames, p.Streams[0].Rate)
	}
	return float64(frames) * d / n
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
