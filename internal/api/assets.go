package api

import "net/http"

// assetRoutes registers the asset and upload endpoints.
func (a *API) assetRoutes(mux *http.ServeMux) {}
