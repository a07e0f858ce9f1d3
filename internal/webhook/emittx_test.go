package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/jobs"
)

// The queue Osprey runs on can insert in a catalog transaction.
var _ TxEnqueuer = (*jobs.Queue)(nil)

// TestEmitTx queues deliveries inside an asset's creation transaction on
// the real queue and SQLite catalog: they exist only if it commits.
func TestEmitTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	for _, w := range []catalog.Webhook{
		{ID: "wh_all", URL: srv.URL, Secret: NewSecret()},
		{ID: "wh_created", URL: srv.URL, Secret: NewSecret(), Events: []string{AssetCreated}},
		{ID: "wh_ready", URL: srv.URL, Secret: NewSecret(), Events: []string{AssetReady}},
	} {
		if err := store.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	q, err := jobs.OpenSQLite(ctx, store.DB(), jobs.Config{PollInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(q.Workers(), &Worker{Store: store, Client: srv.Client()})
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := q.Stop(stopCtx); err != nil {
			t.Error(err)
		}
	})
	n := &Notifier{Store: store, Queue: q}

	// queued returns the deliveries in the queue, in job ID order.
	queued := func() []DeliverArgs {
		t.Helper()
		rows, err := store.DB().QueryContext(ctx, "SELECT json(args) FROM river_job WHERE kind = 'webhook.deliver' ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []DeliverArgs
		for rows.Next() {
			var raw string
			var d DeliverArgs
			if err := rows.Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(raw), &d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Rolled back: no asset, no delivery.
	rollback := errors.New("rolled back")
	err = store.CreateAsset(ctx, catalog.Asset{ID: "as_gone"}, func(ctx context.Context, tx catalog.Tx) error {
		if err := n.EmitTx(ctx, tx, AssetCreated, map[string]string{"id": "as_gone"}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("CreateAsset: %v, want the callback's error", err)
	}
	if got := queued(); len(got) != 0 {
		t.Fatalf("a rolled-back transaction left deliveries: %+v", got)
	}

	// Committed: one delivery per subscribed webhook, one event.
	err = store.CreateAsset(ctx, catalog.Asset{ID: "as_kept"}, func(ctx context.Context, tx catalog.Tx) error {
		return n.EmitTx(ctx, tx, AssetCreated, map[string]string{"id": "as_kept"})
	})
	if err != nil {
		t.Fatal(err)
	}
	got := queued()
	var hooks []string
	for _, d := range got {
		hooks = append(hooks, d.WebhookID)
		if d.EventType != AssetCreated || d.EventID != got[0].EventID || !strings.Contains(string(d.Body), `"data":{"id":"as_kept"}`) {
			t.Errorf("delivery %+v", d)
		}
	}
	if !slices.Equal(hooks, []string{"wh_all", "wh_created"}) {
		t.Errorf("deliveries to %v, want [wh_all wh_created]", hooks)
	}

	// Refusals roll the caller's transaction back.
	for name, emit := range map[string]func(context.Context, catalog.Tx) error{
		"unknown type": func(ctx context.Context, tx catalog.Tx) error {
			return n.EmitTx(ctx, tx, "asset.exploded", nil)
		},
		"queue without transactions": func(ctx context.Context, tx catalog.Tx) error {
			return (&Notifier{Store: store, Queue: &fakeQueue{}}).EmitTx(ctx, tx, AssetCreated, nil)
		},
	} {
		if err := store.CreateAsset(ctx, catalog.Asset{ID: "as_" + strings.ReplaceAll(name, " ", "_")}, emit); err == nil {
			t.Errorf("%s: the transaction committed", name)
		}
	}
	if n := len(queued()); n != 2 {
		t.Errorf("%d deliveries queued, want the 2 committed", n)
	}
}
