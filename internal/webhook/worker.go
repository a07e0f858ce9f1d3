package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// Queue is the job queue deliveries run on.
const Queue = "webhooks"

const (
	maxAttempts     = 12
	deliveryTimeout = 10 * time.Second
	firstRetry      = 5 * time.Second
	maxRetry        = time.Hour
	maxErrorBody    = 64 << 10 // bytes of a response read so the connection can be reused
)

// DeliverArgs is the job that delivers one event to one webhook.
type DeliverArgs struct {
	WebhookID string          `json:"webhook_id"`
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	Body      json.RawMessage `json:"body"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "webhook.deliver" }

// InsertOpts puts deliveries on the "webhooks" queue with 12 attempts
// (about 2.5 hours of retries with NextRetry's backoff).
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: maxAttempts}
}

// Worker delivers DeliverArgs jobs.
type Worker struct {
	river.WorkerDefaults[DeliverArgs]
	Store catalog.WebhookStore
	// Client sends deliveries; nil means NewClient(false): guarded
	// against non-public addresses, no proxy. Redirects are never
	// followed, whatever the client says.
	Client *http.Client
	Log    *slog.Logger     // nil discards
	Now    func() time.Time // nil means time.Now; stamps the signature

	defaultOnce   sync.Once
	defaultClient *http.Client
}

// Work POSTs the event to the webhook and records the attempt. A 2xx answer
// or 410 Gone ends the job; any other answer or a network error is returned
// so the queue retries. A webhook deleted in the meantime ends the job too.
func (w *Worker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	args := job.Args
	log := w.log().With("webhook", args.WebhookID, "event", args.EventID, "attempt", job.Attempt)
	hook, err := w.Store.GetWebhook(ctx, args.WebhookID)
	if errors.Is(err, catalog.ErrNotFound) {
		log.Info("webhook deleted; delivery dropped")
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook: delivering %s to %s: %w", args.EventID, args.WebhookID, err)
	}

	status, took, postErr := w.post(ctx, hook, args)
	d := catalog.Delivery{
		WebhookID:  hook.ID,
		EventID:    args.EventID,
		EventType:  args.EventType,
		Attempt:    job.Attempt,
		StatusCode: status,
		Duration:   took,
	}
	if postErr != nil {
		d.Error = postErr.Error()
	}
	if _, err := w.Store.AddDelivery(context.WithoutCancel(ctx), d); errors.Is(err, catalog.ErrNotFound) {
		log.Info("webhook deleted during delivery")
		return nil
	} else if err != nil {
		// Losing a log line must not cause a duplicate delivery.
		log.Warn("recording a webhook delivery failed", "err", err)
	}
	switch {
	case postErr == nil:
		log.Debug("webhook delivered", "status", status, "duration", took)
		return nil
	case status == http.StatusGone:
		log.Info("webhook answered 410 Gone; not retrying this event")
		return nil
	default:
		log.Warn("webhook delivery failed", "status", status, "err", postErr)
		return fmt.Errorf("webhook: delivering %s to %s: %w", args.EventID, hook.ID, postErr)
	}
}

// post sends one attempt and returns the response status (0 without a
// response), how long it took, and an error unless the status was 2xx.
func (w *Worker) post(ctx context.Context, hook catalog.Webhook, args DeliverArgs) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(args.Body))
	if err != nil {
		return 0, 0, fmt.Errorf("bad webhook URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Osprey-Webhooks/1")
	req.Header.Set("Osprey-Event", args.EventType)
	req.Header.Set("Osprey-Delivery", args.EventID)
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	req.Header.Set("Osprey-Timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("Osprey-Signature", Sign(hook.Secret, now, args.Body))

	start := time.Now()
	resp, err := w.client().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token
		}
		return 0, time.Since(start), blockedError(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, took, fmt.Errorf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, took, nil
}

// client is w.Client (or NewClient(false)) set not to follow redirects: a
// redirected POST would turn into a GET, and its target would escape
// CheckURL, so a 3xx is a failed attempt.
func (w *Worker) client() *http.Client {
	base := w.Client
	if base == nil {
		w.defaultOnce.Do(func() { w.defaultClient = NewClient(false) })
		base = w.defaultClient
	}
	c := *base
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// NextRetry schedules the next attempt: 5 s after the first failure,
// doubling each time up to 1 h, with ±10 % jitter so retries of many
// events do not arrive together.
func (w *Worker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(retryDelay(job.Attempt, rand.Float64()))
}

// retryDelay is the backoff after the given (1-based) failed attempt, with
// r in [0, 1) choosing the jitter.
func retryDelay(attempt int, r float64) time.Duration {
	d := firstRetry
	for i := 1; i < attempt && d < maxRetry; i++ {
		d *= 2
	}
	d = min(d, maxRetry)
	return time.Duration(float64(d) * (0.9 + 0.2*r))
}

func (w *Worker) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log.With("component", "webhook")
}
