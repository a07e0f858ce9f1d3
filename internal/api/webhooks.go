package api

import "net/http"

// webhookRoutes registers the webhook endpoints.
func (a *API) webhookRoutes(mux *http.ServeMux) {}
