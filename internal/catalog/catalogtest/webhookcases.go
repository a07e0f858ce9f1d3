package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

func hook(i int, events ...string) catalog.Webhook {
	return catalog.Webhook{
		ID:        fmt.Sprintf("wh_test%03d", i),
		URL:       fmt.Sprintf("https://hooks%d.example.com/osprey?token=t%d", i, i),
		Secret:    fmt.Sprintf("whsec_secret%03d", i),
		Events:    events,
		CreatedAt: base.Add(time.Duration(i) * time.Second),
	}
}

func sameHook(t *testing.T, what string, got, want catalog.Webhook) {
	t.Helper()
	if got.ID != want.ID || got.URL != want.URL || got.Secret != want.Secret ||
		!slices.Equal(got.Events, want.Events) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Fatalf("%s CreatedAt %v is not UTC", what, got.CreatedAt)
	}
}

func createHook(t *testing.T, s catalog.Store, w catalog.Webhook) {
	t.Helper()
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		t.Fatalf("CreateWebhook(%q): %v", w.ID, err)
	}
}

func testWebhooks(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	list, err := s.ListWebhooks(ctx)
	if err != nil || list == nil || len(list) != 0 {
		t.Fatalf("ListWebhooks on an empty catalog = %#v, %v; want an empty non-nil slice", list, err)
	}
	hooks := []catalog.Webhook{hook(3), hook(1, "asset.ready", "asset.failed"), hook(2, "asset.created")}
	for _, w := range hooks {
		createHook(t, s, w)
	}
	got, err := s.GetWebhook(ctx, hooks[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	sameHook(t, "GetWebhook", got, hooks[1])
	list, err = s.ListWebhooks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Webhook{hooks[1], hooks[2], hooks[0]} // oldest first
	if len(list) != len(want) {
		t.Fatalf("ListWebhooks returned %d, want %d", len(list), len(want))
	}
	for i := range want {
		sameHook(t, "ListWebhooks item", list[i], want[i])
	}

	dup := hook(9)
	dup.ID = hooks[0].ID
	wantErr(t, "CreateWebhook(same ID)", s.CreateWebhook(ctx, dup), catalog.ErrConflict)
	_, err = s.GetWebhook(ctx, "wh_missing")
	wantErr(t, "GetWebhook(missing)", err, catalog.ErrNotFound)
	for name, mutate := range map[string]func(*catalog.Webhook){
		"no ID":     func(w *catalog.Webhook) { w.ID = "" },
		"no URL":    func(w *catalog.Webhook) { w.URL = "" },
		"no secret": func(w *catalog.Webhook) { w.Secret = "" },
	} {
		w := hook(10)
		mutate(&w)
		if err := s.CreateWebhook(ctx, w); err == nil || errors.Is(err, catalog.ErrConflict) {
			t.Errorf("CreateWebhook(%s) = %v, want a validation error", name, err)
		}
	}
	if list, _ := s.ListWebhooks(ctx); len(list) != 3 {
		t.Fatalf("%d webhooks after rejected creates, want 3", len(list))
	}

	// A zero CreatedAt becomes now.
	now := hook(11)
	now.CreatedAt = time.Time{}
	createHook(t, s, now)
	got, err = s.GetWebhook(ctx, now.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(got.CreatedAt); d < -time.Second || d > time.Minute {
		t.Fatalf("CreatedAt = %v, want about now", got.CreatedAt)
	}
}

func delivery(webhookID string, i int) catalog.Delivery {
	return catalog.Delivery{
		WebhookID:  webhookID,
		EventID:    fmt.Sprintf("evt_%03d", i/3),
		EventType:  "asset.ready",
		Attempt:    i%3 + 1,
		StatusCode: []int{500, 0, 200}[i%3],
		Error:      []string{"HTTP 500", "connection refused", ""}[i%3],
		Duration:   time.Duration(i) * time.Millisecond,
		CreatedAt:  base.Add(time.Duration(i) * time.Second),
	}
}

func testDeliveries(t *testing.T, s catalog.Store) {
	ctx := context.Background()
	a, b := hook(1), hook(2)
	createHook(t, s, a)
	createHook(t, s, b)
	var added []catalog.Delivery
	for i := range 105 {
		d, err := s.AddDelivery(ctx, delivery(a.ID, i))
		if err != nil {
			t.Fatal(err)
		}
		if d.ID == 0 || (len(added) > 0 && d.ID == added[len(added)-1].ID) {
			t.Fatalf("AddDelivery returned ID %d", d.ID)
		}
		want := delivery(a.ID, i)
		want.ID = d.ID
		if !sameDelivery(d, want) {
			t.Fatalf("AddDelivery returned %+v, want %+v", d, want)
		}
		added = append(added, d)
	}
	if _, err := s.AddDelivery(ctx, delivery(b.ID, 0)); err != nil {
		t.Fatal(err)
	}
	_, err := s.AddDelivery(ctx, delivery("wh_missing", 0))
	wantErr(t, "AddDelivery(missing webhook)", err, catalog.ErrNotFound)

	slices.Reverse(added) // newest first
	for _, limit := range []int{0, 5, 1000} {
		got, err := s.ListDeliveries(ctx, a.ID, limit)
		if err != nil {
			t.Fatal(err)
		}
		want := added[:min(len(added), map[int]int{0: 100, 5: 5, 1000: 1000}[limit])]
		if !slices.EqualFunc(got, want, sameDelivery) {
			t.Fatalf("ListDeliveries(limit %d) returned %d items (first %+v), want %d (first %+v)",
				limit, len(got), first(got), len(want), first(want))
		}
		for _, d := range got {
			if d.CreatedAt.Location() != time.UTC {
				t.Fatalf("delivery CreatedAt %v is not UTC", d.CreatedAt)
			}
		}
	}
	got, err := s.ListDeliveries(ctx, "wh_missing", 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListDeliveries(unknown) = %v, %v; want an empty non-nil slice", got, err)
	}

	// Deleting a webhook deletes its log; a new webhook with its ID starts empty.
	if err := s.DeleteWebhook(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetWebhook(ctx, a.ID)
	wantErr(t, "GetWebhook after delete", err, catalog.ErrNotFound)
	wantErr(t, "second DeleteWebhook", s.DeleteWebhook(ctx, a.ID), catalog.ErrNotFound)
	_, err = s.AddDelivery(ctx, delivery(a.ID, 0))
	wantErr(t, "AddDelivery after delete", err, catalog.ErrNotFound)
	createHook(t, s, a)
	if got, _ := s.ListDeliveries(ctx, a.ID, 0); len(got) != 0 {
		t.Fatalf("recreated webhook has %d deliveries, want 0", len(got))
	}
	if got, _ := s.ListDeliveries(ctx, b.ID, 0); len(got) != 1 {
		t.Fatalf("other webhook has %d deliveries, want 1", len(got))
	}
}

func first(ds []catalog.Delivery) any {
	if len(ds) == 0 {
		return nil
	}
	return ds[0]
}

// sameDelivery compares deliveries with times as instants.
func sameDelivery(x, y catalog.Delivery) bool {
	if !x.CreatedAt.Equal(y.CreatedAt) {
		return false
	}
	x.CreatedAt, y.CreatedAt = time.Time{}, time.Time{}
	return x == y
}
