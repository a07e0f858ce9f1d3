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
//
// Order: deliveries are queued in the order the events are emitted, and
// asset.created (EmitTx, in the asset's creation transaction) before any
// later event of its asset. They are not delivered in that order for sure:
// the webhooks queue runs several deliveries at once, to one webhook too,
// and a failed attempt is retried later while the next events go out.
// Receivers order an asset's events by the asset's updated_at, which the
// payload (the API's form of the asset) carries.
type Notifier struct {
	Store catalog.WebhookStore
	Queue Enqueuer         // EmitTx needs a TxEnqueuer
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

// TxEnqueuer is an Enqueuer that can also insert a job inside a catalog
// transaction (internal/jobs.Queue).
type TxEnqueuer interface {
	Enqueuer
	InsertTx(ctx context.Context, tx catalog.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Emit fans one event out to every webhook subscribed to its type (a
// webhook with no Events gets every type): one DeliverArgs job each, all
// with the same event ID and body. A failed insert does not stop the others;
// the errors are returned joined.
func (n *Notifier) Emit(ctx context.Context, eventType string, data any) error {
	ev, hooks, err := n.prepare(ctx, eventType, data)
	if err != nil || len(hooks) == 0 {
		return err
	}
	var errs []error
	for _, w := range hooks {
		if _, err := n.Queue.Insert(ctx, ev.args(w), nil); err != nil {
			n.log().Warn("queueing a webhook delivery failed", "webhook", w.ID, "event", ev.ID, "type", eventType, "err", err)
			errs = append(errs, fmt.Errorf("webhook: queueing %s for %s: %w", eventType, w.ID, err))
		}
	}
	return errors.Join(errs...)
}

// EmitTx is Emit inside the catalog transaction tx (n.Queue must be a
// TxEnqueuer): the deliveries exist only if tx commits, together with the
// change the event reports. asset.created is emitted this way, in the
// transaction that inserts the asset and its first job, so its deliveries
// are queued (lower job IDs, earlier scheduled_at) before anything that job
// can emit, and an asset that is not created has no asset.created.
//
// The webhooks are listed through n.Store. On SQLite that is the reader
// pool, which sees the same webhooks as tx would: tx holds the only write
// lock (BEGIN IMMEDIATE), so nothing can change them until it ends.
//
// Unlike Emit, the first failure is returned at once: the caller is to roll
// tx back (on PostgreSQL a failed statement aborts the transaction anyway).
func (n *Notifier) EmitTx(ctx context.Context, tx catalog.Tx, eventType string, data any) error {
	q, ok := n.Queue.(TxEnqueuer)
	if !ok {
		return fmt.Errorf("webhook: emit %s: the queue (%T) cannot insert in a transaction", eventType, n.Queue)
	}
	ev, hooks, err := n.prepare(ctx, eventType, data)
	if err != nil {
		return err
	}
	for _, w := range hooks {
		if _, err := q.InsertTx(ctx, tx, ev.args(w), nil); err != nil {
			return fmt.Errorf("webhook: queueing %s for %s: %w", eventType, w.ID, err)
		}
	}
	return nil
}

// prepared is an event ready to be queued.
type prepared struct {
	Event
	body []byte
}

func (ev prepared) args(w catalog.Webhook) DeliverArgs {
	return DeliverArgs{WebhookID: w.ID, EventID: ev.ID, EventType: ev.Type, Body: ev.body}
}

// prepare checks the event type, lists the webhooks subscribed to it and,
// if there are any, builds the event.
func (n *Notifier) prepare(ctx context.Context, eventType string, data any) (prepared, []catalog.Webhook, error) {
	if !slices.Contains(EventTypes, eventType) {
		return prepared{}, nil, fmt.Errorf("webhook: emit: unknown event type %q", eventType)
	}
	hooks, err := n.Store.ListWebhooks(ctx)
	if err != nil {
		return prepared{}, nil, fmt.Errorf("webhook: emit %s: %w", eventType, err)
	}
	hooks = slices.DeleteFunc(hooks, func(w catalog.Webhook) bool { return !Subscribed(w, eventType) })
	if len(hooks) == 0 {
		return prepared{}, nil, nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return prepared{}, nil, fmt.Errorf("webhook: emit %s: encoding data: %w", eventType, err)
	}
	now := time.Now
	if n.Now != nil {
		now = n.Now
	}
	ev := Event{ID: newEventID(), Type: eventType, CreatedAt: now().UTC().Format(time.RFC3339Nano), Data: raw}
	body, err := json.Marshal(ev)
	if err != nil {
		return prepared{}, nil, fmt.Errorf("webhook: emit %s: %w", eventType, err)
	}
	return prepared{Event: ev, body: body}, hooks, nil
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
