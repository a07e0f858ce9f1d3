package app

import (
	"net/http"
	"strings"

	"github.com/ospreyvideo/osprey/internal/httpguard"
	"github.com/ospreyvideo/osprey/internal/origin"
)

// routeDeps are the HTTP surfaces of a node; those its roles do not
// include are nil and answer 404.
type routeDeps struct {
	health http.Handler // /healthz and /readyz, on every node
	api    http.Handler // api role
	origin interface {
		http.Handler
		TimeHandler() http.Handler
	} // origin role
	// edge, when set, answers /live/ and /vod/ in front of the origin, and
	// serves its invalidation API.
	edge http.Handler
	// invalidations, on an API node without a local edge, publishes
	// edge invalidations to the edges on the events bus.
	invalidations http.Handler
	web           http.Handler // origin or api role: console and /watch
	// peer, on an ingest node without the origin role, answers the other
	// nodes' origins (origin.PeerHeader) from its sessions' memory.
	peer http.Handler
	// metrics answers /metrics on this port: behind the admin token, or a
	// 404 when metrics have their own address (see metricsFront).
	metrics http.Handler
}

// routes mounts the HTTP surfaces of a node's roles.
func routes(d routeDeps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/healthz", d.health)
	mux.Handle("/readyz", d.health)
	if d.api != nil {
		mux.Handle("/api/", d.api)
	}
	if d.origin != nil {
		media := http.Handler(d.origin)
		if d.edge != nil {
			media = peersToOrigin(d.edge, d.origin)
		}
		mux.Handle("/live/", media)
		mux.Handle("/vod/", media)
		mux.Handle("/time", d.origin.TimeHandler())
	} else if d.peer != nil {
		mux.Handle("/live/", peersToOrigin(http.NotFoundHandler(), d.peer))
	}
	if d.edge != nil {
		mux.Handle("/api/v1/edge/", d.edge)
	} else if d.invalidations != nil {
		mux.Handle("/api/v1/edge/invalidations", d.invalidations)
	}
	if d.metrics != nil {
		mux.Handle("/metrics", d.metrics)
	}
	if d.web != nil {
		mux.Handle("/", d.web)
	}
	return mux
}

// peersToOrigin sends the other nodes' requests (origin.PeerHeader) to the
// origin itself, and the rest to h: a peer's request must not be cached or
// answered by this node's edge.
func peersToOrigin(h, orig http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(origin.PeerHeader) != "" {
			orig.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serveClass sorts a request to `osprey serve` into its route class for
// the front door's limits and rules.
func serveClass(r *http.Request) httpguard.Class {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/readyz":
		return httpguard.ClassOpen
	case strings.HasPrefix(p, "/live/") || strings.HasPrefix(p, "/vod/") || p == "/time":
		return httpguard.ClassMedia
	case p == "/metrics":
		return httpguard.ClassMetrics
	case strings.HasPrefix(p, "/api/"):
		if isUpload(r) {
			return httpguard.ClassUpload
		}
		return httpguard.ClassAPI
	}
	return httpguard.ClassWeb
}

// isUpload reports the API requests that carry files, which keep their own
// size limits: tus, multipart asset creation and subtitle tracks.
func isUpload(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case p == "/api/v1/uploads" || strings.HasPrefix(p, "/api/v1/uploads/"):
		return true
	case r.Method == http.MethodPost && p == "/api/v1/assets":
		return strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/")
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/v1/assets/") && strings.HasSuffix(p, "/subtitles"):
		return true
	}
	return false
}

// edgeClass sorts a request to `osprey edge`.
func edgeClass(r *http.Request) httpguard.Class {
	p := r.URL.Path
	switch {
	case p == "/healthz" || p == "/readyz":
		return httpguard.ClassOpen
	case p == "/metrics":
		return httpguard.ClassMetrics
	case strings.HasPrefix(p, "/api/"):
		return httpguard.ClassAPI
	}
	return httpguard.ClassMedia
}
