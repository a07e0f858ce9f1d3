// Package app is Osprey's composition root: it builds every stage from the
// configuration, wires them together and owns their lifecycle.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/config"
	ingestfront "github.com/ospreyvideo/osprey/internal/ingest/front"
	"github.com/ospreyvideo/osprey/internal/ingest/rtmp"
	"github.com/ospreyvideo/osprey/internal/ingest/srt"
	"github.com/ospreyvideo/osprey/internal/live"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/storage/fs"
	"github.com/ospreyvideo/osprey/internal/transcode"
	"github.com/ospreyvideo/osprey/internal/web"
)

// Run serves every role of Osprey in this process until ctx is done, then
// shuts down gracefully: publishers are disconnected, the last segments are
// packaged and the playlists ended before the HTTP server stops. Each value
// received on reload (the CLI sends one on SIGHUP; nil never delivers)
// re-reads the TLS certificate.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, reload <-chan struct{}) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	ffmpeg, err := exec.LookPath(cfg.FFmpeg.Path)
	if err != nil {
		return fmt.Errorf("ffmpeg not found (%q): install it (Debian: apt install ffmpeg) or set --ffmpeg: %w", cfg.FFmpeg.Path, err)
	}
	ladder, ok := cfg.Ladders[cfg.Live.Ladder]
	if !ok {
		return fmt.Errorf("live ladder %q is not defined", cfg.Live.Ladder)
	}
	unlock, err := openDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	store, err := fs.New(filepath.Join(cfg.DataDir, "media"))
	if err != nil {
		return fmt.Errorf("opening media storage: %w", err)
	}
	cat, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "osprey.db"), log)
	if err != nil {
		return fmt.Errorf("opening the catalog: %w", err)
	}
	defer cat.Close()
	token, err := api.LoadOrCreateAdminToken(cfg.DataDir, cfg.AdminToken, log)
	if err != nil {
		return err
	}
	vodStack, err := startVOD(ctx, cfg, ffmpeg, cat, store, log)
	if err != nil {
		return fmt.Errorf("starting the VoD pipeline: %w", err)
	}
	defer vodStack.stop()

	mgr := live.NewManager(live.Config{
		Ladder:     ladder.WithDefaults(),
		Transcode:  transcode.Config{FFmpegPath: ffmpeg, SegmentDuration: cfg.Live.SegmentDuration},
		Packager:   packager.Config{SegmentDuration: cfg.Live.SegmentDuration, Window: cfg.Live.Window, TimeURL: "/time"},
		NoShedding: !cfg.Live.ShedLoad,
	}, cat, store, log)

	chans, err := cat.ListChannels(ctx)
	if err != nil {
		return fmt.Errorf("listing channels: %w", err)
	}
	ids := make([]string, len(chans))
	for i, ch := range chans {
		ids[i] = ch.ID
	}
	mgr.Recover(ctx, ids)

	front, err := openFrontDoor(ctx, cfg.Security, cfg.Security.TLSCert, cfg.Security.TLSKey, token, log, reload)
	if err != nil {
		return err
	}
	defer front.close()
	// Listen first, so that a taken port is an error before anything runs.
	rawLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening for HTTP: %w", err)
	}
	httpLn := front.listener(rawLn)
	var rtmpSrv *rtmp.Server
	var srtSrv *srt.Server
	var stopOnce sync.Once
	// stopIngest closes the listeners, which ends every publication, and
	// waits for the sessions to finish their playlists.
	stopIngest := func() {
		stopOnce.Do(func() {
			if rtmpSrv != nil {
				rtmpSrv.Close()
			}
			if srtSrv != nil {
				srtSrv.Close()
			}
			wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := mgr.Wait(wctx); err != nil {
				log.Warn("live sessions did not end in time", "err", err)
			}
		})
	}
	defer stopIngest()
	var rtmpAddr, srtAddr string
	door := ingestfront.Config{
		MaxConns:         cfg.Ingest.MaxConnections,
		MaxConnsPerIP:    cfg.Ingest.MaxConnectionsPerIP,
		HandshakeTimeout: cfg.Ingest.HandshakeTimeout,
		IdleTimeout:      cfg.Ingest.IdleTimeout,
	}
	if cfg.RTMPAddr != "" {
		rtmpSrv = rtmp.New(rtmp.Config{Addr: cfg.RTMPAddr, Front: door}, mgr, log)
		if err := rtmpSrv.Start(); err != nil {
			httpLn.Close()
			return fmt.Errorf("starting RTMP ingest: %w", err)
		}
		rtmpAddr = rtmpSrv.Addr().String()
	}
	if cfg.SRTAddr != "" {
		srtSrv = srt.New(srt.Config{Addr: cfg.SRTAddr, Front: door}, mgr, log)
		if err := srtSrv.Start(); err != nil {
			httpLn.Close()
			return fmt.Errorf("starting SRT ingest: %w", err)
		}
		srtAddr = srtSrv.Addr().String()
	}

	requireName, requireValue := "", ""
	if cfg.Origin.RequireHeader != "" {
		requireName, requireValue, _ = config.ParseHeaderLine(cfg.Origin.RequireHeader) // validated
	}
	orig := origin.New(store, origin.Config{
		AllowOrigin:     cfg.CORSOrigin,
		SegmentDuration: cfg.Live.SegmentDuration,
		PublicURL:       cfg.PublicURL,
		RequireHeader:   requireName,
		RequireValue:    requireValue,
	}, log)
	var edgeHandler http.Handler
	var gatherers []prometheus.Gatherer
	if cfg.Edge.Enabled {
		e, stopEdge, err := localEdge(cfg, orig, token, front.guard.TrustedProxies(), log)
		if err != nil {
			httpLn.Close()
			return fmt.Errorf("starting the edge: %w", err)
		}
		defer stopEdge()
		edgeHandler = e
		gatherers = append(gatherers, e.Registry())
	}
	metrics := front.metricsHandler(gatherers...)
	metricsAddr, stopMetrics, err := front.serveMetrics(metrics, log)
	if err != nil {
		httpLn.Close()
		return err
	}
	defer stopMetrics()

	handler := routes(routeDeps{
		api: api.New(api.Deps{
			Catalog:    cat,
			Live:       mgr,
			VOD:        vodStack.vod,
			Intake:     vodStack.intake,
			AdminToken: token,
			PublicURL:  cfg.PublicURL,
			RTMPAddr:   rtmpAddr,
			SRTAddr:    srtAddr,
			Log:        log,

			AllowPrivateWebhooks: cfg.Webhooks.AllowPrivateURLs,
		}),
		origin:  orig,
		edge:    edgeHandler,
		metrics: front.mainPortMetrics(metrics),
		web: web.New(web.Config{
			ChannelExists: func(ctx context.Context, id string) (bool, error) {
				_, err := cat.GetChannel(ctx, id)
				if errors.Is(err, catalog.ErrNotFound) {
					return false, nil
				}
				return err == nil, err
			},
			Logger:       log,
			EmbedOrigins: cfg.Security.EmbedOrigins,
		}),
	})
	srv, serveErr := front.serveHTTP(httpLn, front.handler(serveClass, handler), log)
	log.Info("osprey is serving",
		"http", httpLn.Addr().String(), "scheme", front.scheme(), "rtmp", rtmpAddr, "srt", srtAddr,
		"metrics", metricsAddr, "data", cfg.DataDir, "ladder", cfg.Live.Ladder, "edge", cfg.Edge.Enabled)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		return fmt.Errorf("HTTP server: %w", err)
	}
	// Ingest ends first, so the last playlists are written while HTTP
	// still serves them.
	stopIngest()
	sctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down HTTP: %w", err)
	}
	return nil
}
