package e2e

import (
	"fmt"
	"math"
	"os/exec"
	"path"
	"strings"
	"testing"
	"time"
)

type rung struct{ w, h int }

// checkEndedStream verifies a channel's HLS and DASH output after its
// publisher has left: every rung present at its size and decodable, segment
// durations equal across rungs, ENDLIST, and a static MPD ffprobe can read.
func checkEndedStream(t *testing.T, s *server, ch channel, want map[string]rung) {
	t.Helper()
	// Every media playlist ends.
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
	waitFor(t, 30*time.Second, "EXT-X-ENDLIST in every media playlist", func() bool {
		for _, u := range uris {
			_, body := get(t, u)
			if !strings.Contains(string(body), "#EXT-X-ENDLIST") {
				return false
			}
		}
		return true
	})

	if !mv.IndependentSegments {
		t.Error("multivariant playlist lacks EXT-X-INDEPENDENT-SEGMENTS")
	}
	if len(mv.Variants) != len(want) {
		t.Errorf("%d variants, want %d", len(mv.Variants), len(want))
	}
	dir := t.TempDir()
	var durations [][]time.Duration
	var names []string
	for _, v := range mv.Variants {
		name := path.Base(path.Dir(v.URI)) // {session}/{rendition}/index.m3u8
		r, ok := want[name]
		if !ok {
			t.Errorf("unexpected variant %s", v.URI)
			continue
		}
		if v.Resolution != fmt.Sprintf("%dx%d", r.w, r.h) {
			t.Errorf("%s: RESOLUTION %s, want %dx%d", name, v.Resolution, r.w, r.h)
		}
		codecs := strings.Join(v.Codecs, ",")
		if !strings.HasPrefix(codecs, "avc1.") || !strings.Contains(codecs, "mp4a.40.2") {
			t.Errorf("%s: CODECS %q", name, codecs)
		}
		if v.Bandwidth <= 0 || v.AverageBandwidth == nil || *v.AverageBandwidth <= 0 || *v.AverageBandwidth > v.Bandwidth {
			t.Errorf("%s: BANDWIDTH %d AVERAGE-BANDWIDTH %v", name, v.Bandwidth, v.AverageBandwidth)
		}
		if v.FrameRate == nil || math.Abs(*v.FrameRate-30) > 0.1 {
			t.Errorf("%s: FRAME-RATE %v, want 30", name, v.FrameRate)
		}
		if v.Audio == "" {
			t.Errorf("%s: no AUDIO group", name)
		}
		u := resolve(t, ch.Playback.HLS, v.URI)
		m, text := mediaPlaylist(t, u)
		if m.Version < 7 || !m.Endlist || len(m.Segments) == 0 {
			t.Errorf("%s: version %d, endlist %v, %d segments", name, m.Version, m.Endlist, len(m.Segments))
		}
		if !strings.Contains(text, "#EXT-X-PROGRAM-DATE-TIME:") {
			t.Errorf("%s: no EXT-X-PROGRAM-DATE-TIME", name)
		}
		file := downloadRendition(t, u, m, dir)
		p := ffprobe(t, file)
		if len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Width != r.w || p.Streams[0].Height != r.h {
			t.Errorf("%s: ffprobe sees %+v, want one h264 stream %dx%d", name, p.Streams, r.w, r.h)
		}
		decodes(t, file)
		var ds []time.Duration
		for _, seg := range m.Segments {
			ds = append(ds, seg.Duration)
		}
		durations = append(durations, ds)
		names = append(names, fmt.Sprintf("%s@%d", name, m.MediaSequence))
	}
	// Segment durations equal across rungs within one frame.
	const frame = time.Second / 30
	for i := 1; i < len(durations); i++ {
		if len(durations[i]) != len(durations[0]) || names[i][strings.Index(names[i], "@"):] != names[0][strings.Index(names[0], "@"):] {
			t.Errorf("rungs list different segments: %s %v vs %s %v", names[0], durations[0], names[i], durations[i])
			continue
		}
		for j := range durations[i] {
			if d := durations[i][j] - durations[0][j]; d > frame || d < -frame {
				t.Errorf("segment %d: %s lasts %v, %s %v", j, names[0], durations[0][j], names[i], durations[i][j])
			}
		}
	}
	for _, ds := range durations[:1] {
		for j, d := range ds[:len(ds)-1] { // the last one may be short
			if d < 1900*time.Millisecond || d > 2100*time.Millisecond {
				t.Errorf("segment %d lasts %v, want 2 s", j, d)
			}
		}
	}
	// The audio rendition.
	if len(mv.Renditions) != 1 || mv.Renditions[0].Type != "AUDIO" || mv.Renditions[0].URI == nil {
		t.Fatalf("want one AUDIO rendition, got %+v", mv.Renditions)
	}
	au := resolve(t, ch.Playback.HLS, *mv.Renditions[0].URI)
	am, _ := mediaPlaylist(t, au)
	af := downloadRendition(t, au, am, dir)
	if p := ffprobe(t, af); len(p.Streams) != 1 || p.Streams[0].CodecName != "aac" {
		t.Errorf("audio: ffprobe sees %+v", p.Streams)
	}
	decodes(t, af)

	// DASH: static now, readable by ffprobe with every representation.
	code, mpd := get(t, ch.Playback.DASH)
	if code != 200 || !strings.Contains(string(mpd), `type="static"`) {
		t.Fatalf("MPD after the end: HTTP %d, static=%v\n%s", code, strings.Contains(string(mpd), `type="static"`), mpd)
	}
	p := ffprobe(t, ch.Playback.DASH)
	var v, a int
	for _, st := range p.Streams {
		switch st.CodecType {
		case "video":
			v++
			found := false
			for _, r := range want {
				found = found || (r.w == st.Width && r.h == st.Height)
			}
			if !found {
				t.Errorf("DASH video stream %dx%d is not a rung", st.Width, st.Height)
			}
		case "audio":
			a++
		}
	}
	if v != len(want) || a != 1 {
		t.Errorf("ffprobe of the MPD: %d video and %d audio streams, want %d and 1", v, a, len(want))
	}
}

// waitLive waits until the channel is live and its multivariant playlist is up.
func waitLive(t *testing.T, s *server, ch channel) {
	t.Helper()
	waitFor(t, 30*time.Second, "the multivariant playlist", func() bool {
		code, _ := get(t, ch.Playback.HLS)
		return code == 200
	})
	if st := s.getChannel(ch.ID); st.State != "live" || st.Live == nil || st.Live.Transcoder == nil || !st.Live.Transcoder.Running {
		t.Errorf("channel while publishing: state %q, live %+v", st.State, st.Live)
	}
}

func TestRTMPPublishToHLSAndDASH(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("rtmp e2e")
	if !strings.HasPrefix(ch.Ingest.RTMP, "rtmp://127.0.0.1:") || !strings.HasSuffix(ch.Ingest.RTMP, "/live/"+ch.StreamKey) {
		t.Fatalf("ingest.rtmp = %q", ch.Ingest.RTMP)
	}
	pub := publish(t, rtmpURL(ch), "flv", "1280x720", 20)
	waitLive(t, s, ch)

	// While live: the MPD is dynamic, points at our own clock, and ffprobe reads it.
	code, mpd := get(t, ch.Playback.DASH)
	if code != 200 || !strings.Contains(string(mpd), `type="dynamic"`) || !strings.Contains(string(mpd), `value="/time"`) {
		t.Errorf("live MPD: HTTP %d\n%s", code, mpd)
	}
	if p := ffprobe(t, ch.Playback.DASH); len(p.Streams) != 4 {
		t.Errorf("ffprobe of the live MPD sees %d streams, want 4", len(p.Streams))
	}

	if err := pub.wait(t, 60*time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub.out)
	}
	checkEndedStream(t, s, ch, map[string]rung{"720p": {1280, 720}, "480p": {854, 480}, "360p": {640, 360}})
	waitFor(t, 10*time.Second, "the channel to go idle", func() bool { return s.getChannel(ch.ID).State == "idle" })
}

func TestSRTPublishToHLSAndDASH(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("srt e2e")
	if !strings.HasPrefix(ch.Ingest.SRT, "srt://127.0.0.1:") || !strings.HasSuffix(ch.Ingest.SRT, "?streamid=publish:"+ch.StreamKey) {
		t.Fatalf("ingest.srt = %q", ch.Ingest.SRT)
	}
	pub := publish(t, srtURL(ch), "mpegts", "854x480", 20)
	waitLive(t, s, ch)
	// A second publisher on the live channel is refused, on the other protocol too.
	dup := publish(t, rtmpURL(ch), "flv", "320x240", 10)
	if err := dup.wait(t, 15*time.Second); err == nil {
		t.Errorf("a second publisher was accepted:\n%s", dup.out)
	}
	if recs := s.logs.find("refused publisher"); len(recs) != 1 || !strings.Contains(fmt.Sprint(recs[0]["reason"]), "already has a publisher") {
		t.Errorf("refusal log: %v", recs)
	}
	if err := pub.wait(t, 60*time.Second); err != nil {
		t.Fatalf("publisher: %v\n%s", err, pub.out)
	}
	checkEndedStream(t, s, ch, map[string]rung{"480p": {854, 480}, "360p": {640, 360}})
}

// HEVC input (here over SRT; Enhanced RTMP carries it too) is decoded and
// transcoded to the H.264 ladder.
func TestHEVCInputIsTranscoded(t *testing.T) {
	s := startOsprey(t)
	ch := s.createChannel("hevc")
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-re", "-f", "lavfi", "-i", "sine=sample_rate=48000",
		"-t", "8", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=none", "-c:a", "aac",
		"-f", "mpegts", srtURL(ch)}
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("publisher: %v\n%s", err, out)
	}
	var u string
	waitFor(t, 30*time.Second, "EXT-X-ENDLIST", func() bool {
		if u = renditionURL(t, ch.Playback.HLS, "360p"); u == "" {
			return false
		}
		code, body := get(t, u)
		return code == 200 && strings.Contains(string(body), "#EXT-X-ENDLIST")
	})
	m, _ := mediaPlaylist(t, u)
	file := downloadRendition(t, u, m, t.TempDir())
	if p := ffprobe(t, file); len(p.Streams) != 1 || p.Streams[0].CodecName != "h264" || p.Streams[0].Height != 360 {
		t.Errorf("ffprobe sees %+v, want h264 at 360p", p.Streams)
	}
	decodes(t, file)
}
