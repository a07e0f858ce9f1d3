package edge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// invalidationsPath is the invalidation API, as CloudFront's
// CreateInvalidation: POST {"paths": ["/vod/abc/*", "/live/x/index.m3u8"]}.
const invalidationsPath = "/api/v1/edge/invalidations"

// Limits on one invalidation.
const (
	maxInvalidationPaths = 3000
	keptInvalidations    = 100
)

// Invalidation is one completed invalidation, as the API returns it.
type Invalidation struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"` // always "completed": removal is synchronous
	Paths     []string  `json:"paths"`
	Objects   int       `json:"objects"` // stored objects removed
	CreatedAt time.Time `json:"created_at"`
}

// invalidations numbers invalidations, so that a flight that started before
// one and ends after it does not store what was just invalidated, and keeps
// the recent ones for the API.
type invalidations struct {
	mu     sync.Mutex
	gen    uint64
	recent []invalidationRecord
}

type invalidationRecord struct {
	gen uint64
	inv Invalidation
}

func (iv *invalidations) generation() uint64 {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return iv.gen
}

// invalidatedSince reports whether an invalidation after generation gen
// covers key.
func (e *Edge) invalidatedSince(gen uint64, key string) bool {
	iv := &e.invalidations
	iv.mu.Lock()
	defer iv.mu.Unlock()
	if iv.gen == gen {
		return false
	}
	if len(iv.recent) == 0 || iv.recent[0].gen > gen+1 {
		return true // older than what is remembered: be safe
	}
	p := keyPath(key)
	for _, r := range iv.recent {
		if r.gen > gen && pathsMatch(r.inv.Paths, p) {
			return true
		}
	}
	return false
}

// pathsMatch reports whether an invalidation path list covers path: a path
// ending in '*' covers everything below its prefix, any other path only
// itself (with any query string).
func pathsMatch(paths []string, path string) bool {
	for _, p := range paths {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(path, prefix) {
				return true
			}
		} else if path == p {
			return true
		}
	}
	return false
}

// Invalidate removes every stored object under paths (see pathsMatch) and
// keeps in-flight fetches of them from being stored.
func (e *Edge) Invalidate(paths []string) (Invalidation, error) {
	if len(paths) == 0 {
		return Invalidation{}, fmt.Errorf("no paths")
	}
	if len(paths) > maxInvalidationPaths {
		return Invalidation{}, fmt.Errorf("%d paths; at most %d at once", len(paths), maxInvalidationPaths)
	}
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return Invalidation{}, fmt.Errorf("path %q must start with /", p)
		}
		if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
			return Invalidation{}, fmt.Errorf("path %q: '*' may only end a path", p)
		}
	}
	iv := &e.invalidations
	iv.mu.Lock()
	iv.gen++
	inv := Invalidation{
		ID: catalog.NewID("inv_"), Status: "completed", Paths: append([]string(nil), paths...),
		CreatedAt: e.now().UTC(),
	}
	rec := invalidationRecord{gen: iv.gen, inv: inv}
	iv.recent = append(iv.recent, rec)
	if len(iv.recent) > keptInvalidations {
		iv.recent = iv.recent[len(iv.recent)-keptInvalidations:]
	}
	iv.mu.Unlock()

	n := e.cache.DeleteFunc(func(key string) bool { return pathsMatch(paths, keyPath(key)) })
	inv.Objects = n
	iv.mu.Lock()
	for i := range iv.recent {
		if iv.recent[i].inv.ID == inv.ID {
			iv.recent[i].inv.Objects = n
		}
	}
	iv.mu.Unlock()
	e.metrics.invalidated.Add(float64(n))
	e.log.Info("invalidated", "id", inv.ID, "paths", paths, "objects", n)
	return inv, nil
}

// serveInvalidations is the API: POST creates, GET lists the recent ones.
// Both need the admin token.
func (e *Edge) serveInvalidations(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != invalidationsPath {
		jsonError(w, http.StatusNotFound, "not found")
		return
	}
	if e.cfg.AdminToken == "" {
		jsonError(w, http.StatusNotFound, "the invalidation API is disabled (no admin token)")
		return
	}
	// The same check as the API's: constant time on SHA-256 hashes.
	if !httpguard.NewBearer(e.cfg.AdminToken).Authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="osprey"`)
		jsonError(w, http.StatusUnauthorized, "missing or wrong admin token")
		return
	}
	switch r.Method {
	case http.MethodPost:
		var req struct {
			Paths []string `json:"paths"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			jsonError(w, http.StatusBadRequest, "the body must be {\"paths\": [\"/vod/abc/*\", ...]}: "+err.Error())
			return
		}
		inv, err := e.Invalidate(req.Paths)
		if err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusCreated, inv)
	case http.MethodGet:
		iv := &e.invalidations
		iv.mu.Lock()
		items := make([]Invalidation, 0, len(iv.recent))
		for i := len(iv.recent) - 1; i >= 0; i-- {
			items = append(items, iv.recent[i].inv)
		}
		iv.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	default:
		w.Header().Set("Allow", "GET, POST")
		jsonError(w, http.StatusMethodNotAllowed, "use POST to invalidate, GET to list")
	}
}
