package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// Enqueuer inserts jobs (internal/jobs.Queue satisfies it; it wraps a River
// client).
type Enqueuer interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Notifier turns events into delivery jobs.
type Notifier struct {
	Store catalog.WebhookStore
	Queue Enqueuer
	Log   *slog.Logger     // nil discards
	Now   func() time.Time // nil means time.Now
}

// Event is the JSON body every delivery carries.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt string          `json:"created_at"` // RFC 3339 with nanoseconds, UTC
	Data      json.RawMessage `json:"data"`
}

// Emit fans one event out to every webhook subscribed to its type (a
// webhook with no Events gets every type): one DeliverArgs job each, all
// with the same event ID and body. A failed insert does not stop the others;
// the errors are returned joined.
func (n *Notifier) Emit(ctx context.Context, eventType string, data any) error {
	if !slices.Contains(EventTypes, eventType) {
		return fmt.Errorf("webhook: emit: unknown event type %q", eventType)
	}
	hooks, err := n.Store.ListWebhooks(ctx)
	if err != nil {
		return fmt.Errorf("webhook: emit %s: %w", eventType, err)
	}
	hooks = slices.DeleteFunc(hooks, func(w catalog.Webhook) bool { return !Subscribed(w, eventType) })
	if len(hooks) == 0 {
		return nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("webhook: emit %s: encoding data: %w", eventType, err)
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	ev := Event{ID: newEventID(), Type: eventType, CreatedAt: now().UTC().Format(time.RFC3339Nano), Data: raw}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("webhook: emit %s: %w", eventType, err)
	}
	var errs []error
	for _, w := range hooks {
		args := DeliverArgs{WebhookID: w.ID, EventID: ev.ID, EventType: eventType, Body: body}
		if _, err := n.Queue.Insert(ctx, args, nil); err != nil {
			n.log().Warn("queueing a webhook delivery failed", "webhook", w.ID, "event", ev.ID, "type", eventType, "err", err)
			errs = append(errs, fmt.Errorf("webhook: queueing %s for %s: %w", eventType, w.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Subscribed reports whether w wants events of type eventType.
func Subscribed(w catalog.Webhook, eventType string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, eventType)
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return n.Log.With("component", "webhook")
}
