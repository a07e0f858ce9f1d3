package e2e

import (
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// mediaFiles lists what osprey has stored for a channel.
func mediaFiles(s *server, channelID string) []string {
	var files []string
	_ = filepath.Walk(filepath.Join(s.dataDir, "media", "live", channelID), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

func TestWrongKeyIsRefused(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("wrong key")
	bad := strings.Replace(ch.StreamKey, ch.StreamKey[len(ch.StreamKey)-6:], "XXXXXX", 1)
	rtmpBad := strings.Replace(ch.Ingest.RTMP, ch.StreamKey, bad, 1)
	srtBad := strings.Replace(srtURL(ch), ch.StreamKey, bad, 1)

	for _, c := range []struct{ proto, url, format string }{
		{"rtmp", rtmpBad, "flv"},
		{"srt", srtBad, "mpegts"},
	} {
		t.Run(c.proto, func(t *testing.T) {
			start := time.Now()
			pub := publish(t, c.url, c.format, "320x240", 10)
			err := pub.wait(t, 15*time.Second)
			if err == nil {
				t.Fatalf("publishing with a wrong key succeeded:\n%s", pub.out)
			}
			if took := time.Since(start); took > 8*time.Second {
				t.Errorf("refusal took %v", took)
			}
			var found bool
			for _, rec := range s.logs.find("") {
				line := strings.ToLower(rec["msg"].(string))
				if rec["level"] == "WARN" && strings.Contains(line, "refused") && rec["proto"] == c.proto {
					if ra, _ := rec["remote"].(string); strings.HasPrefix(ra, "127.0.0.1:") {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("no WARN log naming the refused %s publisher's remote address", c.proto)
			}
		})
	}
	if st := s.getChannel(ch.ID); st.State != "idle" {
		t.Errorf("channel state %q after refused publishes", st.State)
	}
	if files := mediaFiles(s, ch.ID); len(files) != 0 {
		t.Errorf("refused publishes created files: %v", files)
	}
}

func TestGarbageOnIngestPortsThenValidPublish(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("garbage")
	junk := make([]byte, 64*1024)
	// RTMP: several connections of random bytes, one that says nothing.
	var idle net.Conn
	for i := 0; i < 5; i++ {
		c, err := net.Dial("tcp", s.rtmpAddr)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			idle = c // half-open: connected, silent
			continue
		}
		rand.Read(junk)
		_, _ = c.Write(junk)
		c.Close()
	}
	defer idle.Close()
	// SRT: random datagrams, some shaped like SRT control packets.
	u, err := net.Dial("udp", s.srtAddr)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		n := 16 + i%1400
		rand.Read(junk[:n])
		if i%2 == 0 {
			junk[0] |= 0x80 // control bit set
		}
		_, _ = u.Write(junk[:n])
	}
	u.Close()

	// Both ports still take a valid publish.
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 8)
	waitLive(t, s, ch)
	if err := pub.wait(t, 30*time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub.out)
	}
	waitFor(t, 20*time.Second, "the channel to go idle", func() bool { return s.getChannel(ch.ID).State == "idle" })
	pub2 := publish(t, srtURL(ch), "mpegts", "640x360", 8)
	waitFor(t, 20*time.Second, "the SRT publisher to go live", func() bool { return s.getChannel(ch.ID).State == "live" })
	if err := pub2.wait(t, 30*time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub2.out)
	}
	if err := s.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("osprey died: %v", err)
	}
}

func TestPublisherKilledMidStream(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("publisher killed")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 60)
	waitLive(t, s, ch)
	time.Sleep(4 * time.Second)
	if err := pub.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "the channel to go idle", func() bool { return s.getChannel(ch.ID).State == "idle" })
	u := renditionURL(t, ch.Playback.HLS, "360p")
	m, _ := mediaPlaylist(t, u)
	if !m.Endlist || len(m.Segments) == 0 {
		t.Errorf("after the publisher died: endlist %v, %d segments", m.Endlist, len(m.Segments))
	}
	for _, seg := range m.Segments {
		if code, _ := get(t, resolve(t, u, seg.URI)); code != 200 {
			t.Errorf("segment %s: HTTP %d", seg.URI, code)
		}
	}
	// The channel takes a new publisher.
	pub2 := publish(t, rtmpURL(ch), "flv", "640x360", 6)
	waitFor(t, 20*time.Second, "the channel to go live again", func() bool { return s.getChannel(ch.ID).State == "live" })
	if err := pub2.wait(t, 30*time.Second); err != nil {
		t.Fatalf("second publisher: %v\n%s", err, pub2.out)
	}
}

// childFFmpeg finds the transcoder ffmpeg that osprey runs.
func childFFmpeg(t *testing.T, parent int) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(parent), "ffmpeg").Output()
	fields := strings.Fields(string(out))
	if len(fields) != 1 {
		return 0
	}
	pid, _ := strconv.Atoi(fields[0])
	return pid
}

func TestTranscoderKilledMidStream(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("transcoder killed")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 24)
	waitLive(t, s, ch)
	time.Sleep(4 * time.Second)
	pid := childFFmpeg(t, s.cmd.Process.Pid)
	if pid == 0 {
		t.Fatal("no transcoder process found")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	playlistURL := renditionURL(t, ch.Playback.HLS, "360p")
	waitFor(t, 20*time.Second, "a discontinuity in the playlist", func() bool {
		_, body := get(t, playlistURL)
		return strings.Contains(string(body), "#EXT-X-DISCONTINUITY\n")
	})
	if st := s.getChannel(ch.ID); st.Live == nil || st.Live.Transcoder == nil || st.Live.Transcoder.Restarts != 1 {
		t.Errorf("API after the transcoder died: %+v", st.Live)
	}
	// The stream goes on after the discontinuity, and everything listed is there.
	m, _ := mediaPlaylist(t, playlistURL)
	before := m.MediaSequence + len(m.Segments)
	waitFor(t, 15*time.Second, "new segments after the restart", func() bool {
		m, _ := mediaPlaylist(t, playlistURL)
		return m.MediaSequence+len(m.Segments) >= before+2
	})
	for _, u := range []string{playlistURL, renditionURL(t, ch.Playback.HLS, "audio")} {
		m, _ := mediaPlaylist(t, u)
		for _, seg := range m.Segments {
			if code, _ := get(t, resolve(t, u, seg.URI)); code != 200 {
				t.Errorf("%s: HTTP %d", seg.URI, code)
			}
		}
	}
	if err := pub.wait(t, 60*time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub.out)
	}
	waitFor(t, 20*time.Second, "EXT-X-ENDLIST", func() bool {
		_, body := get(t, playlistURL)
		return strings.Contains(string(body), "#EXT-X-ENDLIST")
	})
}

// killMidStream starts osprey on dir, publishes to a new channel until
// three segments are listed, kills osprey with -9 and stops the publisher.
func killMidStream(t *testing.T, dir string, extraArgs ...string) channel {
	t.Helper()
	s := startOspreyIn(t, dir, extraArgs...)
	ch := s.createChannel("osprey killed")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 60)
	waitLive(t, s, ch)
	playlistURL := renditionURL(t, ch.Playback.HLS, "360p")
	waitFor(t, 20*time.Second, "three segments", func() bool {
		m, _ := mediaPlaylist(t, playlistURL)
		return len(m.Segments) >= 3
	})
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-s.exited
	pub.cancel()
	_ = pub.wait(t, 10*time.Second)
	return ch
}

// Osprey killed with -9 mid-stream and restarted: the playlists stay live
// for the continuation grace (live.continue_grace), and the publisher that
// comes back continues them: the same media playlist, its segments still
// listed under their sequence numbers, then a discontinuity and new ones.
func TestOspreyKilledMidStream(t *testing.T) {
	dir := t.TempDir()
	ch := killMidStream(t, dir)

	s2 := startOspreyIn(t, dir)
	base := s2.httpBase + "/live/" + ch.ID + "/"
	u := renditionURL(t, base+"index.m3u8", "360p")
	m, _ := mediaPlaylist(t, u)
	if m.Endlist {
		t.Fatalf("the playlist ended at the restart, within the continuation grace")
	}
	for _, seg := range m.Segments {
		if code, _ := get(t, resolve(t, u, seg.URI)); code != 200 {
			t.Errorf("%s: HTTP %d", seg.URI, code)
		}
	}
	seqOf := map[string]int{}
	for i, seg := range m.Segments {
		seqOf[seg.URI] = m.MediaSequence + i
	}
	last := m.MediaSequence + len(m.Segments)

	ch2 := s2.getChannel(ch.ID)
	pub2 := publish(t, rtmpURL(ch2), "flv", "640x360", 8)
	var m2 *playlist.Media
	waitFor(t, 30*time.Second, "the playlist to go on", func() bool {
		if renditionURL(t, base+"index.m3u8", "360p") != u {
			t.Fatalf("the multivariant playlist moved to another media playlist: a new session, not a continuation")
		}
		m2, _ = mediaPlaylist(t, u)
		// A new segment with media: the numbers the dead process may have
		// served from memory come first, as EXT-X-GAP holes.
		for i, seg := range m2.Segments {
			if m2.MediaSequence+i > last && !seg.Gap {
				return true
			}
		}
		return false
	})
	discontinuity := false
	holes := 0
	for i, seg := range m2.Segments {
		if seg.Gap {
			holes++
		}
		if seq, ok := seqOf[seg.URI]; ok && seq != m2.MediaSequence+i {
			t.Errorf("segment %s moved from sequence %d to %d", seg.URI, seq, m2.MediaSequence+i)
		}
		discontinuity = discontinuity || seg.Discontinuity
	}
	if !discontinuity && m2.MediaSequence < last {
		t.Errorf("no EXT-X-DISCONTINUITY between the sessions")
	}
	if holes > 8 {
		t.Errorf("%d holes after the continuation; the reservation is 8", holes)
	}
	if m2.Endlist {
		t.Errorf("the continued playlist has ended while the publisher sends")
	}
	_ = pub2.wait(t, 30*time.Second)
}

// With live.continue_grace 0, a restart after kill -9 ends the playlists
// at once (the last window stays playable), and the next publication
// starts new playlists, its sequence numbers after the old ones.
func TestOspreyKilledMidStreamWithoutGrace(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(t.TempDir(), "osprey.yaml")
	if err := os.WriteFile(conf, []byte("live:\n  continue_grace: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ch := killMidStream(t, dir, "--config", conf)

	s2 := startOspreyIn(t, dir, "--config", conf)
	base := s2.httpBase + "/live/" + ch.ID + "/"
	u := renditionURL(t, base+"index.m3u8", "360p")
	m, _ := mediaPlaylist(t, u)
	if !m.Endlist || len(m.Segments) < 3 {
		t.Fatalf("after the restart: endlist %v, %d segments", m.Endlist, len(m.Segments))
	}
	last := m.MediaSequence + len(m.Segments)
	for _, seg := range m.Segments {
		if code, _ := get(t, resolve(t, u, seg.URI)); code != 200 {
			t.Errorf("%s: HTTP %d", seg.URI, code)
		}
	}
	if code, mpd := get(t, base+"manifest.mpd"); code != 200 || !strings.Contains(string(mpd), `type="static"`) {
		t.Errorf("MPD after the restart: HTTP %d\n%s", code, mpd)
	}
	if st := s2.getChannel(ch.ID); st.State != "idle" {
		t.Errorf("state after the restart: %q", st.State)
	}
	// A new session continues the numbering.
	oldURIs := map[string]bool{}
	for _, seg := range m.Segments {
		oldURIs[seg.URI] = true
	}
	ch2 := s2.getChannel(ch.ID)
	pub2 := publish(t, rtmpURL(ch2), "flv", "640x360", 8)
	var u2 string // a new session has playlists of its own
	waitFor(t, 30*time.Second, "the new session's playlist", func() bool {
		if u2 = renditionURL(t, base+"index.m3u8", "360p"); u2 == "" || u2 == u {
			return false
		}
		code, body := get(t, u2)
		return code == 200 && !strings.Contains(string(body), "#EXT-X-ENDLIST")
	})
	m2, _ := mediaPlaylist(t, u2)
	for _, seg := range m2.Segments {
		if oldURIs[seg.URI] {
			t.Errorf("the new session reuses segment %s", seg.URI)
		}
	}
	if m2.MediaSequence < last {
		t.Errorf("new session starts at sequence %d, the old one ended at %d", m2.MediaSequence, last)
	}
	_ = pub2.wait(t, 30*time.Second)
}

func TestServeWithoutFFmpegFailsClearly(t *testing.T) {
	cmd := exec.Command(ospreyBin, "serve", "--data", t.TempDir(), "--http", "127.0.0.1:0", "--rtmp", "", "--srt", "",
		"--ffmpeg", "/nonexistent/ffmpeg")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("osprey serve started without ffmpeg:\n%s", out)
	}
	if !strings.Contains(string(out), "ffmpeg not found") || !strings.Contains(string(out), "apt install ffmpeg") {
		t.Errorf("unclear error:\n%s", out)
	}
}
