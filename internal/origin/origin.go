// Package origin is Osprey's HTTP origin: it serves packaged media (HLS and
// DASH manifests, CMAF segments, subtitles, images) straight from a
// storage.Store, with the caching, conditional-request, range, compression
// and CORS semantics players and CDNs expect.
//
// URL paths map to storage keys through a small mount table: by default
// /live/{channel}/{rest...} is served from the key live/{channel}/{rest...},
// and /vod/{asset}/{rest...} from vod/{asset}/{rest...}.
// Only known media extensions are served (a channel's state.json is not).
//
// Multivariant playlists and MPDs can be narrowed per request with query
// parameters (max_height, codecs, aws.manifestfilter...; see filter.go);
// ?start= and ?end= on a channel's manifests ask for a span of its DVR
// window, rendered from the DVR index (dvr.go), and
// /live/{channel}/dvr-window.json names that window (dvr_window.go);
// everything else is served as stored.
//
// Caching policy:
//   - segments, init segments, audio, subtitles and transport-stream files
//     never change under a URL (the packager never reuses a segment number or
//     init version): "public, max-age=31536000, immutable";
//   - live playlists and MPDs: "public, max-age=N", N = half the segment
//     duration in whole seconds, or "public, no-cache" (always revalidate,
//     cheap with the ETag) when that is under one second;
//   - ended manifests (#EXT-X-ENDLIST, or an MPD whose type is static): 30 s,
//     not longer, because the MPD's URL goes live again with the channel's
//     next session (ended media playlists, in their session's folder, no
//     longer change);
//   - images (posters, thumbnails) may be refreshed in place: 10 s;
//   - 403 when RequireHeader is set and the request lacks it;
//   - 404s: "no-cache", so neither browsers nor CDNs keep serving a 404 once
//     the object appears (a manifest is often requested just before its
//     first write); other errors: "no-store".
//
// Low latency (live.go): with a Config.Live source, media playlists and
// .m4s objects are asked of it first. Its playlists are "public,
// max-age=N" with N = half the segment duration as above, or about three
// segment durations when the request blocks (_HLS_msn), and carry an ETag
// hashed from their bytes; its parts and segments are streamed as they are
// produced (200 at once, no Content-Length, each chunk flushed, no ranges)
// and immutable. Its 400, 404 and 503 answers, and the 404 of a part or of
// a request with _HLS_ directives from storage, are "no-store".
package origin

import (
	"compress/gzip"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/dvr"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// Config configures an Origin.
type Config struct {
	// AllowOrigin is sent as Access-Control-Allow-Origin on every response;
	// "" disables CORS headers. DefaultConfig sets "*".
	AllowOrigin string
	// SegmentDuration is the live target segment duration; live manifests
	// are cacheable for half of it. Zero means 2 s.
	SegmentDuration time.Duration
	// PublicURL is the externally visible base URL (scheme, host and an
	// optional path prefix) used to make MPD UTCTiming URLs absolute. Empty:
	// they stay root-relative ("/time"), which players resolve against the
	// MPD's own URL, so that behind an edge they reach the edge's /time.
	// The origin never builds URLs from a request's Host or forwarded
	// headers: its answers are the same for every viewer, and cacheable.
	PublicURL string
	// Mounts maps URL path prefixes to storage key prefixes, first match
	// wins; empty means DefaultMounts.
	Mounts []Mount
	// RequireHeader and RequireValue, when set, make the origin refuse
	// media requests without that header value (403): the CDN identifier
	// an edge adds to its origin requests, so that viewers cannot bypass
	// the edge and its signed URLs.
	RequireHeader string
	RequireValue  string
	// Live, when set, serves the low-latency edge of the live channels
	// packaged on this node from memory (live.go): media playlists with
	// LL-HLS delivery directives, parts and segments being produced. It is
	// asked before storage for every .m3u8 and .m4s key; what it does not
	// serve comes from storage.
	Live LiveSource
	// Peer, when set, is asked what Live does not serve: the low-latency
	// edge of channels packaged on another node, fetched from that node's
	// origin (marked with PeerHeader; a peer's request is never passed on).
	Peer LiveSource
}

// Mount serves the storage keys under Key at the URL paths under Path.
// Paths below a mount need at least two elements: /live/{channel}/{file}.
type Mount struct {
	Path string // URL path prefix, starting and ending with "/": "/live/"
	Key  string // storage key prefix, ending with "/": "live/"
}

// DefaultMounts returns the standard mount table.
func DefaultMounts() []Mount {
	return []Mount{{Path: "/live/", Key: "live/"}, {Path: "/vod/", Key: "vod/"}}
}

// DefaultConfig returns the defaults: CORS for any origin, 2 s segments.
func DefaultConfig() Config {
	return Config{AllowOrigin: "*", SegmentDuration: 2 * time.Second}
}

// Cache-Control values; see the package documentation.
const (
	ccImmutable   = "public, max-age=31536000, immutable"
	ccEnded       = "public, max-age=30"
	ccImage       = "public, max-age=10"
	ccNotFound    = "no-cache"
	ccError       = "no-store"
	allowMethods  = "GET, HEAD, OPTIONS"
	maxManifest   = 16 << 20
	defaultSegDur = 2 * time.Second
)

// Origin is an http.Handler serving media from a storage.Store.
type Origin struct {
	store       storage.Store
	log         *slog.Logger
	mounts      []Mount
	allowOrigin string
	publicBase  string // PublicURL without trailing slash, XML-escaped; "" = keep root-relative
	publicTag   string // ETag suffix of MPDs rewritten with publicBase
	liveCC      string // Cache-Control of live manifests
	blockingCC  string // Cache-Control of answers to blocking playlist reloads
	live        LiveSource
	peer        LiveSource
	dvr         *dvr.Reader // time-shifted manifests (dvr.go)
	now         func() time.Time
	gzipPool    sync.Pool
	reqHeader   string
	reqValue    []byte
}

// New returns an Origin serving from store. It panics on a malformed mount
// table, which is a programming error.
func New(store storage.Store, cfg Config, log *slog.Logger) *Origin {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mounts := cfg.Mounts
	if len(mounts) == 0 {
		mounts = DefaultMounts()
	}
	for _, m := range mounts {
		if !strings.HasPrefix(m.Path, "/") || !strings.HasSuffix(m.Path, "/") ||
			m.Key == "" || strings.HasPrefix(m.Key, "/") || !strings.HasSuffix(m.Key, "/") {
			panic("origin: malformed mount " + m.Path + " -> " + m.Key)
		}
	}
	o := &Origin{
		store:       store,
		log:         log.With("component", "origin"),
		mounts:      mounts,
		allowOrigin: cfg.AllowOrigin,
		publicBase:  xmlEscape(strings.TrimRight(cfg.PublicURL, "/")),
		liveCC:      liveCacheControl(cfg.SegmentDuration),
		blockingCC:  blockingCacheControl(cfg.SegmentDuration),
		live:        cfg.Live,
		peer:        cfg.Peer,
		dvr:         dvr.NewReader(store, dvr.ReaderOptions{CachedChunks: dvrCachedChunks, Reuse: dvrIndexReuse(cfg.SegmentDuration)}),
		now:         time.Now,
		reqHeader:   cfg.RequireHeader,
		reqValue:    []byte(cfg.RequireValue),
	}
	o.publicTag = "-u" + shortHash(o.publicBase)
	o.gzipPool.New = func() any {
		zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // the level is valid
		return zw
	}
	return o
}

// liveCacheControl returns the Cache-Control of live manifests for a
// segment duration: at most half of it, in whole seconds.
func liveCacheControl(segDur time.Duration) string {
	if segDur <= 0 {
		segDur = defaultSegDur
	}
	n := int64(segDur / 2 / time.Second)
	if n < 1 {
		return "public, no-cache"
	}
	return "public, max-age=" + strconv.FormatInt(n, 10)
}

// ServeHTTP serves GET, HEAD and OPTIONS for paths under the mounts.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.setCORS(w.Header())
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		w.Header().Set("Allow", allowMethods)
		o.fail(w, http.StatusMethodNotAllowed)
		return
	}
	if o.reqHeader != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get(o.reqHeader)), o.reqValue) != 1 {
		o.fail(w, http.StatusForbidden)
		return
	}
	key, mt, status := o.route(r)
	if status != http.StatusOK {
		o.fail(w, status)
		return
	}
	if r.Method == http.MethodOptions {
		o.preflight(w, r)
		return
	}
	o.serve(w, r, key, mt)
}

// fail writes an error response with a body naming the status.
func (o *Origin) fail(w http.ResponseWriter, status int) {
	o.failWith(w, status, http.StatusText(status))
}

// failWith writes an error response with a plain-text message.
func (o *Origin) failWith(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	if status == http.StatusNotFound {
		h.Set("Cache-Control", ccNotFound)
	} else {
		h.Set("Cache-Control", ccError)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	http.Error(w, msg, status)
}
