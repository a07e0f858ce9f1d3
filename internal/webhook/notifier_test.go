package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

func TestEmitFansOut(t *testing.T) {
	t.Parallel()
	store := &fakeStore{hooks: []catalog.Webhook{
		{ID: "wh_all"},
		{ID: "wh_ready", Events: []string{AssetReady}},
		{ID: "wh_failed", Events: []string{AssetFailed, AssetCreated}},
		{ID: "wh_ready2", Events: []string{AssetProgress, AssetReady}},
	}}
	now := time.Date(2026, 3, 4, 5, 6, 7, 891000000, time.FixedZone("X", 3600))
	tests := []struct {
		event string
		want  []string
	}{
		{AssetReady, []string{"wh_all", "wh_ready", "wh_ready2"}},
		{AssetFailed, []string{"wh_all", "wh_failed"}},
		{AssetCreated, []string{"wh_all", "wh_failed"}},
		{AssetProgress, []string{"wh_all", "wh_ready2"}},
	}
	for _, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			q := &fakeQueue{}
			n := &Notifier{Store: store, Queue: q, Now: func() time.Time { return now }}
			data := map[string]any{"id": "as_1", "status": "ready"}
			if err := n.Emit(context.Background(), tc.event, data); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range q.jobs {
				got = append(got, j.WebhookID)
				if j.EventType != tc.event || j.EventID != q.jobs[0].EventID || string(j.Body) != string(q.jobs[0].Body) {
					t.Fatalf("jobs differ: %+v vs %+v", j, q.jobs[0])
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("jobs for %v, want %v", got, tc.want)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(q.jobs[0].Body, &raw); err != nil {
				t.Fatal(err)
			}
			if len(raw) != 4 {
				t.Fatalf("body has keys %v, want id, type, created_at, data", raw)
			}
			var body struct {
				ID        string         `json:"id"`
				Type      string         `json:"type"`
				CreatedAt string         `json:"created_at"`
				Data      map[string]any `json:"data"`
			}
			if err := json.Unmarshal(q.jobs[0].Body, &body); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(body.ID, "evt_") || body.ID != q.jobs[0].EventID {
				t.Errorf("body id %q, job event id %q", body.ID, q.jobs[0].EventID)
			}
			if body.Type != tc.event {
				t.Errorf("body type %q, want %q", body.Type, tc.event)
			}
			if body.CreatedAt != "2026-03-04T04:06:07.891Z" {
				t.Errorf("created_at %q, want RFC 3339 in UTC", body.CreatedAt)
			}
			if body.Data["id"] != "as_1" || body.Data["status"] != "ready" {
				t.Errorf("data %v", body.Data)
			}
		})
	}
}

func TestEmitEventIDsDiffer(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	n := &Notifier{Store: &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1"}}}, Queue: q}
	for range 2 {
		if err := n.Emit(context.Background(), AssetReady, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(q.jobs) != 2 || q.jobs[0].EventID == q.jobs[1].EventID {
		t.Fatalf("jobs %+v: want two events with distinct IDs", q.jobs)
	}
}

func TestEmitErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hooks := []catalog.Webhook{{ID: "wh_1"}, {ID: "wh_2"}, {ID: "wh_3"}}

	// One failed insert does not stop the others.
	q := &fakeQueue{fail: func(d DeliverArgs) error {
		if d.WebhookID == "wh_2" {
			return errors.New("disk full")
		}
		return nil
	}}
	n := &Notifier{Store: &fakeStore{hooks: hooks}, Queue: q}
	err := n.Emit(ctx, AssetReady, "x")
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Emit = %v, want the insert error", err)
	}
	if len(q.jobs) != 2 {
		t.Fatalf("%d jobs queued, want the other 2", len(q.jobs))
	}

	listErr := errors.New("catalog down")
	n = &Notifier{Store: &fakeStore{hooks: hooks, listErr: listErr}, Queue: &fakeQueue{}}
	if err := n.Emit(ctx, AssetReady, "x"); !errors.Is(err, listErr) {
		t.Fatalf("Emit = %v, want the store's error", err)
	}
	if err := (&Notifier{Store: &fakeStore{hooks: hooks}, Queue: &fakeQueue{}}).Emit(ctx, "asset.exploded", "x"); err == nil {
		t.Fatal("Emit accepted an unknown event type")
	}
	if err := (&Notifier{Store: &fakeStore{hooks: hooks}, Queue: &fakeQueue{}}).Emit(ctx, AssetReady, func() {}); err == nil {
		t.Fatal("Emit accepted data that cannot be encoded")
	}
	// No subscribers: nothing queued, no error.
	q = &fakeQueue{}
	n = &Notifier{Store: &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", Events: []string{AssetFailed}}}}, Queue: q}
	if err := n.Emit(ctx, AssetReady, "x"); err != nil || len(q.jobs) != 0 {
		t.Fatalf("Emit = %v with %d jobs, want nothing", err, len(q.jobs))
	}
}

func TestDeliverArgs(t *testing.T) {
	t.Parallel()
	var a DeliverArgs
	if a.Kind() != "webhook.deliver" {
		t.Errorf("Kind = %q", a.Kind())
	}
	if o := a.InsertOpts(); o.Queue != "webhooks" || o.MaxAttempts != 12 {
		t.Errorf("InsertOpts = %+v", o)
	}
}
