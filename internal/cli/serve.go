package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/config"
)

// serveCmd holds serve's flags. Pointers are nil unless the flag or its
// environment variable was given, so they can be laid over the config file.
type serveCmd struct {
	Config           string         `name:"config" env:"OSPREY_CONFIG" placeholder:"FILE" help:"YAML configuration file (see docs/osprey.example.yaml); default: none."`
	Data             *string        `name:"data" env:"OSPREY_DATA" placeholder:"DIR" help:"Data directory: catalog, admin token and media (default \"${default_data}\")."`
	HTTP             *string        `name:"http" env:"OSPREY_HTTP" placeholder:"ADDR" help:"HTTP listen address: API, console and HLS/DASH origin (default \"${default_http}\")."`
	RTMP             *string        `name:"rtmp" env:"OSPREY_RTMP" placeholder:"ADDR" help:"RTMP ingest listen address; empty disables RTMP (default \"${default_rtmp}\")."`
	SRT              *string        `name:"srt" env:"OSPREY_SRT" placeholder:"ADDR" help:"SRT ingest listen address (UDP); empty disables SRT (default \"${default_srt}\")."`
	PublicURL        *string        `name:"public-url" env:"OSPREY_PUBLIC_URL" placeholder:"URL" help:"URL viewers and publishers reach this server at, e.g. https://video.example.com; empty: from each API request's Host (default \"${default_public_url}\")."`
	LogLevel         *string        `name:"log-level" env:"OSPREY_LOG_LEVEL" placeholder:"LEVEL" help:"debug, info, warn or error (default \"${default_log_level}\")."`
	LogFormat        *string        `name:"log-format" env:"OSPREY_LOG_FORMAT" placeholder:"FORMAT" help:"text or json (default \"${default_log_format}\")."`
	CORSOrigin       *string        `name:"cors-origin" env:"OSPREY_CORS_ORIGIN" placeholder:"ORIGIN" help:"Access-Control-Allow-Origin for media: *, one origin, or empty for none (default \"${default_cors_origin}\")."`
	SegmentDuration  *time.Duration `name:"segment-duration" env:"OSPREY_SEGMENT_DURATION" placeholder:"DURATION" help:"Target live segment duration, 1s to 10s (default ${default_segment_duration})."`
	PartDuration     *time.Duration `name:"part-duration" env:"OSPREY_PART_DURATION" placeholder:"DURATION" help:"Low-latency part duration (LL-HLS, LL-DASH), 50ms to 1s; 0 turns parts off (default ${default_part_duration})."`
	KeyframeInterval *time.Duration `name:"keyframe-interval" env:"OSPREY_KEYFRAME_INTERVAL" placeholder:"DURATION" help:"Keyframe interval of the transcoded rungs, a divisor of the segment duration ; low-latency players join at a keyframe. Default 0: one per segment."`
	DVRWindow        *time.Duration `name:"dvr-window" env:"OSPREY_DVR_WINDOW" placeholder:"DURATION" help:"How long live segments are kept for time-shifted playback and clips, for channels without their own: 0 (no DVR) or window × segment duration up to 24h (default ${default_dvr_window})."`
	Window           *int           `name:"window" env:"OSPREY_WINDOW" placeholder:"N" help:"Segments listed in live playlists, at least 3 (default ${default_window})."`
	Ladder           *string        `name:"ladder" env:"OSPREY_LADDER" placeholder:"NAME" help:"ABR ladder preset for live channels: default, low, passthrough or one from the config file (default \"${default_ladder}\")."`
	ShedLoad         *bool          `name:"shed-load" env:"OSPREY_SHED_LOAD" negatable:"" help:"Shed load when a live transcoder cannot keep up with real time: drop the top rung, then a faster preset, then half the frame rate (default true)."`
	FFmpeg           *string        `name:"ffmpeg" env:"OSPREY_FFMPEG" placeholder:"PATH" help:"ffmpeg binary, by name in PATH or by path (default \"${default_ffmpeg}\")."`
	TLSCert          *string        `name:"tls-cert" env:"OSPREY_TLS_CERT" placeholder:"FILE" help:"Certificate (PEM, with its chain) to serve HTTPS and HTTP/2 on the HTTP address; needs --tls-key. Re-read when the files change and on SIGHUP."`
	TLSKey           *string        `name:"tls-key" env:"OSPREY_TLS_KEY" placeholder:"FILE" help:"Private key (PEM) of --tls-cert."`
	Storage          *string        `name:"storage" env:"OSPREY_STORAGE" placeholder:"URL" help:"Where media, sources and uploads are stored: file:DIR or s3://BUCKET[/PREFIX]?endpoint=URL&region=R&path_style=true (credentials from the AWS SDK chain, e.g. AWS_ACCESS_KEY_ID); default: file:<data>/media."`
	Catalog          *string        `name:"catalog" env:"OSPREY_CATALOG" placeholder:"URL" help:"Metadata and job queue: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=…; default: SQLite in the data directory."`
	Events           *string        `name:"events" env:"OSPREY_EVENTS" placeholder:"URL" help:"Events between nodes: nats://HOST:PORT (JetStream), several separated by commas, options on the first: ?stream=NAME&subject_prefix=P&replicas=N; default: in-process."`
	Roles            *string        `name:"roles" env:"OSPREY_ROLES" placeholder:"LIST" help:"Comma-separated roles of this process: ingest, origin, api, worker, or all (default \"${default_roles}\")."`
	NodeID           *string        `name:"node-id" env:"OSPREY_NODE_ID" placeholder:"ID" help:"Name of this process in a cluster (leases, jobs, logs); default: the host name."`
	AdvertiseURL     *string        `name:"advertise-url" env:"OSPREY_ADVERTISE_URL" placeholder:"URL" help:"Where the other nodes of a cluster reach this node's HTTP address, http(s)://HOST:PORT (origin nodes fetch live channels' low-latency parts from the ingest node); default: this host's address and the HTTP port."`
	IngestRTMPURL    *string        `name:"ingest-rtmp-url" env:"OSPREY_INGEST_RTMP_URL" placeholder:"URL" help:"Base of the RTMP ingest URLs the API hands out, e.g. rtmp://ingest.example.com:1935/live; default: the public URL's host and the --rtmp port."`
	IngestSRTURL     *string        `name:"ingest-srt-url" env:"OSPREY_INGEST_SRT_URL" placeholder:"URL" help:"Base of the SRT ingest URLs the API hands out, e.g. srt://ingest.example.com:9000; default: the public URL's host and the --srt port."`
	MetricsAddr      *string        `name:"metrics-addr" env:"OSPREY_METRICS_ADDR" placeholder:"ADDR" help:"Serve /metrics only on this address, without authentication; empty: /metrics on the HTTP address, behind the admin token (default \"\")."`
}

func (s *serveCmd) Help() string {
	return `The admin token for the API comes from OSPREY_ADMIN_TOKEN; without it, Osprey
generates one on first start into <data>/admin-token (mode 0600).
SIGINT or SIGTERM shuts down gracefully; a second one stops at once.
SIGHUP reloads the TLS certificate (it is also reloaded when its files change).`
}

// Run builds the configuration, sets up logging and signals, and serves.
func (s *serveCmd) Run(env *runEnv) error {
	if env.opts.Serve == nil {
		return fmt.Errorf("this build of osprey cannot serve")
	}
	cfg, err := s.buildConfig()
	if err != nil {
		return usageError{err}
	}
	log := newLogger(env.stderr, cfg.LogLevel, cfg.LogFormat)
	return serveWithSignals(env.ctx, log, func(ctx context.Context, reload <-chan struct{}) error {
		return env.opts.Serve(ctx, cfg, log, reload)
	})
}

// buildConfig lays the flags and environment variables over the config file
// over the defaults, adds OSPREY_ADMIN_TOKEN, and validates the result.
func (s *serveCmd) buildConfig() (config.Config, error) {
	cfg, err := config.Load(s.Config)
	if err != nil {
		return config.Config{}, err
	}
	set(&cfg.DataDir, s.Data)
	set(&cfg.HTTPAddr, s.HTTP)
	set(&cfg.RTMPAddr, s.RTMP)
	set(&cfg.SRTAddr, s.SRT)
	set(&cfg.PublicURL, s.PublicURL)
	set(&cfg.LogLevel, s.LogLevel)
	set(&cfg.LogFormat, s.LogFormat)
	set(&cfg.CORSOrigin, s.CORSOrigin)
	set(&cfg.Live.SegmentDuration, s.SegmentDuration)
	set(&cfg.Live.PartDuration, s.PartDuration)
	set(&cfg.Live.KeyframeInterval, s.KeyframeInterval)
	set(&cfg.Live.Window, s.Window)
	set(&cfg.Live.DVRWindow, s.DVRWindow)
	set(&cfg.Live.Ladder, s.Ladder)
	set(&cfg.Live.ShedLoad, s.ShedLoad)
	set(&cfg.FFmpeg.Path, s.FFmpeg)
	set(&cfg.Security.TLSCert, s.TLSCert)
	set(&cfg.Security.TLSKey, s.TLSKey)
	set(&cfg.Security.MetricsAddr, s.MetricsAddr)
	set(&cfg.Storage, s.Storage)
	set(&cfg.Catalog, s.Catalog)
	set(&cfg.Events, s.Events)
	set(&cfg.Roles, s.Roles)
	set(&cfg.NodeID, s.NodeID)
	set(&cfg.AdvertiseURL, s.AdvertiseURL)
	set(&cfg.Ingest.RTMPURL, s.IngestRTMPURL)
	set(&cfg.Ingest.SRTURL, s.IngestSRTURL)
	cfg.AdminToken = strings.TrimSpace(os.Getenv("OSPREY_ADMIN_TOKEN"))
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("invalid configuration (keys as in the config file):\n  %s",
			strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return cfg, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// newLogger returns a logger writing text or JSON at level to w. The level
// and format were validated with the configuration.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveWithSignals runs serve with a context that SIGINT and SIGTERM cancel.
// After the first signal the default handling is restored, so a second one
// ends the process at once if the graceful shutdown hangs. SIGHUP asks for
// the TLS certificate to be read again: serve's reload channel receives a
// value (one pending at most).
func serveWithSignals(parent context.Context, log *slog.Logger, serve func(ctx context.Context, reload <-chan struct{}) error) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-hup:
				log.Info("SIGHUP received; reloading the TLS certificate")
				select {
				case reload <- struct{}{}:
				default: // one is already pending
				}
			case <-done:
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-done:
			// serve may return before this goroutine sees the signal:
			// both are ready then, and select picks either.
			if ctx.Err() == nil {
				return
			}
		}
		stop()
		if parent.Err() == nil {
			log.Info("signal received; shutting down gracefully (send another to stop at once)")
		}
	}()
	err := serve(ctx, reload)
	close(done)
	wg.Wait()
	return err
}
