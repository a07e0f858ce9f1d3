package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBrowserPlaysLiveChannel plays /watch/{channel} in headless Chromium
// with hls.js and with dash.js while a publisher is live.
func TestBrowserPlaysLiveChannel(t *testing.T) {
	harness, err := filepath.Abs("browser/play.mjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("browser/node_modules/playwright-core"); err != nil {
		t.Fatal("playwright-core is not installed: run the README's test command (it runs npm ci in test/e2e/browser)")
	}
	s := startOsprey(t)
	ch := s.createChannel("browser")
	pub := publish(t, rtmpURL(ch), "flv", "1280x720", 75)
	waitLive(t, s, ch)
	for _, engine := range []string{"hls", "dash"} {
		t.Run(engine, func(t *testing.T) {
			start := time.Now()
			out, err := exec.Command("node", harness, ch.Playback.Player, "--engine", engine, "--seconds", "6", "--timeout", "45").Output()
			var res map[string]any
			_ = json.Unmarshal(out, &res)
			if err != nil {
				t.Fatalf("playback with %s failed after %v: %v\n%s", engine, time.Since(start), err, out)
			}
			t.Logf("%s: %s", engine, out)
		})
	}
	pub.cancel()
}
