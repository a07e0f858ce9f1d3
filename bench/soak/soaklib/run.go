package soaklib

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Run performs one soak run. An error means the run could not be set up
// (no binary, the server did not start, the stream never appeared);
// problems during the run are counted in the Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Dir == "" {
		return Result{}, errors.New("soak: Config.Dir is required")
	}
	if cfg.Duration <= 0 {
		return Result{}, errors.New("soak: Config.Duration must be positive")
	}
	if cfg.Viewers <= 0 {
		cfg.Viewers = 4
	}
	if cfg.UploadEvery <= 0 {
		cfg.UploadEvery = time.Minute
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = "soak-admin-token"
	}
	ev := &events{start: time.Now(), out: cfg.Progress}

	bin := cfg.Bin
	if bin == "" {
		ev.logf("building osprey")
		b, err := build(ctx, cfg.Dir)
		if err != nil {
			return Result{}, err
		}
		bin = b
	}
	clip := filepath.Join(cfg.Dir, "clip.mp4")
	if err := makeClip(ctx, clip); err != nil {
		return Result{}, err
	}
	srv, err := startServer(bin, cfg.Dir, cfg.AdminToken, cfg.ExtraYAML)
	if err != nil {
		return Result{}, err
	}
	defer srv.stop()
	ev.logf("osprey serving on %s (pid %d), edge enabled", srv.base, srv.pid())

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * cfg.Viewers}}
	defer client.CloseIdleConnections()

	var ch struct {
		ID     string `json:"id"`
		Ingest struct {
			RTMP string `json:"rtmp"`
		} `json:"ingest"`
		Playback struct {
			HLS string `json:"hls"`
		} `json:"playback"`
	}
	if _, err := srv.api(ctx, client, http.MethodPost, "/api/v1/channels", map[string]string{"name": "soak"}, &ch); err != nil {
		return Result{}, fmt.Errorf("creating the channel: %w", err)
	}
	pubCtx, stopPub := context.WithCancel(ctx)
	pubDone, err := publish(pubCtx, ch.Ingest.RTMP)
	if err != nil {
		stopPub()
		return Result{}, err
	}
	defer func() { stopPub(); <-pubDone }()

	variants, renditions, err := waitStream(ctx, client, ch.Playback.HLS, 120*time.Second)
	if err != nil {
		return Result{}, err
	}
	ev.logf("live: %d variant(s) and %d other rendition(s) at %s", len(variants), len(renditions), ch.Playback.HLS)

	diagnose := func(ctx context.Context) string { return channelState(ctx, srv, client, ch.ID) }
	res, err := measure(ctx, cfg, srv, client, clip, variants, renditions, pubDone, ev, diagnose)
	if err != nil {
		return res, err
	}
	res.ServerErrorLog, res.ServerErrors = srv.errorLog()
	return res, nil
}

// measure runs viewers, the uploader and the sampler for the duration.
func measure(ctx context.Context, cfg Config, srv *server, client *http.Client, clip string,
	variants, renditions []string, pubDone <-chan error, ev *events, diagnose func(context.Context) string) (Result, error) {
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	stats := &counters{}
	var (
		wg      sync.WaitGroup
		samples []Sample
		exposed bool
		uploads int
	)
	// Each viewer plays one variant and, as players do, every audio or
	// subtitle rendition alongside it.
	for i := range cfg.Viewers {
		for _, u := range append([]string{variants[i%len(variants)]}, renditions...) {
			v := &viewer{client: client, events: ev, stats: stats, diagnose: diagnose}
			wg.Go(func() { v.run(runCtx, u) })
		}
	}
	wg.Go(func() { uploads = uploader(runCtx, cfg.UploadEvery, srv, client, clip, ev) })
	wg.Go(func() {
		select {
		case err := <-pubDone:
			if runCtx.Err() == nil {
				ev.errorf("the publisher (ffmpeg) exited early: %v", err)
			}
		case <-runCtx.Done():
		}
	})

	// Sampling happens here, every second.
	first, err := srv.goroutines(runCtx, client)
	exposed = err == nil && first >= 0
	if !exposed {
		ev.logf("go_goroutines is not exposed on /metrics (%v); goroutines are not judged", err)
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastReport := time.Now()
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-tick.C:
		}
		if srv.exited() {
			ev.errorf("osprey exited during the run")
			break loop
		}
		s, err := srv.sample(runCtx, client, time.Since(start), exposed)
		if err != nil {
			if runCtx.Err() == nil {
				ev.errorf("sampling: %v", err)
			}
			continue
		}
		samples = append(samples, s)
		if time.Since(lastReport) >= 10*time.Second {
			lastReport = time.Now()
			ev.logf("RSS %.1f MiB, goroutines %d, fds %d; segments %d, stalls %d",
				float64(s.RSS)/(1<<20), s.Goroutines, s.FDs, stats.segments.Load(), stats.stalls.Load())
		}
	}
	cancel()
	wg.Wait()

	res := Result{
		Duration:          time.Since(start),
		Samples:           samples,
		GoroutinesExposed: exposed,
		Stalls:            int(stats.stalls.Load()),
		Segments:          stats.segments.Load(),
		PlaylistPolls:     stats.polls.Load(),
		Uploads:           uploads,
	}
	res.Errors, res.FirstErrors = ev.counts()
	if len(samples) < 4 {
		return res, fmt.Errorf("only %d samples", len(samples))
	}
	res.RSSSlope, res.GoroutineSlope, res.FDSlope = slopes(samples)
	return res, nil
}

// channelState describes the live channel for a stall report: its state
// and its transcoder's speed, lag and load shedding, as the API shows them.
func channelState(ctx context.Context, srv *server, c *http.Client, id string) string {
	var ch struct {
		Live *struct {
			State      string `json:"state"`
			Transcoder *struct {
				Running  bool    `json:"running"`
				Restarts int     `json:"restarts"`
				Speed    float64 `json:"speed"`
				Lag      float64 `json:"lag_seconds"`
				Behind   bool    `json:"behind"`
			} `json:"transcoder"`
			Degraded *struct {
				Reason string `json:"reason"`
			} `json:"degraded"`
		} `json:"live"`
	}
	if _, err := srv.api(ctx, c, http.MethodGet, "/api/v1/channels/"+id, nil, &ch); err != nil {
		return "channel state unknown: " + err.Error()
	}
	if ch.Live == nil || ch.Live.Transcoder == nil {
		return "the channel reports no transcoder"
	}
	t := ch.Live.Transcoder
	s := fmt.Sprintf("channel %s, transcoder running %v, speed %.2fx, lag %.1fs, behind %v, restarts %d",
		ch.Live.State, t.Running, t.Speed, t.Lag, t.Behind, t.Restarts)
	if ch.Live.Degraded != nil {
		s += ", degraded: " + ch.Live.Degraded.Reason
	}
	return s
}

// uploader uploads the clip once per period, waits for it to be ready and
// deletes it; it returns how many went through.
func uploader(ctx context.Context, every time.Duration, srv *server, client *http.Client, clip string, ev *events) int {
	n := 0
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; ; i++ {
		t0 := time.Now()
		err := func() error {
			id, err := srv.upload(ctx, client, clip, fmt.Sprintf("soak %d", i))
			if err != nil {
				return fmt.Errorf("upload: %w", err)
			}
			if err := srv.waitAsset(ctx, client, id, max(every, 3*time.Minute)); err != nil {
				return err
			}
			if _, err := srv.api(ctx, client, http.MethodDelete, "/api/v1/assets/"+id, nil, nil); err != nil {
				return fmt.Errorf("deleting %s: %w", id, err)
			}
			return nil
		}()
		switch {
		case ctx.Err() != nil:
			return n // the run ended during this upload
		case err != nil:
			ev.errorf("upload %d: %v", i, err)
		default:
			n++
			ev.logf("upload %d ready and deleted in %v", i, time.Since(t0).Round(100*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return n
		case <-tick.C:
		}
	}
}

// makeClip writes a 3-second 320x240 clip with a tone.
func makeClip(ctx context.Context, path string) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30:duration=3",
		"-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=3",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("making the upload clip: %w\n%s", err, out)
	}
	return nil
}

// publish streams a 640x360 test pattern with a tone to rtmpURL in real
// time until ctx ends; the channel gets ffmpeg's exit.
func publish(ctx context.Context, rtmpURL string) (<-chan error, error) {
	if rtmpURL == "" {
		return nil, errors.New("the channel has no RTMP ingest URL")
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
		"-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p",
		"-b:v", "1M", "-c:a", "aac", "-b:a", "96k", "-f", "flv", rtmpURL)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting ffmpeg: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(out.String()))
		}
		done <- err
		close(done)
	}()
	return done, nil
}

// waitStream waits until the multivariant playlist lists variants and the
// first one has at least two segments; it returns the variant URLs and
// those of the other renditions (audio, subtitles).
func waitStream(ctx context.Context, c *http.Client, masterURL string, timeout time.Duration) (variants, renditions []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	base, err := url.Parse(masterURL)
	if err != nil {
		return nil, nil, fmt.Errorf("playback URL %q: %w", masterURL, err)
	}
	v := &viewer{client: c}
	var last error
	for {
		if text, err := v.get(ctx, masterURL); err != nil {
			last = err
		} else if variants := variantURIs(base, string(text)); len(variants) == 0 {
			last = errors.New("no variants yet")
		} else if body, err := v.get(ctx, variants[0]); err != nil {
			last = err
		} else if p, err := parseMediaPlaylist(mustParse(variants[0]), string(body)); err != nil {
			last = err
		} else if len(p.segments) >= 2 {
			return variants, renditionURIs(base, string(text)), nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("the live stream did not appear within %v: %v", timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return &url.URL{}
	}
	return u
}
