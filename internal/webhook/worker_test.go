package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// receiver is a webhook endpoint answering status and remembering requests.
type receiver struct {
	mu     sync.Mutex
	status int
	reqs   []*http.Request
	bodies [][]byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	r.bodies = append(r.bodies, body)
	w.WriteHeader(r.status)
}

func newJob(args DeliverArgs, attempt int) *river.Job[DeliverArgs] {
	return &river.Job[DeliverArgs]{JobRow: &rivertype.JobRow{ID: 7, Attempt: attempt}, Args: args}
}

func testArgs() DeliverArgs {
	return DeliverArgs{
		WebhookID: "wh_1",
		EventID:   "evt_abc",
		EventType: AssetReady,
		Body:      json.RawMessage(`{"id":"evt_abc","type":"asset.ready","created_at":"2026-01-01T00:00:00Z","data":{"id":"as_1"}}`),
	}
}

func TestWorkOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		wantErr   bool
		wantError string // recorded delivery error
	}{
		{http.StatusOK, false, ""},
		{http.StatusNoContent, false, ""},
		{http.StatusGone, false, "HTTP 410 Gone"},
		{http.StatusInternalServerError, true, "HTTP 500 Internal Server Error"},
		{http.StatusTooManyRequests, true, "HTTP 429 Too Many Requests"},
		{http.StatusFound, true, "HTTP 302 Found"}, // redirects are not followed
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			rcv := &receiver{status: tc.status}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: srv.URL + "/hook", Secret: "whsec_s3cret"}}}
			w := &Worker{Store: store, Client: srv.Client()}
			args := testArgs()
			before := time.Now().Unix()
			err := w.Work(context.Background(), newJob(args, 3))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Work = %v, want error %v", err, tc.wantErr)
			}

			if len(rcv.reqs) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(rcv.reqs))
			}
			req, body := rcv.reqs[0], rcv.bodies[0]
			if req.Method != http.MethodPost || req.URL.Path != "/hook" || string(body) != string(args.Body) {
				t.Fatalf("got %s %s %s", req.Method, req.URL.Path, body)
			}
			if err := Verify("whsec_s3cret", req.Header.Get("Osprey-Signature"), body, 0); err != nil {
				t.Errorf("signature %q does not verify: %v", req.Header.Get("Osprey-Signature"), err)
			}
			for h, want := range map[string]string{
				"Content-Type":    "application/json",
				"User-Agent":      "Osprey-Webhooks/1",
				"Osprey-Event":    AssetReady,
				"Osprey-Delivery": "evt_abc",
			} {
				if got := req.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			ts, err := strconv.ParseInt(req.Header.Get("Osprey-Timestamp"), 10, 64)
			if err != nil || ts < before || ts > time.Now().Unix() {
				t.Errorf("Osprey-Timestamp = %q", req.Header.Get("Osprey-Timestamp"))
			}

			ds := store.recorded()
			if len(ds) != 1 {
				t.Fatalf("%d deliveries recorded, want 1", len(ds))
			}
			d := ds[0]
			if d.WebhookID != "wh_1" || d.EventID != "evt_abc" || d.EventType != AssetReady ||
				d.Attempt != 3 || d.StatusCode != tc.status || d.Error != tc.wantError || d.Duration <= 0 {
				t.Fatalf("recorded %+v", d)
			}
		})
	}
}

func TestWorkNetworkError(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook?token=SECRET"
	srv.Close() // nothing listens there now
	store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: url, Secret: "s"}}}
	w := &Worker{Store: store, Client: NewClient(true)}
	if err := w.Work(context.Background(), newJob(testArgs(), 1)); err == nil {
		t.Fatal("Work succeeded against a closed server")
	}
	ds := store.recorded()
	if len(ds) != 1 || ds[0].StatusCode != 0 || ds[0].Error == "" || ds[0].Attempt != 1 {
		t.Fatalf("recorded %+v, want one attempt without status and with an error", ds)
	}
	if strings.Contains(ds[0].Error, "SECRET") {
		t.Errorf("recorded error %q leaks the URL", ds[0].Error)
	}
}

func TestWorkTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	store := &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: srv.URL, Secret: "s"}}}
	w := &Worker{Store: store, Client: srv.Client()}
	// The job's context ends first here; the 10 s cap works the same way.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := w.Work(ctx, newJob(testArgs(), 2)); err == nil {
		t.Fatal("Work succeeded against a receiver that never answers")
	}
	if ds := store.recorded(); len(ds) != 1 || ds[0].Error == "" {
		t.Fatalf("recorded %+v, want the timed-out attempt (recorded despite the ended context)", ds)
	}
}

func TestWorkDeletedWebhook(t *testing.T) {
	t.Parallel()
	rcv := &receiver{status: http.StatusOK}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	store := &fakeStore{}
	w := &Worker{Store: store, Client: srv.Client()}
	if err := w.Work(context.Background(), newJob(testArgs(), 1)); err != nil {
		t.Fatalf("Work for a deleted webhook = %v, want nil", err)
	}
	if len(rcv.reqs) != 0 || len(store.recorded()) != 0 {
		t.Fatal("a deleted webhook was called or logged")
	}

	// Deleted while the request was in flight: the failure is not retried.
	var storeRef *fakeStore
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = storeRef.DeleteWebhook(r.Context(), "wh_1")
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv2.Close()
	storeRef = &fakeStore{hooks: []catalog.Webhook{{ID: "wh_1", URL: srv2.URL, Secret: "s"}}}
	w = &Worker{Store: storeRef, Client: srv2.Client()}
	if err := w.Work(context.Background(), newJob(testArgs(), 1)); err != nil {
		t.Fatalf("Work for a webhook deleted meanwhile = %v, want nil", err)
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		attempt int
		base    time.Duration
	}{
		{1, 5 * time.Second},
		{2, 10 * time.Second},
		{3, 20 * time.Second},
		{6, 160 * time.Second},
		{10, 2560 * time.Second},
		{11, time.Hour},
		{12, time.Hour},
		{100, time.Hour},
	}
	for _, tc := range tests {
		lo, mid, hi := retryDelay(tc.attempt, 0), retryDelay(tc.attempt, 0.5), retryDelay(tc.attempt, 0.999999)
		if mid != tc.base {
			t.Errorf("attempt %d: delay without jitter %v, want %v", tc.attempt, mid, tc.base)
		}
		if lo != tc.base*9/10 || hi < tc.base*109/100 || hi > tc.base*11/10 {
			t.Errorf("attempt %d: jitter range [%v, %v], want ±10%% of %v", tc.attempt, lo, hi, tc.base)
		}
	}
	// NextRetry uses it: a time in the jittered window from now.
	w := &Worker{}
	for _, attempt := range []int{1, 4, 12} {
		d := time.Until(w.NextRetry(newJob(testArgs(), attempt)))
		want := retryDelay(attempt, 0.5)
		if d < want*89/100 || d > want*11/10 {
			t.Errorf("NextRetry(attempt %d) in %v, want about %v", attempt, d, want)
		}
	}
}
