package app

import "net/http"

type routeDeps struct {
	api    http.Handler
	origin interface {
		http.Handler
		TimeHandler() http.Handler
	}
	// edge, when set, answers /live/ and /vod/ in front of the origin, and
	// serves its invalidation API and /metrics.
	edge http.Handler
	web  http.Handler
}

// routes mounts every HTTP surface of a single-process Osprey.
func routes(d routeDeps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", d.api)
	mux.Handle("/healthz", d.api)
	mux.Handle("/readyz", d.api)
	media := http.Handler(d.origin)
	if d.edge != nil {
		media = d.edge
		mux.Handle("/api/v1/edge/", d.edge)
		mux.Handle("/metrics", d.edge)
	}
	mux.Handle("/live/", media)
	mux.Handle("/vod/", media)
	mux.Handle("/time", d.origin.TimeHandler())
	mux.Handle("/", d.web)
	return mux
}
