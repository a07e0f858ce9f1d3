package httpguard

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server returns an http.Server for handler with the guard's header
// timeout (which also bounds the TLS handshake), idle timeout and header
// size limit. It sets no ReadTimeout or WriteTimeout, which would cap
// whole uploads and downloads: Wrap's progress deadlines cut stalled
// clients instead.
func (g *Guard) Server(handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: g.opts.ReadHeaderTimeout,
		IdleTimeout:       g.opts.IdleTimeout,
		MaxHeaderBytes:    g.opts.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Listener caps ln's connections (max_connections, and
// max_connections_per_ip for every address but trusted proxies and
// unlimited clients) and, when
// certs is not nil, serves TLS over them with HTTP/2 offered by ALPN.
func (g *Guard) Listener(ln net.Listener, certs *CertSource) net.Listener {
	var warned sync.Mutex
	var last time.Time
	uncounted := append(append(proxies(nil), g.trusted.p...), g.exempt...)
	capped := newCapListener(ln, g.opts.MaxConnections, g.opts.MaxConnectionsPerIP, uncounted, func(reason string) {
		g.metrics.connections.WithLabelValues(reason).Inc()
		warned.Lock()
		defer warned.Unlock()
		if now := time.Now(); now.Sub(last) >= 10*time.Second {
			last = now
			g.log.Warn("refusing HTTP connections over the cap", "cap", reason, "listener", ln.Addr().String())
		}
	})
	if certs == nil {
		return capped
	}
	return tls.NewListener(capped, certs.TLSConfig())
}
