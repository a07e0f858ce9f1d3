package vod

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/webhook"
)

// lateCreated is the real webhook.Notifier with the worst scheduling for
// asset.created: when it is emitted after the asset's transaction (Emit),
// it waits until asset.failed has been queued. Emitted inside the
// transaction (EmitTx) it is not delayed; it cannot be, nothing of the
// asset exists before the commit.
type lateCreated struct {
	*webhook.Notifier
	failedOnce sync.Once
	failed     chan struct{} // closed once asset.failed is queued
}

func (n *lateCreated) Emit(ctx context.Context, typ string, data any) error {
	if typ == eventCreated {
		select {
		case <-n.failed:
		case <-time.After(20 * time.Second): // a bound, not a proof: the test then checks the order
		}
	}
	err := n.Notifier.Emit(ctx, typ, data)
	if typ == eventFailed {
		n.failedOnce.Do(func() { close(n.failed) })
	}
	return err
}

// delivery is a queued webhook.deliver job.
type delivery struct {
	JobID     int64
	EventType string
	AssetID   string
}

// deliveries returns the webhook.deliver jobs in the order of their IDs,
// the order River fetches jobs of one priority queued at once.
func (e *env) deliveries() []delivery {
	e.t.Helper()
	rows, err := e.cat.DB().QueryContext(e.ctx, "SELECT id, json(args) FROM river_job WHERE kind = 'webhook.deliver' ORDER BY id")
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var (
			id  int64
			raw string
		)
		if err := rows.Scan(&id, &raw); err != nil {
			e.t.Fatal(err)
		}
		var args webhook.DeliverArgs
		var ev struct {
			Data struct{ ID string }
		}
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			e.t.Fatal(err)
		}
		if err := json.Unmarshal(args.Body, &ev); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, delivery{JobID: id, EventType: args.EventType, AssetID: ev.Data.ID})
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestCreatedQueuedBeforeFailed: an asset whose job fails at once (a URL
// import the server refuses, an upload that is not a video) has its
// asset.created delivery queued before its asset.failed one, however late
// the request's goroutine runs after the asset's transaction commits.
func TestCreatedQueuedBeforeFailed(t *testing.T) {
	tests := []struct {
		name   string
		create func(e *env, url string) (catalog.Asset, error)
	}{
		{"URL import refused", func(e *env, url string) (catalog.Asset, error) {
			return e.svc.ImportURL(e.ctx, url+"/missing.mp4", "", 0)
		}},
		{"upload not a video", func(e *env, _ string) (catalog.Asset, error) {
			path := filepath.Join(e.t.TempDir(), "notes.txt")
			if err := os.WriteFile(path, []byte("not a video at all"), 0o644); err != nil {
				e.t.Fatal(err)
			}
			return e.svc.CreateAsset(e.ctx, uploadOf(e.t, path))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{maxAttempts: 2})
			e.withFetcher()
			var (
				mu       sync.Mutex
				received []string
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Osprey-Event") == "" { // the source server
					http.NotFound(w, r)
					return
				}
				mu.Lock()
				received = append(received, r.Header.Get("Osprey-Event"))
				mu.Unlock()
			}))
			t.Cleanup(srv.Close)
			if err := e.cat.CreateWebhook(e.ctx, catalog.Webhook{ID: "wh_order", URL: srv.URL, Secret: webhook.NewSecret()}); err != nil {
				t.Fatal(err)
			}
			n := &lateCreated{Notifier: &webhook.Notifier{Store: e.cat, Queue: e.queue}, failed: make(chan struct{})}
			e.svc.cfg.Notify = n
			river.AddWorker(e.queue.Workers(), &webhook.Worker{Store: e.cat, Client: srv.Client()})
			e.start()

			a, err := tc.create(e, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.waitDone(a.ID); got.Status != catalog.AssetFailed {
				t.Fatalf("status %s, want failed", got.Status)
			}
			<-n.failed // asset.failed is queued after the status is written
			var types []string
			for _, d := range e.deliveries() {
				if d.AssetID != a.ID {
					t.Fatalf("a delivery about %q, want only %s", d.AssetID, a.ID)
				}
				types = append(types, d.EventType)
			}
			if len(types) != 2 || types[0] != eventCreated || types[1] != eventFailed {
				t.Fatalf("deliveries queued in the order %v, want [%s %s]", types, eventCreated, eventFailed)
			}
			// Both are delivered (in whichever order the workers run them).
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				got := len(received)
				mu.Unlock()
				if got == 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d deliveries received, want 2", got)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// brokenHooks is a webhook store that cannot list webhooks.
type brokenHooks struct{ catalog.WebhookStore }

func (brokenHooks) ListWebhooks(context.Context) ([]catalog.Webhook, error) {
	return nil, errors.New("webhooks unreadable")
}

// TestCreatedEventCommitsWithTheAsset: when asset.created cannot be
// queued, the asset is not created either (no row, no job): an asset
// exists exactly when its asset.created is queued.
func TestCreatedEventCommitsWithTheAsset(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withFetcher()
	e.svc.cfg.Notify = &webhook.Notifier{Store: brokenHooks{e.cat}, Queue: e.queue}
	e.start()

	path := filepath.Join(t.TempDir(), "upload.bin")
	if err := os.WriteFile(path, []byte("some bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	if a, err := e.svc.CreateAsset(e.ctx, uploadOf(t, path)); err == nil {
		t.Errorf("CreateAsset succeeded: %+v", a)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "some bytes" {
		t.Errorf("the upload is gone or changed: %q, %v", got, err)
	}
	if a, err := e.svc.ImportURL(e.ctx, "http://127.0.0.1:1/v.mp4", "", 0); err == nil {
		t.Errorf("ImportURL succeeded: %+v", a)
	}
	for _, table := range []string{"assets", "river_job"} {
		var n int
		if err := e.cat.DB().QueryRowContext(e.ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows (%v), want none", table, n, err)
		}
	}
	if got := e.files("sources"); len(got) != 0 {
		t.Errorf("sources left: %v", got)
	}
}
