package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/webhook"
)

// Webhook endpoints:
//
//	POST   /api/v1/webhooks                  create: {"url":"https://…","events":["asset.ready"]} -> 201, with the secret
//	GET    /api/v1/webhooks                  list: {"items":[...]}, without secrets
//	GET    /api/v1/webhooks/{id}             one webhook, without its secret
//	DELETE /api/v1/webhooks/{id}             delete it and its delivery log -> 204
//	GET    /api/v1/webhooks/{id}/deliveries  recent attempts, newest first: {"items":[...]}; ?limit=1..1000, default 100
//
// An empty or missing "events" subscribes to every event type.

const (
	maxWebhookURL     = 2048
	defaultDeliveries = 100
	maxDeliveries     = 1000
)

// Webhook is a webhook as the API shows it. Secret is only set in the
// response to its creation.
type Webhook struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"` // empty: every event type
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// WebhookList is the body of GET /api/v1/webhooks.
type WebhookList struct {
	Items []Webhook `json:"items"`
}

// CreateWebhookRequest is the body of POST /api/v1/webhooks.
type CreateWebhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// Delivery is one delivery attempt as the API shows it.
type Delivery struct {
	ID         int64     `json:"id"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`
	StatusCode int       `json:"status_code"` // 0: no response
	Error      string    `json:"error"`       // "": delivered
	DurationMS float64   `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
}

// DeliveryList is the body of GET /api/v1/webhooks/{id}/deliveries.
type DeliveryList struct {
	Items []Delivery `json:"items"`
}

// webhookRoutes registers the webhook endpoints.
func (a *API) webhookRoutes(mux *http.ServeMux) {
	a.route(mux, "/api/v1/webhooks", map[string]handlerFunc{
		http.MethodGet:  a.listWebhooks,
		http.MethodPost: a.createWebhook,
	})
	a.route(mux, "/api/v1/webhooks/{id}", map[string]handlerFunc{
		http.MethodGet:    a.getWebhook,
		http.MethodDelete: a.deleteWebhook,
	})
	a.route(mux, "/api/v1/webhooks/{id}/deliveries", map[string]handlerFunc{
		http.MethodGet: a.listDeliveries,
	})
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var req CreateWebhookRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	u, err := checkWebhookURL(req.URL)
	if err != nil {
		return err
	}
	if err := webhook.CheckURL(u, a.deps.AllowPrivateWebhooks); err != nil {
		return errInvalid("%v", err)
	}
	events, err := checkEvents(req.Events)
	if err != nil {
		return err
	}
	hook := catalog.Webhook{
		ID:        catalog.NewID("wh_"),
		URL:       u,
		Secret:    webhook.NewSecret(),
		Events:    events,
		CreatedAt: a.now().UTC().Truncate(time.Microsecond),
	}
	if err := a.deps.Catalog.CreateWebhook(r.Context(), hook); err != nil {
		return fmt.Errorf("creating webhook: %w", err)
	}
	a.log.Info("webhook created", "webhook", hook.ID, "events", events)
	v := webhookView(hook)
	v.Secret = hook.Secret
	w.Header().Set("Location", "/api/v1/webhooks/"+hook.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := a.deps.Catalog.ListWebhooks(r.Context())
	if err != nil {
		return fmt.Errorf("listing webhooks: %w", err)
	}
	list := WebhookList{Items: make([]Webhook, 0, len(hooks))}
	for _, h := range hooks {
		list.Items = append(list.Items, webhookView(h))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	hook, err := a.deps.Catalog.GetWebhook(r.Context(), id)
	if err != nil {
		return webhookError(err, id, "getting")
	}
	writeJSON(w, http.StatusOK, webhookView(hook))
	return nil
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := a.deps.Catalog.DeleteWebhook(r.Context(), id); err != nil {
		return webhookError(err, id, "deleting")
	}
	a.log.Info("webhook deleted", "webhook", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	limit := defaultDeliveries
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxDeliveries {
			return errInvalid("limit must be a whole number from 1 to %d", maxDeliveries)
		}
		limit = n
	}
	if _, err := a.deps.Catalog.GetWebhook(r.Context(), id); err != nil {
		return webhookError(err, id, "getting")
	}
	ds, err := a.deps.Catalog.ListDeliveries(r.Context(), id, limit)
	if err != nil {
		return fmt.Errorf("listing deliveries of webhook %s: %w", id, err)
	}
	list := DeliveryList{Items: make([]Delivery, 0, len(ds))}
	for _, d := range ds {
		list.Items = append(list.Items, Delivery{
			ID:         d.ID,
			EventID:    d.EventID,
			EventType:  d.EventType,
			Attempt:    d.Attempt,
			StatusCode: d.StatusCode,
			Error:      d.Error,
			DurationMS: float64(d.Duration.Microseconds()) / 1000,
			CreatedAt:  d.CreatedAt,
		})
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

// webhookView renders h without its secret.
func webhookView(h catalog.Webhook) Webhook {
	events := h.Events
	if events == nil {
		events = []string{}
	}
	return Webhook{ID: h.ID, URL: h.URL, Events: events, CreatedAt: h.CreatedAt}
}

// webhookError turns catalog.ErrNotFound into a 404 and wraps anything else.
func webhookError(err error, id, doing string) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return errNotFound("webhook %q not found", id)
	}
	return fmt.Errorf("%s webhook %s: %w", doing, id, err)
}

// checkWebhookURL requires an absolute http or https URL with a host.
func checkWebhookURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", errInvalid("url is required")
	case len(raw) > maxWebhookURL:
		return "", errInvalid("url is %d bytes long; at most %d are allowed", len(raw), maxWebhookURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errInvalid("url is not a valid URL: %v", err)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return "", errInvalid("url must start with http:// or https://")
	}
	if u.Hostname() == "" {
		return "", errInvalid("url must name a host")
	}
	if u.Fragment != "" {
		return "", errInvalid("url must not have a #fragment")
	}
	return raw, nil
}

// checkEvents requires known event types and drops duplicates; none means all.
func checkEvents(events []string) ([]string, error) {
	out := []string{}
	for _, e := range events {
		if !slices.Contains(webhook.EventTypes, e) {
			return nil, errInvalid("unknown event type %q; known types are %s", e, strings.Join(webhook.EventTypes, ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}
