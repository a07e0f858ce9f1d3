package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/config"
	"github.com/ospreyvideo/osprey/internal/edge"
	"github.com/ospreyvideo/osprey/internal/edge/cache"
	"github.com/ospreyvideo/osprey/internal/edge/signedurl"
	"github.com/ospreyvideo/osprey/internal/events"
	natsbus "github.com/ospreyvideo/osprey/internal/events/nats"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// RunEdge runs `osprey edge`: the caching edge alone, in front of
// cfg.Origins, until ctx is done. adminToken comes from OSPREY_ADMIN_TOKEN
// ("" : read or create <data>/admin-token). Each value received on reload
// (the CLI sends one on SIGHUP; nil never delivers) re-reads the TLS
// certificate.
func RunEdge(ctx context.Context, cfg config.Edge, adminToken string, log *slog.Logger, reload <-chan struct{}) error {
	if errs := cfg.Validate("", true); len(errs) > 0 {
		return errors.Join(errs...)
	}
	unlock, err := openDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	token, err := api.LoadOrCreateAdminToken(cfg.DataDir, adminToken, log)
	if err != nil {
		return err
	}
	accessLog, closeLog, err := openAccessLog(cfg.AccessLog)
	if err != nil {
		return err
	}
	defer closeLog()
	certFile, keyFile := cfg.TLSCert, cfg.TLSKey
	if certFile == "" {
		certFile, keyFile = cfg.Security.TLSCert, cfg.Security.TLSKey
	}
	front, err := openFrontDoor(ctx, cfg.Security, certFile, keyFile, token, log, reload)
	if err != nil {
		return err
	}
	defer front.close()
	ecfg, err := edgeConfig(cfg, filepath.Join(cfg.DataDir, "cache"), token, accessLog, log)
	if err != nil {
		return err
	}
	ecfg.Origins = cfg.Origins
	ecfg.TrustedProxies = front.guard.TrustedProxies()
	bus, nodeID, err := openEdgeBus(ctx, cfg, log)
	if err != nil {
		return err
	}
	ecfg.NodeID = nodeID
	if bus != nil {
		defer bus.Close() // after the edge's Close (defers run last first)
		ecfg.Events = bus
	}
	e, err := edge.New(ecfg)
	if err != nil {
		return err
	}
	defer e.Close()
	rawLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listening for HTTP: %w", err)
	}
	ln := front.listener(rawLn)
	metrics := front.metricsHandler(e.Registry())
	metricsAddr, stopMetrics, err := front.serveMetrics(metrics, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer stopMetrics()
	handler := front.handler(edgeClass, edgeRoutes(e, front.mainPortMetrics(metrics), front.admin))
	srv, serveErr := front.serveHTTP(ln, handler, log)
	st := e.CacheStats()
	log.Info("osprey edge is serving", "http", ln.Addr().String(), "scheme", front.scheme(), "metrics", metricsAddr, "origins", cfg.Origins,
		"cache_memory", config.ByteSize(st.MemoryLimit).String(), "cache_disk", config.ByteSize(st.DiskLimit).String(),
		"cached_objects", st.DiskObjects, "data", cfg.DataDir, "events", natsbus.Redact(cfg.Events), "node", nodeID)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveErr:
		return fmt.Errorf("HTTP server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down HTTP: %w", err)
	}
	return nil
}

// openEdgeBus opens the NATS bus of `osprey edge --events` (nil without
// one; events.Local would only talk to this edge) and resolves the node ID
// (default: the host name, as serve's). An unreachable server fails the
// start, naming its address.
func openEdgeBus(ctx context.Context, cfg config.Edge, log *slog.Logger) (*natsbus.Bus, string, error) {
	nodeID, err := resolveNodeID(cfg.NodeID)
	if err != nil {
		nodeID = cfg.Name // no host name: the edge's own name
	}
	if cfg.Events == "" {
		return nil, nodeID, nil
	}
	bus, err := natsbus.Open(ctx, cfg.Events, natsbus.Options{NodeID: nodeID}, log)
	if err != nil {
		return nil, "", fmt.Errorf("events: %w", err)
	}
	return bus, nodeID, nil
}

// edgeRoutes puts the front door's rules on the edge's own endpoints:
// /metrics as metrics says, /readyz its own (ok while it runs), and /healthz minimal ({"status":"ok"}) unless
// the admin token comes with it (the edge's report names its origins and
// cache sizes). Everything else goes to the edge.
func edgeRoutes(e http.Handler, metrics http.Handler, admin httpguard.Bearer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			metrics.ServeHTTP(w, r)
		case "/readyz":
			// An edge serves from its cache and its origins whatever its
			// event bus does (invalidations wait for NATS); never the
			// origin's own readiness.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte("ok\n"))
		case "/healthz":
			if admin.Authorized(r) {
				e.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write([]byte("{\"status\":\"ok\"}\n"))
		default:
			e.ServeHTTP(w, r)
		}
	})
}

// edgeConfig maps the configuration onto edge.Config (origins aside).
func edgeConfig(cfg config.Edge, cacheDir, token string, accessLog io.Writer, log *slog.Logger) (edge.Config, error) {
	ec := edge.Config{
		Name: cfg.Name,
		Cache: cache.Config{
			MemoryBytes: int64(cfg.CacheMemory),
			DiskBytes:   int64(cfg.CacheDisk),
		},
		MaxObjectSize:        int64(cfg.MaxObjectSize),
		KeyQuery:             cfg.CacheKeyQuery,
		NegativeTTL:          cfg.NegativeTTL,
		StaleIfError:         cfg.StaleIfError,
		StaleWhileRevalidate: cfg.StaleWhileRevalidate,
		ConnectTimeout:       cfg.OriginConnectTimeout,
		OriginTimeout:        cfg.OriginTimeout,
		OriginRetryAfter:     cfg.OriginRetryAfter,
		HoldTimeout:          cfg.OriginHoldTimeout,
		OriginHealthPath:     cfg.OriginHealthPath,
		OriginHeader:         http.Header{},
		RequireSigned:        cfg.RequireSigned,
		AdminToken:           token,
		AccessLog:            accessLog,
		Log:                  log,
	}
	if cfg.CacheDisk > 0 {
		ec.Cache.Dir = cacheDir
	}
	for _, rule := range cfg.TTL {
		pattern, ttl, err := config.ParseTTLRule(rule)
		if err != nil {
			return edge.Config{}, err
		}
		ec.TTL = append(ec.TTL, edge.TTLRule{Pattern: pattern, TTL: ttl})
	}
	for _, line := range cfg.OriginHeaders {
		name, value, err := config.ParseHeaderLine(line)
		if err != nil {
			return edge.Config{}, err
		}
		ec.OriginHeader.Add(name, value)
	}
	if len(cfg.TrustedKeys) > 0 {
		keys := signedurl.NewKeySet()
		for _, spec := range cfg.TrustedKeys {
			if err := keys.AddSpec(spec); err != nil {
				return edge.Config{}, err
			}
		}
		ec.Verifier = &signedurl.Verifier{Keys: keys}
	}
	return ec, nil
}

// openAccessLog opens the access log destination: "" none, "-" standard
// output, else a file opened for appending.
func openAccessLog(dest string) (io.Writer, func(), error) {
	switch dest {
	case "":
		return nil, func() {}, nil
	case "-":
		return os.Stdout, func() {}, nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the access log: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// localEdgeOnBus is the edge in front of the local origin inside `osprey
// serve`, behind the front door whose trusted proxies it is given. With bus
// (serve's own, Local or NATS; nil for none) it shares invalidations with
// the other edges and API nodes as nodeID; the caller closes bus after the
// edge (the returned stop).
func localEdgeOnBus(cfg config.Config, originHandler http.Handler, token string, trusted httpguard.TrustedProxies,
	bus events.Bus, nodeID string, log *slog.Logger) (*edge.Edge, func(), error) {
	accessLog, closeLog, err := openAccessLog(cfg.Edge.AccessLog)
	if err != nil {
		return nil, nil, err
	}
	ec, err := edgeConfig(cfg.Edge, filepath.Join(cfg.DataDir, "edge-cache"), token, accessLog, log)
	if err != nil {
		closeLog()
		return nil, nil, err
	}
	ec.Origins = []string{"http://origin.local"}
	ec.TrustedProxies = trusted
	ec.Transport = edge.HandlerTransport{Handler: originHandler}
	ec.OriginHealthPath = ""
	if bus != nil {
		ec.Events, ec.NodeID = bus, nodeID
	}
	e, err := edge.New(ec)
	if err != nil {
		closeLog()
		return nil, nil, err
	}
	return e, func() { e.Close(); closeLog() }, nil
}
