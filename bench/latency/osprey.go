package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/bench/internal/benchkit"
)

const adminToken = "latbench-admin-token"

// passthrough is the -ladders name of the input video alone, untouched
// (with the audio as the ladder makes it): osprey runs with a configuration
// file whose ladder passthroughLadder has no transcoded rung.
const (
	passthrough       = "passthrough"
	passthroughLadder = "bench-passthrough"
	passthroughConfig = "ladders:\n  " + passthroughLadder + ":\n    passthrough: true\n"
)

// run is one osprey serve with one channel and its publisher.
type run struct {
	srv *benchkit.Server
	ch  channel
	pub *exec.Cmd
	// stopPub ends the publisher; pubDone is closed once it exited.
	stopPub context.CancelFunc
	pubDone chan struct{}
	pubErr  bytes.Buffer // its stderr; read once it exited
	events  *eventCounter
}

type channel struct {
	ID     string `json:"id"`
	Ingest struct {
		RTMP string `json:"rtmp"`
	} `json:"ingest"`
	Playback struct {
		HLS    string `json:"hls"`
		DASH   string `json:"dash"`
		Player string `json:"player"`
	} `json:"playback"`
	State string `json:"state"`
	Live  *struct {
		Packager *struct {
			EdgeDelay float64 `json:"edge_delay"`
		} `json:"packager"`
	} `json:"live"`
}

// start runs osprey with the ladder and part duration, creates a channel,
// starts the publisher and waits until the first video playlist lists
// segments (and parts, when on).
func (b *bench) start(name, ladder string, part time.Duration) *run {
	dir, err := os.MkdirTemp(b.work, name+"-")
	if err != nil {
		log.Fatal(err)
	}
	args := []string{"--rtmp", "127.0.0.1:0", "--srt", "",
		"--segment-duration", b.cfg.segment.String(), "--part-duration", part.String(),
		"--keyframe-interval", b.cfg.keyframes.String()}
	if ladder == passthrough {
		// The input rung alone: the built-in passthrough preset also has
		// the transcoded rungs, and the players would choose among them.
		cfgFile := filepath.Join(dir, "osprey.yaml")
		if err := os.WriteFile(cfgFile, []byte(passthroughConfig), 0o644); err != nil {
			log.Fatal(err)
		}
		args = append(args, "--config", cfgFile, "--ladder", passthroughLadder)
	} else {
		args = append(args, "--ladder", ladder)
	}
	r := &run{events: &eventCounter{}}
	r.srv = benchkit.StartServerLogs(b.cfg.osprey, filepath.Join(dir, "data"), adminToken, r.events.onLog, args...)
	r.ch = r.createChannel(name)
	ctx, cancel := context.WithCancel(context.Background())
	r.stopPub, r.pubDone = cancel, make(chan struct{})
	r.pub = b.publisher(ctx, r.ch.Ingest.RTMP, &r.pubErr)
	go func() {
		defer close(r.pubDone)
		err := r.pub.Wait()
		if ctx.Err() == nil {
			log.Fatalf("%s: the publisher stopped: %v\n%s", name, err, r.pubErr.String())
		}
		if s := strings.TrimSpace(r.pubErr.String()); s != "" {
			log.Printf("%s: the publisher said: %s", name, s)
		}
	}()
	if err := r.waitPlaylists(part > 0); err != nil {
		r.stop()
		log.Fatalf("%s: %v", name, err)
	}
	return r
}

// stop ends the publisher, then osprey.
func (r *run) stop() {
	r.stopPub()
	<-r.pubDone
	r.srv.Stop()
}

// publisher sends a live 720p30 test pattern with a tone over RTMP, encoded
// like a low-latency publisher would: x264 -tune zerolatency with a fixed
// keyframe interval, AAC. It runs until ctx ends.
func (b *bench) publisher(ctx context.Context, url string, stderr io.Writer) *exec.Cmd {
	gop := strconv.Itoa(int(b.cfg.gop/time.Second) * 30)
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", b.cfg.preset, "-tune", "zerolatency",
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", "-f", "flv", url)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		log.Fatalf("starting the publisher: %v", err)
	}
	return cmd
}

func (r *run) createChannel(name string) channel {
	body, _ := json.Marshal(map[string]string{"name": name})
	req, _ := http.NewRequest("POST", r.srv.Base+"/api/v1/channels", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatalf("creating a channel: %v", err)
	}
	defer resp.Body.Close()
	var ch channel
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || resp.StatusCode != http.StatusCreated {
		log.Fatalf("creating a channel: HTTP %d %v", resp.StatusCode, err)
	}
	return ch
}

// status reads the channel from the API; the zero channel on failure.
func (r *run) status() channel {
	req, _ := http.NewRequest("GET", r.srv.Base+"/api/v1/channels/"+r.ch.ID, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return channel{}
	}
	defer resp.Body.Close()
	var ch channel
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	return ch
}

// waitPlaylists waits until the first video variant lists two segments,
// and parts when they are on.
func (r *run) waitPlaylists(parts bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		video, _, err := variants(r.ch.Playback.HLS)
		if err != nil {
			continue
		}
		code, pl := benchkit.GetText(video)
		if code == http.StatusOK && strings.Count(pl, "#EXTINF:") >= 2 && (!parts || strings.Contains(pl, "#EXT-X-PART:")) {
			return nil
		}
	}
	return fmt.Errorf("no playable playlist within 60 s of publishing")
}

// variants reads a multivariant playlist: the first video variant's media
// playlist and the audio rendition's ("" when the audio is muxed or absent).
func variants(mv string) (video, audio string, err error) {
	code, text := benchkit.GetText(mv)
	if code != http.StatusOK {
		return "", "", fmt.Errorf("%s: HTTP %d", mv, code)
	}
	base, err := url.Parse(mv)
	if err != nil {
		return "", "", err
	}
	abs := func(ref string) string {
		u, err := base.Parse(ref)
		if err != nil {
			return ""
		}
		return u.String()
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA:") && strings.Contains(l, "TYPE=AUDIO") && audio == "":
			if uri := benchkit.Attr(l, "URI"); uri != "" {
				audio = abs(uri)
			}
		case strings.HasPrefix(l, "#EXT-X-STREAM-INF:") && video == "" && i+1 < len(lines):
			video = abs(strings.TrimSpace(lines[i+1]))
		}
	}
	if video == "" {
		return "", "", fmt.Errorf("%s lists no variant", mv)
	}
	return video, audio, nil
}
