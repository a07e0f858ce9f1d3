package edge

import (
	"encoding/json"
	"net/http"
)

// serveHealth reports the edge alive, with each origin's state; the edge
// serves (from cache) even when its origins are down, so it answers 200.
func (e *Edge) serveHealth(w http.ResponseWriter, r *http.Request) {
	type originState struct {
		URL string `json:"url"`
		Up  bool   `json:"up"`
	}
	now := e.now()
	var list []originState
	for _, o := range e.origins {
		list = append(list, originState{URL: o.base.String(), Up: o.up(now)})
	}
	st := e.cache.Stats()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"status":  "ok",
		"origins": list,
		"cache": map[string]int64{
			"memory_bytes": st.MemoryBytes, "memory_objects": st.MemoryObjects, "memory_limit": st.MemoryLimit,
			"disk_bytes": st.DiskBytes, "disk_objects": st.DiskObjects, "disk_limit": st.DiskLimit,
		},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
