package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestParsePlaylist(t *testing.T) {
	for _, tc := range []struct {
		name      string
		text      string
		target    time.Duration
		segments  []string
		parts     []string
		msn, part int
	}{
		{
			name: "low latency",
			text: "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PART-INF:PART-TARGET=0.234\n" +
				"#EXTINF:2.000,\n7.m4s\n" +
				"#EXT-X-PART:DURATION=0.200,URI=\"8.0.m4s\",INDEPENDENT=YES\n" +
				"#EXT-X-PART:DURATION=0.200,URI=\"8.1.m4s\"\n" +
				"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"8.2.m4s\"\n" +
				"#EXT-X-RENDITION-REPORT:URI=\"../audio/index.m3u8\",LAST-MSN=8,LAST-PART=1\n",
			target: 2 * time.Second, segments: []string{"7.m4s"}, parts: []string{"8.0.m4s", "8.1.m4s"}, msn: 8, part: 2,
		},
		{
			name:   "plain",
			text:   "#EXTM3U\r\n#EXT-X-TARGETDURATION:1\r\n#EXTINF:1.000,\r\n3.m4s\r\n#EXTINF:1.000,\r\n4.m4s\r\n",
			target: time.Second, segments: []string{"3.m4s", "4.m4s"}, msn: -1, part: -1,
		},
		{
			name: "a hint of another type is not a part",
			text: "#EXTM3U\n#EXT-X-PRELOAD-HINT:TYPE=MAP,URI=\"init-1.mp4\"\n",
			msn:  -1, part: -1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := parsePlaylist(tc.text)
			if p.target != tc.target || !slices.Equal(p.segments, tc.segments) || !slices.Equal(p.parts, tc.parts) ||
				p.hintMSN != tc.msn || p.hintPart != tc.part {
				t.Errorf("got %+v", p)
			}
		})
	}
}

func TestVariants(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/live/ch/index.m3u8", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("#EXTM3U\n" +
			"#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,URI=\"s1/audio/index.m3u8\"\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=3080000,RESOLUTION=1280x720,AUDIO=\"audio\"\n" +
			"s1/720p/index.m3u8\n" +
			"#EXT-X-STREAM-INF:BANDWIDTH=880000,RESOLUTION=640x360,AUDIO=\"audio\"\n" +
			"s1/360p/index.m3u8\n"))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	video, audio, err := variants(srv.URL + "/live/ch/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	if video != srv.URL+"/live/ch/s1/720p/index.m3u8" || audio != srv.URL+"/live/ch/s1/audio/index.m3u8" {
		t.Errorf("video %q, audio %q", video, audio)
	}
	if _, _, err := variants(srv.URL + "/live/none/index.m3u8"); err == nil {
		t.Error("a missing multivariant playlist gave no error")
	}
}
