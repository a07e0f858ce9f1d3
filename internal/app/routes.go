package app

import "net/http"

type routeDeps struct {
	api    http.Handler
	origin interface {
		http.Handler
		TimeHandler() http.Handler
	}
	web http.Handler
}

// routes mounts every HTTP surface of a single-process Osprey.
func routes(d routeDeps) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", d.api)
	mux.Handle("/healthz", d.api)
	mux.Handle("/readyz", d.api)
	mux.Handle("/live/", d.origin)
	mux.Handle("/vod/", d.origin)
	mux.Handle("/time", d.origin.TimeHandler())
	mux.Handle("/", d.web)
	return mux
}
