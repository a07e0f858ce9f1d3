package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// renditionURL returns the absolute URL of the named rendition's media
// playlist as the channel's multivariant playlist lists it now (each
// publication has playlists of its own, under a session folder), or "" when
// it lists none of that name.
func renditionURL(t *testing.T, hlsURL, name string) string {
	t.Helper()
	code, _ := get(t, hlsURL)
	if code != 200 {
		return ""
	}
	m := multivariant(t, hlsURL)
	suffix := "/" + name + "/index.m3u8"
	for _, v := range m.Variants {
		if v.URI == name+"/index.m3u8" || strings.HasSuffix(v.URI, suffix) {
			return resolve(t, hlsURL, v.URI)
		}
	}
	for _, r := range m.Renditions {
		if r.URI != nil && (*r.URI == name+"/index.m3u8" || strings.HasSuffix(*r.URI, suffix)) {
			return resolve(t, hlsURL, *r.URI)
		}
	}
	return ""
}

// A channel that goes live again after its publication ended: the ended
// media playlists keep their bytes (RFC 8216 6.2.1 forbids changing a
// playlist after EXT-X-ENDLIST), while the channel's stable URLs (the
// multivariant playlist and the MPD, playback.hls and playback.dash) move
// on to the new publication.
func TestLiveAgainKeepsEndedPlaylists(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("live again")
	pub := publish(t, rtmpURL(ch), "flv", "640x360", 6)
	waitLive(t, s, ch)
	if err := pub.wait(t, 60*time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub.out)
	}
	var first string
	waitFor(t, 30*time.Second, "EXT-X-ENDLIST", func() bool {
		first = renditionURL(t, ch.Playback.HLS, "360p")
		if first == "" {
			return false
		}
		code, body := get(t, first)
		return code == 200 && bytes.Contains(body, []byte("#EXT-X-ENDLIST"))
	})
	ended := map[string][]byte{}
	for _, name := range []string{"360p", "audio"} {
		u := renditionURL(t, ch.Playback.HLS, name)
		_, body := get(t, u)
		if !bytes.HasSuffix(body, []byte("#EXT-X-ENDLIST\n")) {
			t.Fatalf("%s ended without EXT-X-ENDLIST last:\n%s", u, body)
		}
		ended[u] = body
	}
	if code, mpd := get(t, ch.Playback.DASH); code != 200 || !bytes.Contains(mpd, []byte(`type="static"`)) {
		t.Fatalf("MPD after the end: HTTP %d\n%s", code, mpd)
	}
	waitFor(t, 20*time.Second, "the channel to go idle", func() bool { return s.getChannel(ch.ID).State == "idle" })

	pub2 := publish(t, rtmpURL(ch), "flv", "640x360", 10)
	var second string
	waitFor(t, 40*time.Second, "the new publication's playlist", func() bool {
		second = renditionURL(t, ch.Playback.HLS, "360p")
		if second == "" || second == first {
			return false
		}
		m, _ := mediaPlaylist(t, second)
		return len(m.Segments) > 0 && !m.Endlist
	})
	if code, mpd := get(t, ch.Playback.DASH); code != 200 || !bytes.Contains(mpd, []byte(`type="dynamic"`)) {
		t.Errorf("MPD of the new publication: HTTP %d\n%s", code, mpd)
	}
	for u, want := range ended {
		code, got := get(t, u)
		if code != 200 || !bytes.Equal(got, want) {
			t.Errorf("ended playlist %s changed (HTTP %d):\n%s\nnow:\n%s", u, code, want, got)
		}
		m, _ := mediaPlaylist(t, u)
		for _, seg := range m.Segments {
			if code, _ := get(t, resolve(t, u, seg.URI)); code != 200 {
				t.Errorf("%s of the ended publication: HTTP %d", seg.URI, code)
			}
		}
	}
	if err := pub2.wait(t, 60*time.Second); err != nil {
		t.Fatalf("second publisher: %v\n%s", err, pub2.out)
	}
	waitFor(t, 30*time.Second, "the new publication's EXT-X-ENDLIST", func() bool {
		_, body := get(t, second)
		return bytes.Contains(body, []byte("#EXT-X-ENDLIST"))
	})
}
