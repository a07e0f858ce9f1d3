package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// assertEnded checks that every media playlist of the channel carries
// EXT-X-ENDLIST and that its MPD is static, right away: the API answered
// only once the publication had ended.
func assertEnded(t *testing.T, ch channel) {
	t.Helper()
	mv := multivariant(t, ch.Playback.HLS)
	var uris []string
	for _, v := range mv.Variants {
		uris = append(uris, resolve(t, ch.Playback.HLS, v.URI))
	}
	for _, r := range mv.Renditions {
		if r.URI != nil {
			uris = append(uris, resolve(t, ch.Playback.HLS, *r.URI))
		}
	}
	if len(uris) < 2 {
		t.Fatalf("multivariant playlist lists %d playlists", len(uris))
	}
	for _, u := range uris {
		if m, body := mediaPlaylist(t, u); !m.Endlist {
			t.Errorf("%s not ended:\n%s", u, body)
		}
	}
	if _, mpd := get(t, ch.Playback.DASH); !strings.Contains(string(mpd), `type="static"`) {
		t.Errorf("MPD not static:\n%s", mpd)
	}
}

// waitSegments waits until the channel is live and its first variant lists
// n segments of a live (not ended) playlist.
func waitSegments(t *testing.T, s *server, ch channel, n int) {
	t.Helper()
	waitFor(t, 40*time.Second, fmt.Sprintf("live with %d segments", n), func() bool {
		if st := s.getChannel(ch.ID); st.State != "live" {
			return false
		}
		if code, _ := get(t, ch.Playback.HLS); code != 200 {
			return false
		}
		mv := multivariant(t, ch.Playback.HLS)
		if len(mv.Variants) == 0 {
			return false
		}
		m, _ := mediaPlaylist(t, resolve(t, ch.Playback.HLS, mv.Variants[0].URI))
		return !m.Endlist && len(m.Segments) >= n
	})
}

// The operator kicks a live publisher: the API answers once the
// publication has ended (playlists ended, MPD static, channel idle) and the
// publisher's ffmpeg is cut off. Rotating the key with disconnect does the
// same and keeps the publisher out: the old key is refused.
func TestLivePublisherKickedAndKeyRotated(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("kick")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 120)
	waitSegments(t, s, ch, 2)

	var after channel
	if code := s.api("POST", "/api/v1/channels/"+ch.ID+"/disconnect", nil, &after); code != http.StatusOK {
		t.Fatalf("disconnect: HTTP %d", code)
	}
	if after.State != "idle" || after.Live != nil || after.StreamKey != ch.StreamKey {
		t.Errorf("channel after disconnect: %+v", after)
	}
	assertEnded(t, ch)
	if err := pub.wait(t, 30*time.Second); err == nil {
		t.Error("the kicked publisher's ffmpeg exited cleanly; want it cut off")
	}
	// Nobody publishes: disconnect does nothing and says so the same way.
	if code := s.api("POST", "/api/v1/channels/"+ch.ID+"/disconnect", nil, &after); code != http.StatusOK || after.State != "idle" {
		t.Errorf("disconnect of an idle channel: HTTP %d, %+v", code, after)
	}
	if code := s.api("POST", "/api/v1/channels/ch_nope/disconnect", nil, nil); code != http.StatusNotFound {
		t.Errorf("disconnect of an unknown channel: HTTP %d", code)
	}

	// The same key still works; rotating it with disconnect cuts the
	// publisher off for good.
	pub = publish(t, rtmpURL(ch), "flv", "640x360", 120)
	waitSegments(t, s, ch, 2)
	var rotated channel
	if code := s.api("POST", "/api/v1/channels/"+ch.ID+"/rotate-key", map[string]bool{"disconnect": true}, &rotated); code != http.StatusOK {
		t.Fatalf("rotate-key with disconnect: HTTP %d", code)
	}
	if rotated.State != "idle" || rotated.StreamKey == ch.StreamKey {
		t.Errorf("channel after rotate-key with disconnect: state %q, key changed %v", rotated.State, rotated.StreamKey != ch.StreamKey)
	}
	assertEnded(t, ch)
	if err := pub.wait(t, 30*time.Second); err == nil {
		t.Error("the publisher's ffmpeg exited cleanly after rotate-key with disconnect; want it cut off")
	}
	// A reconnect with the old key is refused.
	pub = publish(t, rtmpURL(ch), "flv", "640x360", 120)
	if err := pub.wait(t, 30*time.Second); err == nil {
		t.Errorf("publishing with the rotated-out key succeeded: %s", pub.out)
	}
	if st := s.getChannel(ch.ID); st.State != "idle" {
		t.Errorf("state after a publish with the old key: %q", st.State)
	}
	if n := len(s.logs.find("publication stopped by the operator")); n != 2 {
		t.Errorf("%d publications stopped by the operator, want 2", n)
	}
}

// A channel deleted while its publisher is starting (admitted, its tracks
// not known yet) leaves no transcoder behind: none starts, now or when the
// listener finds the tracks.
func TestLiveChannelDeletedWhileStartingLeavesNoFFmpeg(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("deleted while starting")
	// RTMP track detection reads 2 s of media: at 0.4x real time the
	// publication starts about 5 s after it is admitted (within the 10 s
	// start timeout), which leaves time to delete the channel in between.
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-readrate", "0.4", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30",
		"-readrate", "0.4", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-f", "flv", rtmpURL(ch)}
	pub := &publisher{cmd: exec.CommandContext(ctx, "ffmpeg", args...), out: &bytes.Buffer{}, done: make(chan struct{}), cancel: cancel}
	pub.cmd.Stdout, pub.cmd.Stderr = pub.out, pub.out
	if err := pub.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { pub.err = pub.cmd.Wait(); close(pub.done) }()
	t.Cleanup(func() { pub.cancel(); <-pub.done })

	waitFor(t, 10*time.Second, "the publisher to be admitted", func() bool {
		return len(s.logs.find("publisher connected")) > 0
	})
	if n := len(s.logs.find("transcoder started")); n != 0 {
		t.Fatalf("the transcoder started before the delete (%d): the publisher was not slow enough", n)
	}
	if code := s.api("DELETE", "/api/v1/channels/"+ch.ID, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete: HTTP %d", code)
	}
	// The listener refuses the late start (or its next unit) and cuts the
	// publisher off: from then on nothing can start a transcoder.
	if err := pub.wait(t, 30*time.Second); err == nil {
		t.Errorf("the publisher of a deleted channel exited cleanly: %s", pub.out)
	}
	if pid := childFFmpeg(t, s.cmd.Process.Pid); pid != 0 {
		t.Errorf("ffmpeg %d still runs for the deleted channel", pid)
	}
	if n := len(s.logs.find("transcoder started")); n != 0 {
		t.Errorf("a transcoder started %d times for the deleted channel", n)
	}
}
