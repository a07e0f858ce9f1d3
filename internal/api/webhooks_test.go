package api

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
)

var (
	whPattern     = regexp.MustCompile(`^wh_[a-z2-7]{16}$`)
	secretPattern = regexp.MustCompile(`^whsec_[A-Za-z0-9_-]{43}$`)
)

// webhookEnv is an API over a real SQLite catalog in a temporary folder.
type webhookEnv struct {
	testEnv
	store *sqlite.Store
}

func newWebhookEnv(t *testing.T) *webhookEnv {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return &webhookEnv{
		testEnv: testEnv{api: New(Deps{Catalog: store, AdminToken: testToken, Now: func() time.Time { return t0 }})},
		store:   store,
	}
}

func (e *webhookEnv) create(t *testing.T, body string) Webhook {
	t.Helper()
	w := e.do("POST", "/api/v1/webhooks", body)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", w.Code, w.Body)
	}
	return decode[Webhook](t, w)
}

func TestWebhookCreate(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t)
	w := e.do("POST", "/api/v1/webhooks", `{"url":"https://hooks.example.com/osprey","events":["asset.ready","asset.failed","asset.ready"]}`)
	if w.Code != http.StatusCreated {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
	got := decode[Webhook](t, w)
	if !whPattern.MatchString(got.ID) || !secretPattern.MatchString(got.Secret) {
		t.Fatalf("id %q, secret %q", got.ID, got.Secret)
	}
	if got.URL != "https://hooks.example.com/osprey" || !slices.Equal(got.Events, []string{"asset.ready", "asset.failed"}) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", got)
	}
	if loc := w.Header().Get("Location"); loc != "/api/v1/webhooks/"+got.ID {
		t.Errorf("Location = %q", loc)
	}
	stored, err := e.store.GetWebhook(context.Background(), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Secret != got.Secret || stored.URL != got.URL {
		t.Fatalf("stored %+v, answered %+v", stored, got)
	}

	// No events means all; the secrets differ.
	all := e.create(t, `{"url":"http://hooks.example.net:8080/hook"}`)
	if all.Events == nil || len(all.Events) != 0 || all.Secret == got.Secret || all.ID == got.ID {
		t.Fatalf("second webhook %+v", all)
	}
	if !strings.Contains(e.do("GET", "/api/v1/webhooks/"+all.ID, "").Body.String(), `"events": []`) {
		t.Error("empty events not rendered as []")
	}
}

func TestWebhookCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t)
	tests := []struct{ body, msg string }{
		{`{}`, "url is required"},
		{`{"url":"  "}`, "url is required"},
		{`{"url":"ftp://example.com/x"}`, "http:// or https://"},
		{`{"url":"example.com/hook"}`, "http:// or https://"},
		{`{"url":"https:///path"}`, "must name a host"},
		{`{"url":"https://:443/path"}`, "must name a host"},
		{`{"url":"https://exa mple.com"}`, "not a valid URL"},
		{`{"url":"https://example.com/#x"}`, "fragment"},
		{`{"url":"http://127.0.0.1:8080/hook"}`, "127.0.0.1 is a loopback address"},
		{`{"url":"http://localhost/hook"}`, "localhost is this machine"},
		{`{"url":"http://169.254.169.254/latest/meta-data/"}`, "link-local"},
		{`{"url":"http://10.0.0.5:8080/hook"}`, "webhooks.allow_private_urls"},
		{`{"url":"https://example.com/` + strings.Repeat("a", 2100) + `"}`, "at most 2048"},
		{`{"url":"https://example.com","events":["asset.deleted"]}`, `unknown event type "asset.deleted"`},
		{`{"url":"https://example.com","events":["asset.ready",""]}`, `unknown event type ""`},
		{`{"url":"https://example.com","events":"asset.ready"}`, `"events" must be a JSON array`},
		{`{"url":"https://example.com","secret":"mine"}`, "unknown field"},
		{`not json`, "not valid JSON"},
	}
	for _, tc := range tests {
		w := e.do("POST", "/api/v1/webhooks", tc.body)
		t.Run(tc.msg, func(t *testing.T) {
			wantError(t, w, http.StatusBadRequest, CodeInvalidArgument, tc.msg)
		})
	}
	if hooks, _ := e.store.ListWebhooks(context.Background()); len(hooks) != 0 {
		t.Fatalf("%d webhooks stored after invalid requests", len(hooks))
	}
}

func TestWebhookListGetDelete(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t)
	list := decode[WebhookList](t, e.do("GET", "/api/v1/webhooks", ""))
	if list.Items == nil || len(list.Items) != 0 {
		t.Fatalf("empty list = %+v", list)
	}
	a := e.create(t, `{"url":"https://a.example.com","events":["asset.ready"]}`)
	b := e.create(t, `{"url":"https://b.example.com"}`)

	w := e.do("GET", "/api/v1/webhooks", "")
	if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "whsec_") {
		t.Fatalf("list shows secrets: %s", w.Body)
	}
	list = decode[WebhookList](t, w)
	var ids []string
	for _, h := range list.Items {
		ids = append(ids, h.ID)
	}
	if want := []string{a.ID, b.ID}; !slices.Equal(slices.Sorted(slices.Values(ids)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("listed %v, want %v", ids, want)
	}

	w = e.do("GET", "/api/v1/webhooks/"+a.ID, "")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "whsec_") {
		t.Fatalf("get: %d %s", w.Code, w.Body)
	}
	if got := decode[Webhook](t, w); got.ID != a.ID || got.URL != a.URL || !slices.Equal(got.Events, a.Events) || got.Secret != "" {
		t.Fatalf("get = %+v, want %+v without secret", got, a)
	}
	wantError(t, e.do("GET", "/api/v1/webhooks/wh_missing", ""), http.StatusNotFound, CodeNotFound, `webhook "wh_missing" not found`)

	if w := e.do("DELETE", "/api/v1/webhooks/"+a.ID, ""); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	wantError(t, e.do("GET", "/api/v1/webhooks/"+a.ID, ""), http.StatusNotFound, CodeNotFound, "not found")
	wantError(t, e.do("DELETE", "/api/v1/webhooks/"+a.ID, ""), http.StatusNotFound, CodeNotFound, "not found")
	if list := decode[WebhookList](t, e.do("GET", "/api/v1/webhooks", "")); len(list.Items) != 1 || list.Items[0].ID != b.ID {
		t.Fatalf("after delete: %+v", list)
	}

	w = e.do("PUT", "/api/v1/webhooks/"+b.ID, "{}")
	wantError(t, w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "")
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t)
	ctx := context.Background()
	h := e.create(t, `{"url":"https://a.example.com"}`)
	other := e.create(t, `{"url":"https://b.example.com"}`)
	for i := range 5 {
		d := catalog.Delivery{
			WebhookID: h.ID, EventID: "evt_1", EventType: "asset.ready", Attempt: i + 1,
			StatusCode: 500, Error: "HTTP 500 Internal Server Error",
			Duration: 1500 * time.Microsecond, CreatedAt: t0.Add(time.Duration(i) * time.Second),
		}
		if i == 4 {
			d.StatusCode, d.Error = 200, ""
		}
		if _, err := e.store.AddDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.AddDelivery(ctx, catalog.Delivery{WebhookID: other.ID, EventID: "evt_2", Attempt: 1}); err != nil {
		t.Fatal(err)
	}

	w := e.do("GET", "/api/v1/webhooks/"+h.ID+"/deliveries", "")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	for _, key := range []string{`"id"`, `"event_id"`, `"event_type"`, `"attempt"`, `"status_code"`, `"error"`, `"duration_ms"`, `"created_at"`} {
		if !strings.Contains(w.Body.String(), key) {
			t.Errorf("response lacks %s: %s", key, w.Body)
		}
	}
	list := decode[DeliveryList](t, w)
	if len(list.Items) != 5 {
		t.Fatalf("%d deliveries, want 5", len(list.Items))
	}
	newest := list.Items[0]
	if newest.Attempt != 5 || newest.StatusCode != 200 || newest.Error != "" || newest.EventID != "evt_1" ||
		newest.EventType != "asset.ready" || newest.DurationMS != 1.5 || !newest.CreatedAt.Equal(t0.Add(4*time.Second)) || newest.ID == 0 {
		t.Fatalf("newest delivery %+v", newest)
	}
	if last := list.Items[4]; last.Attempt != 1 || last.StatusCode != 500 || last.Error == "" {
		t.Fatalf("oldest delivery %+v", last)
	}

	list = decode[DeliveryList](t, e.do("GET", "/api/v1/webhooks/"+h.ID+"/deliveries?limit=2", ""))
	if len(list.Items) != 2 || list.Items[0].Attempt != 5 || list.Items[1].Attempt != 4 {
		t.Fatalf("limit=2: %+v", list.Items)
	}
	for _, bad := range []string{"0", "-1", "1001", "x", "2.5"} {
		wantError(t, e.do("GET", "/api/v1/webhooks/"+h.ID+"/deliveries?limit="+bad, ""), http.StatusBadRequest, CodeInvalidArgument, "limit")
	}
	wantError(t, e.do("GET", "/api/v1/webhooks/wh_missing/deliveries", ""), http.StatusNotFound, CodeNotFound, "not found")

	// Deleting the webhook removes its log.
	if w := e.do("DELETE", "/api/v1/webhooks/"+h.ID, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if ds, _ := e.store.ListDeliveries(ctx, h.ID, 0); len(ds) != 0 {
		t.Fatalf("%d deliveries left after delete", len(ds))
	}
	if list := decode[DeliveryList](t, e.do("GET", "/api/v1/webhooks/"+other.ID+"/deliveries", "")); len(list.Items) != 1 {
		t.Fatalf("other webhook's log: %+v", list.Items)
	}
}

func TestWebhookAuth(t *testing.T) {
	t.Parallel()
	e := newWebhookEnv(t)
	for _, ep := range []struct{ method, path, body string }{
		{"GET", "/api/v1/webhooks", ""},
		{"POST", "/api/v1/webhooks", `{"url":"https://a.example.com"}`},
		{"GET", "/api/v1/webhooks/wh_x", ""},
		{"DELETE", "/api/v1/webhooks/wh_x", ""},
		{"GET", "/api/v1/webhooks/wh_x/deliveries", ""},
	} {
		r := request(ep.method, ep.path, ep.body)
		r.Header.Set("Authorization", "Bearer osp_wrong")
		if w := e.serve(r); w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s with a wrong token: %d", ep.method, ep.path, w.Code)
		}
	}
	if hooks, _ := e.store.ListWebhooks(context.Background()); len(hooks) != 0 {
		t.Fatal("an unauthenticated request created a webhook")
	}
}
