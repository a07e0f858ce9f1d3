// Package app is Osprey's composition root: it builds every stage from the
// configuration, wires them together and owns their lifecycle.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/clip"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/edge"
	"github.com/ospreyvideo/osprey/internal/health"
	"github.com/ospreyvideo/osprey/internal/httpguard"
	ingestfront "github.com/ospreyvideo/osprey/internal/ingest/front"
	"github.com/ospreyvideo/osprey/internal/ingest/rtmp"
	"github.com/ospreyvideo/osprey/internal/ingest/srt"
	"github.com/ospreyvideo/osprey/internal/jobs"
	"github.com/ospreyvideo/osprey/internal/live"
	"github.com/ospreyvideo/osprey/internal/origin"
	"github.com/ospreyvideo/osprey/internal/packager"
	"github.com/ospreyvideo/osprey/internal/transcode"
	"github.com/ospreyvideo/osprey/internal/web"
	"github.com/ospreyvideo/osprey/internal/webhook"
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
	nodeID, err := resolveNodeID(cfg.NodeID)
	if err != nil {
		return err
	}
	if err := checkTopology(cfg); err != nil {
		return err
	}
	has := cfg.HasRole
	log = log.With("node", nodeID)
	ffmpeg := ""
	if has(config.RoleIngest) || has(config.RoleAPI) || has(config.RoleWorker) {
		if ffmpeg, err = exec.LookPath(cfg.FFmpeg.Path); err != nil {
			return fmt.Errorf("ffmpeg not found (%q): install it (Debian: apt install ffmpeg) or set --ffmpeg: %w", cfg.FFmpeg.Path, err)
		}
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

	d, err := openDeps(ctx, cfg, nodeID, log)
	if err != nil {
		return err
	}
	defer d.close()
	store, cat := d.store, d.cat
	token, err := api.LoadOrCreateAdminToken(cfg.DataDir, cfg.AdminToken, log)
	if err != nil {
		return err
	}
	var vodStack *vodStack
	if has(config.RoleAPI) || has(config.RoleWorker) {
		vodStack, err = startVOD(ctx, cfg, ffmpeg, d, log)
		if err != nil {
			return fmt.Errorf("starting the VoD pipeline: %w", err)
		}
		defer vodStack.stop()
	}

	// Clips and recordings: VoD assets made of a live channel's stored
	// segments (ready when made: no job).
	clipCfg := clip.Config{Catalog: cat, Storage: store, FFmpeg: ffmpeg, TempDir: filepath.Join(cfg.DataDir, "tmp"), Log: log,
		Present: func(a catalog.Asset) any { return api.AssetJSON(cfg.PublicURL, a) }}
	switch {
	case vodStack != nil:
		clipCfg.Notify = vodStack.notifier // webhooks (asset.ready) on nodes that queue them
	case has(config.RoleIngest) && d.pgCat != nil:
		// An ingest-only node queues its recordings' webhooks on the
		// shared job queue, for the worker nodes to deliver.
		queue, err := d.openQueue(ctx, jobs.Config{}, log)
		if err != nil {
			return fmt.Errorf("opening the job queue for webhooks: %w", err)
		}
		clipCfg.Notify = &webhook.Notifier{Store: cat, Queue: queue, Log: log}
	}
	clips, err := clip.New(clipCfg)
	if err != nil {
		return err
	}
	if has(config.RoleAPI) || has(config.RoleIngest) {
		// The nodes making clips (api) and recordings (ingest) fail
		// those whose maker died.
		reapCtx, stopReaping := context.WithCancel(ctx)
		reaped := make(chan struct{})
		go func() { defer close(reaped); clips.Run(reapCtx) }()
		defer func() { stopReaping(); <-reaped }()
	}
	var mgr *live.Manager
	if has(config.RoleIngest) {
		mgr = live.NewManager(live.Config{
			Ladder:     TranscodeLadder(ladder.WithDefaults()),
			Transcode:  transcode.Config{FFmpegPath: ffmpeg, SegmentDuration: cfg.Live.SegmentDuration, KeyframeInterval: cfg.Live.Keyframes()},
			Packager:   packager.Config{SegmentDuration: cfg.Live.SegmentDuration, Window: cfg.Live.Window, TimeURL: "/time", ContinueGrace: continueGrace(cfg.Live.ContinueGrace), PartDuration: cfg.Live.PartDuration, DVRWindow: cfg.Live.DVRWindow},
			NoShedding: !cfg.Live.ShedLoad,
			Leases:     d.leaser,
			Recorder:   clips,
		}, cat, store, log)
		chans, err := cat.ListChannels(ctx)
		if err != nil {
			return fmt.Errorf("listing channels: %w", err)
		}
		mgr.Recover(ctx, chans)
		defer mgr.Close() // the check that ends sessions nobody resumed
	}
	var liveView *live.Cluster
	if has(config.RoleIngest) || has(config.RoleAPI) || has(config.RoleOrigin) {
		// The API's view of live channels on every ingest node, this
		// node's sessions announced to the others, and where origins find
		// the low-latency edge of channels packaged elsewhere.
		liveView, err = live.NewCluster(ctx, live.ClusterConfig{Local: mgr, Bus: d.bus, Leases: d.leaser, Store: store,
			NodeID: nodeID, Log: log})
		if err != nil {
			return err
		}
		defer liveView.Close()
	}

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
	if liveView != nil && mgr != nil {
		// Where the other nodes' origins fetch this node's low-latency edge.
		adv, err := advertiseURL(&cfg, rawLn.Addr())
		if err != nil {
			httpLn.Close()
			return err
		}
		liveView.Advertise(adv)
	}
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
			if mgr == nil {
				return
			}
			wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := mgr.Wait(wctx); err != nil {
				log.Warn("live sessions did not end in time", "err", err)
			}
		})
	}
	defer stopIngest()
	// Ingest URLs the API hands out name the configured ports even on a
	// node that does not listen on them (the ingest nodes do).
	rtmpAddr, srtAddr := cfg.RTMPAddr, cfg.SRTAddr
	var rtmpListen, srtListen string // bound addresses, "" when not listening here
	door := ingestfront.Config{
		MaxConns:         cfg.Ingest.MaxConnections,
		MaxConnsPerIP:    cfg.Ingest.MaxConnectionsPerIP,
		HandshakeTimeout: cfg.Ingest.HandshakeTimeout,
		IdleTimeout:      cfg.Ingest.IdleTimeout,
	}
	if mgr != nil && cfg.RTMPAddr != "" {
		rtmpSrv = rtmp.New(rtmp.Config{Addr: cfg.RTMPAddr, Front: door}, mgr, log)
		if err := rtmpSrv.Start(); err != nil {
			httpLn.Close()
			return fmt.Errorf("starting RTMP ingest: %w", err)
		}
		rtmpAddr = rtmpSrv.Addr().String()
		rtmpListen = rtmpAddr
	}
	if mgr != nil && cfg.SRTAddr != "" {
		srtSrv = srt.New(srt.Config{Addr: cfg.SRTAddr, Front: door}, mgr, log)
		if err := srtSrv.Start(); err != nil {
			httpLn.Close()
			return fmt.Errorf("starting SRT ingest: %w", err)
		}
		srtAddr = srtSrv.Addr().String()
		srtListen = srtAddr
	}

	rd := routeDeps{health: health.New(d.readiness(cfg), httpguard.NewBearer(token).Authorized, log)}
	var gatherers []prometheus.Gatherer
	if has(config.RoleOrigin) {
		requireName, requireValue := "", ""
		if cfg.Origin.RequireHeader != "" {
			requireName, requireValue, _ = config.ParseHeaderLine(cfg.Origin.RequireHeader) // validated
		}
		originSt, oc, err := openOriginCache(ctx, cfg, store, d.bus, log)
		if err != nil {
			httpLn.Close()
			return err
		}
		if oc != nil {
			defer oc.close()
			gatherers = append(gatherers, oc.gatherer())
		}
		ocfg := origin.Config{
			AllowOrigin:     cfg.CORSOrigin,
			SegmentDuration: cfg.Live.SegmentDuration,
			PublicURL:       cfg.PublicURL,
			RequireHeader:   requireName,
			RequireValue:    requireValue,
		}
		if mgr != nil {
			// The low-latency edge (parts, blocking reloads, segments
			// being produced) of the sessions packaged on this node.
			ocfg.Live = mgr
		}
		if liveView != nil && cfg.Live.PartDuration > 0 {
			// ... and of those packaged on other nodes, from their origins.
			ocfg.Peer = live.NewPeerSource(live.PeerConfig{Cluster: liveView, RequireName: requireName, RequireValue: requireValue, Log: log})
		}
		orig := origin.New(originSt, ocfg, log)
		rd.origin = orig
		if cfg.Edge.Enabled {
			e, stopEdge, err := localEdgeOnBus(cfg, orig, token, front.guard.TrustedProxies(), d.bus, nodeID, log)
			if err != nil {
				httpLn.Close()
				return fmt.Errorf("starting the edge: %w", err)
			}
			defer stopEdge()
			rd.edge = e
			gatherers = append(gatherers, e.Registry())
		}
	}
	if !has(config.RoleOrigin) && mgr != nil {
		// The other nodes' origins fetch this node's low-latency edge.
		requireName, requireValue := "", ""
		if cfg.Origin.RequireHeader != "" {
			requireName, requireValue, _ = config.ParseHeaderLine(cfg.Origin.RequireHeader) // validated
		}
		rd.peer = origin.New(store, origin.Config{SegmentDuration: cfg.Live.SegmentDuration, Live: mgr,
			RequireHeader: requireName, RequireValue: requireValue}, log)
	}
	metrics := front.metricsHandler(gatherers...)
	metricsAddr, stopMetrics, err := front.serveMetrics(metrics, log)
	if err != nil {
		httpLn.Close()
		return err
	}
	defer stopMetrics()
	rd.metrics = front.mainPortMetrics(metrics)

	if has(config.RoleAPI) {
		deps := api.Deps{
			Catalog:    cat,
			VOD:        announcingVOD{Service: vodStack.vod, bus: d.bus, log: log},
			Intake:     vodStack.intake,
			AdminToken: token,
			PublicURL:  cfg.PublicURL,
			RTMPAddr:   rtmpAddr,
			SRTAddr:    srtAddr,
			RTMPURL:    cfg.Ingest.RTMPURL,
			SRTURL:     cfg.Ingest.SRTURL,
			Log:        log,

			AllowPrivateWebhooks: cfg.Webhooks.AllowPrivateURLs,
		}
		deps.Live = liveView
		deps.Clips = clips
		deps.DVRWindow = cfg.Live.DVRWindow
		deps.LiveWindow = time.Duration(cfg.Live.Window) * cfg.Live.SegmentDuration
		rd.api = api.New(deps)
		if rd.edge == nil && cfg.Events != "" {
			// Invalidations posted here reach the edges on the bus.
			rd.invalidations = edge.NewInvalidationPublisher(d.bus, edge.PublisherConfig{AdminToken: token, NodeID: nodeID, Log: log})
		}
	}
	if has(config.RoleOrigin) || has(config.RoleAPI) {
		rd.web = web.New(web.Config{
			ChannelExists: func(ctx context.Context, id string) (bool, error) {
				_, err := cat.GetChannel(ctx, id)
				if errors.Is(err, catalog.ErrNotFound) {
					return false, nil
				}
				return err == nil, err
			},
			Logger:       log,
			EmbedOrigins: cfg.Security.EmbedOrigins,
		})
	}
	srv, serveErr := front.serveHTTP(httpLn, front.handler(serveClass, routes(rd)), log)
	log.Info("osprey is serving",
		"roles", cfg.Roles, "http", httpLn.Addr().String(), "scheme", front.scheme(), "rtmp", rtmpListen, "srt", srtListen,
		"metrics", metricsAddr, "data", cfg.DataDir, "storage", storeWhere(store), "catalog", cfg.CatalogKind(),
		"events", eventsKind(cfg), "ladder", cfg.Live.Ladder, "edge", cfg.Edge.Enabled)

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
