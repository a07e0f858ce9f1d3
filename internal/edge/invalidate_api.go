package edge

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/ospreyvideo/osprey/internal/httpguard"
)

// invalidationAPI is POST and GET on invalidationsPath, for an edge and
// for an API node's publisher alike: the same admin token check, request
// and JSON.
type invalidationAPI struct {
	token string
	// create runs a valid request; it returns the status to answer with,
	// or an error status and message (then the Invalidation is unused).
	create func(ctx context.Context, paths []string) (Invalidation, int, string)
	list   func() []Invalidation
}

func (a invalidationAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path != invalidationsPath {
		jsonError(w, http.StatusNotFound, "not found")
		return
	}
	if a.token == "" {
		jsonError(w, http.StatusNotFound, "the invalidation API is disabled (no admin token)")
		return
	}
	// The same check as the API's: constant time on SHA-256 hashes.
	if !httpguard.NewBearer(a.token).Authorized(r) {
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
		if err := ValidatePaths(req.Paths); err != nil {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
		inv, status, msg := a.create(r.Context(), req.Paths)
		if msg != "" {
			jsonError(w, status, msg)
			return
		}
		writeJSON(w, status, inv)
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"items": a.list()})
	default:
		w.Header().Set("Allow", "GET, POST")
		jsonError(w, http.StatusMethodNotAllowed, "use POST to invalidate, GET to list")
	}
}

// serveInvalidations is the edge's API: POST removes the objects here at
// once and publishes the invalidation to the other edges (201, status
// "completed", "propagated" saying whether it was published); GET lists
// the recent ones, those received from other nodes included.
func (e *Edge) serveInvalidations(w http.ResponseWriter, r *http.Request) {
	invalidationAPI{
		token: e.cfg.AdminToken,
		create: func(ctx context.Context, paths []string) (Invalidation, int, string) {
			inv, err := e.Invalidate(ctx, paths)
			if err != nil {
				return Invalidation{}, http.StatusBadRequest, err.Error()
			}
			return inv, http.StatusCreated, ""
		},
		list: e.invalidations.list,
	}.ServeHTTP(w, r)
}
