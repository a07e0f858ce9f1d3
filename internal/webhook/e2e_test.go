package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/sqlite"
	"github.com/ospreyvideo/osprey/internal/jobs"
)

// TestEndToEnd runs Emit through the real job queue on an SQLite catalog:
// the receiver gets a correctly signed event, and the attempt is logged.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	type received struct {
		body []byte
		sig  string
	}
	got := make(chan received, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{body, r.Header.Get("Osprey-Signature")}
	}))
	defer srv.Close()
	hook := catalog.Webhook{ID: "wh_e2e", URL: srv.URL, Secret: NewSecret(), Events: []string{AssetReady}}
	if err := store.CreateWebhook(ctx, hook); err != nil {
		t.Fatal(err)
	}

	q, err := jobs.OpenSQLite(ctx, store.DB(), jobs.Config{PollInterval: 50 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	river.AddWorker(q.Workers(), &Worker{Store: store, Client: srv.Client()})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := q.Stop(stopCtx); err != nil {
			t.Error(err)
		}
	}()

	n := &Notifier{Store: store, Queue: q}
	if err := n.Emit(ctx, AssetReady, map[string]string{"id": "as_1"}); err != nil {
		t.Fatal(err)
	}
	var r received
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
	}
	if err := Verify(hook.Secret, r.sig, r.body, 0); err != nil {
		t.Fatalf("signature %q does not verify for %s: %v", r.sig, r.body, err)
	}
	var ev Event
	if err := json.Unmarshal(r.body, &ev); err != nil || ev.Type != AssetReady || string(ev.Data) != `{"id":"as_1"}` {
		t.Fatalf("body %s (%v)", r.body, err)
	}

	// The attempt is recorded right after the response.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ds, err := store.ListDeliveries(ctx, hook.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 {
			if d := ds[0]; d.EventID != ev.ID || d.Attempt != 1 || d.StatusCode != http.StatusOK || d.Error != "" {
				t.Fatalf("recorded %+v", d)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries recorded, want 1", len(ds))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
