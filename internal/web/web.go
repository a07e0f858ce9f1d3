// Package web serves Osprey's own pages: a landing page, the player page of a
// live channel, and the scripts and styles they load, all embedded in the
// binary.
//
// Routes (register the handler for all of them, e.g. as the mux's "/"):
//
//	GET /                  landing page
//	GET /watch/{channel}   player page; an unknown channel gets a 404 page
//	GET /watch/vod/{asset} on-demand player page (vod.go); a malformed ID gets a 404 page
//	GET /assets/{file}     embedded scripts and styles
//
// Every other GET answers a 404 page. HEAD works wherever GET does.
//
// The player page plays /live/{channel}/index.m3u8 with hls.js, or
// /live/{channel}/manifest.mpd with dash.js when asked for ?player=dash, and
// lets dash.js sync its clock only against /time. It loads no inline script,
// so it is served under a strict Content-Security-Policy. Pages link their
// assets by content-hashed names (hls.min.3f9a1c2b7e.js) served as immutable;
// plain names are served too, but revalidated.
//
// Sources: the page lives in web/src, the vendored players come from npm, and
// web/build.sh copies both into assets/, which is committed so that building
// Osprey never needs npm. assets/VENDOR.sha256 records where each vendored
// file came from; the package's tests hold the embedded files to it.
package web

import (
	"context"
	"log/slog"
	"net/http"
)

// Config is what the web pages need from the rest of Osprey.
type Config struct {
	// ChannelExists reports whether a live channel exists. Nil accepts every
	// well-formed channel ID.
	ChannelExists func(ctx context.Context, id string) (bool, error)
	// Logger receives request failures; nil discards them.
	Logger *slog.Logger
	// EmbedOrigins are the origins ("https://blog.example.com") whose pages
	// may embed the player pages in an iframe (CSP frame-ancestors); every
	// page may always be framed by this origin, and by no other.
	EmbedOrigins []string
}

// URLs the player page fetches, on the same origin as the page.
const (
	hlsPath  = "/live/%s/index.m3u8"
	dashPath = "/live/%s/manifest.mpd"
	timePath = "/time" // the MPD's UTCTiming source (urn:mpeg:dash:utc:http-iso:2014)
)

// New returns the handler for the routes above. It panics if the embedded
// assets are unusable, which the package's tests rule out.
func New(cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	assets, err := loadAssets()
	if err != nil {
		panic(err)
	}
	pages, err := parsePages(assets)
	if err != nil {
		panic(err)
	}
	pagePolicy, playerPolicy := newFramePolicies(cfg.EmbedOrigins)
	s := &server{
		pagePolicy:   pagePolicy,
		playerPolicy: playerPolicy,
		exists:       cfg.ChannelExists,
		log:          log.With("component", "web"),
		assets:       assets,
		pages:        pages,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /watch/{channel}", s.watch)
	mux.HandleFunc("GET /watch/vod/{asset}", s.watchVOD)
	mux.HandleFunc("GET /assets/{file}", s.asset)
	mux.HandleFunc("GET /", s.notFound)
	return mux
}

type server struct {
	pagePolicy, playerPolicy framePolicy

	exists func(ctx context.Context, id string) (bool, error)
	log    *slog.Logger
	assets *assetSet
	pages  *pageSet
}
