// Package api is Osprey's admin REST API, served under /api/v1 (the
// probes /healthz and /readyz are package health).
//
// Every /api/v1 request needs "Authorization: Bearer <admin token>"; see
// LoadOrCreateAdminToken for where the token comes from. Responses are JSON;
// errors have the shape {"error":{"code":"...","message":"..."}}.
//
//	GET    /api/v1/channels                  list channels: {"items":[...]}
//	POST   /api/v1/channels                  create: {"name":"..."} -> 201
//	GET    /api/v1/channels/{id}             one channel
//	PATCH  /api/v1/channels/{id}             change name, dvr_window, record -> 200
//	DELETE /api/v1/channels/{id}             disconnect, delete media and channel -> 204
//	POST   /api/v1/channels/{id}/rotate-key  new stream key -> 200
//	POST   /api/v1/channels/{id}/disconnect  end the current publication -> 200
//	POST   /api/v1/channels/{id}/clips       a VoD asset of a span of the DVR window -> 201
//
// Video on demand (assets.go, webhooks.go have the details):
//
//	POST   /api/v1/assets                    multipart file or {"source_url"} -> 201
//	GET    /api/v1/assets                    ?upload_id=&status=&limit=&cursor=
//	GET    /api/v1/assets/{id}               one asset, with progress while processing
//	DELETE /api/v1/assets/{id}               cancel, delete every stored object -> 204
//	POST   /api/v1/assets/{id}/cancel        stop processing
//	POST   /api/v1/assets/{id}/subtitles     add a WebVTT track
//	*      /api/v1/uploads/                  tus 1.0 resumable uploads
//	POST   /api/v1/webhooks                  {"url","events"} -> 201 with the signing secret
//	GET    /api/v1/webhooks[/{id}]           endpoints; DELETE /api/v1/webhooks/{id}
//	GET    /api/v1/webhooks/{id}/deliveries  the delivery log
//
// Rotating a key does not disconnect a publisher that is already streaming
// unless asked (rotate-key?disconnect=true or {"disconnect":true}); the old
// key stops working for new publishes at once.
//
// URLs in responses are built from Deps.PublicURL when set. Otherwise they use
// the request's Host header and "https" if the request came over TLS, else
// "http". X-Forwarded-Host and X-Forwarded-Proto are ignored, because any
// client could set them; behind a reverse proxy, set the public URL.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/live"
)

// Live is what the API needs from the live session manager.
type Live interface {
	// Status reports a channel's live state; channels nobody publishes to are "idle".
	Status(channelID string) live.Status
	// Remove disconnects any publisher of the channel and deletes its stored media.
	Remove(ctx context.Context, channelID string) error
}

// VOD is what the API needs from the video-on-demand pipeline.
type VOD interface {
	// CreateAsset stores the file as a new asset's source and queues its
	// processing (see intake.Creator).
	intake.Creator
	// Cancel stops an asset's processing; the asset ends failed with the
	// reason "cancelled". Cancelling a ready or failed asset changes nothing.
	Cancel(ctx context.Context, id string) (catalog.Asset, error)
	// Delete cancels any processing and removes the asset, its source and
	// every stored object under its prefix.
	Delete(ctx context.Context, id string) error
	// AddSubtitle stores a WebVTT track for the asset and, when it is ready,
	// republishes its manifests with the track listed.
	AddSubtitle(ctx context.Context, id string, s catalog.AssetSubtitle, vtt []byte) (catalog.Asset, error)
}

// Intake is how the API receives source files (package intake).
type Intake interface {
	// Uploads is the tus 1.0 handler, mounted at /api/v1/uploads/.
	Uploads() http.Handler
	// FromMultipart reads the "file" (and optional "title") fields of a
	// multipart/form-data request into a local file.
	FromMultipart(w http.ResponseWriter, r *http.Request) (intake.File, error)
	// FromURL downloads an http(s) URL into a local file, refusing private
	// addresses unless configured otherwise.
	FromURL(ctx context.Context, rawURL string) (intake.File, error)
}

// Deps are the API's collaborators and settings.
type Deps struct {
	Catalog    catalog.Store
	Live       Live   // nil: no live manager, every channel idle
	VOD        VOD    // nil: asset creation and deletion answer 503
	Intake     Intake // nil: uploads answer 503
	AdminToken string // required; with an empty token every /api/v1 request is refused
	PublicURL  string // base of playback URLs, e.g. "https://video.example.com"; "" = from the request

	// Listen addresses of the ingest servers; their ports go into ingest URLs.
	// "" means the protocol is disabled and its URL is omitted. Pass the bound
	// address when listening on port 0.
	RTMPAddr, SRTAddr string
	// RTMPURL and SRTURL, when set, are the bases of ingest URLs instead
	// (ingest.rtmp_url, ingest.srt_url): a cluster's API nodes hand out the
	// load balancer in front of its ingest nodes.
	RTMPURL, SRTURL string

	// Clips makes live-to-VoD clips (clip.Service); nil: clips answer 503.
	Clips Clipper
	// DVRWindow is the deployment's default DVR window (live.dvr_window),
	// shown as a channel's effective window and bounding clips; 0: unknown.
	DVRWindow time.Duration
	// LiveWindow is the span live playlists list (live.window segments of
	// live.segment_duration): no channel's DVR window may be shorter.
	LiveWindow time.Duration

	// AllowPrivateWebhooks (webhooks.allow_private_urls) lets webhooks be
	// registered for localhost and literal non-public addresses.
	AllowPrivateWebhooks bool

	Log *slog.Logger     // nil discards
	Now func() time.Time // clock for created_at; nil means time.Now
}

// API serves the admin API. Mount it on "/api/v1/".
type API struct {
	deps Deps
	log  *slog.Logger
	now  func() time.Time
	mux  *http.ServeMux
}

// New returns the API over deps.
func New(deps Deps) *API {
	a := &API{deps: deps, log: deps.Log, now: deps.Now, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.log = a.log.With("component", "api")
	if a.now == nil {
		a.now = time.Now
	}
	a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, r)
}

func (a *API) routes() {
	v1 := http.NewServeMux()
	a.channelRoutes(v1)
	a.assetRoutes(v1)
	a.webhookRoutes(v1)
	v1.Handle("/api/v1/", a.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound("no such endpoint: %s %s", r.Method, r.URL.Path)
	}))
	a.mux.Handle("/api/v1/", a.authenticate(v1))
}

// route registers one handler per method on path, and a JSON 405 with an
// Allow header for every other method.
func (a *API) route(mux *http.ServeMux, path string, byMethod map[string]handlerFunc) {
	allow := ""
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		h, ok := byMethod[m]
		if !ok {
			continue
		}
		mux.Handle(m+" "+path, a.handle(h))
		if allow != "" {
			allow += ", "
		}
		allow += m
	}
	mux.Handle(path, a.handle(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed,
			Message: "method " + r.Method + " not allowed on " + r.URL.Path + "; allowed: " + allow}
	}))
}
