package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

const (
	webhookColumns  = "id, url, secret, events, created_at"
	deliveryColumns = "id, webhook_id, event_id, event_type, attempt, status_code, error, duration_ns, created_at"

	defaultDeliveries = 100
)

// CreateWebhook inserts w. A zero CreatedAt becomes now; a taken ID returns
// an error wrapping catalog.ErrConflict.
func (s *Store) CreateWebhook(ctx context.Context, w catalog.Webhook) error {
	switch {
	case w.ID == "":
		return errors.New("catalog/sqlite: webhook has no ID")
	case w.URL == "":
		return errors.New("catalog/sqlite: webhook has no URL")
	case w.Secret == "":
		return errors.New("catalog/sqlite: webhook has no secret")
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = s.stamp()
	}
	events := w.Events
	if events == nil {
		events = []string{}
	}
	ev, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("catalog/sqlite: create webhook %q: %w", w.ID, err)
	}
	if _, err := s.w.ExecContext(ctx,
		"INSERT INTO webhooks ("+webhookColumns+") VALUES (?, ?, ?, ?, ?)",
		w.ID, w.URL, w.Secret, string(ev), formatTime(w.CreatedAt)); err != nil {
		return fmt.Errorf("catalog/sqlite: create webhook %q: %w", w.ID, mapErr(err))
	}
	return nil
}

// GetWebhook returns the webhook with the given ID.
func (s *Store) GetWebhook(ctx context.Context, id string) (catalog.Webhook, error) {
	row := s.r.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = ?", id)
	w, err := scanWebhook(row)
	if err != nil {
		return catalog.Webhook{}, fmt.Errorf("catalog/sqlite: get webhook %q: %w", id, mapErr(err))
	}
	return w, nil
}

// ListWebhooks returns every webhook, oldest first (ties by ID).
func (s *Store) ListWebhooks(ctx context.Context) ([]catalog.Webhook, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+webhookColumns+" FROM webhooks ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("catalog/sqlite: list webhooks: %w", err)
	}
	defer rows.Close()
	hooks := []catalog.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog/sqlite: list webhooks: %w", err)
		}
		hooks = append(hooks, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog/sqlite: list webhooks: %w", err)
	}
	return hooks, nil
}

// DeleteWebhook removes the webhook and its delivery log in one
// transaction; a missing one returns an error wrapping catalog.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM webhook_deliveries WHERE webhook_id = ?", id); err != nil {
			return fmt.Errorf("catalog/sqlite: delete webhook %q: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM webhooks WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("catalog/sqlite: delete webhook %q: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("catalog/sqlite: delete webhook %q: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("catalog/sqlite: delete webhook %q: %w", id, catalog.ErrNotFound)
		}
		return nil
	})
}

// AddDelivery records d (a zero CreatedAt becomes now) and returns it with
// its ID set. A webhook that does not exist (or was just deleted) returns an
// error wrapping catalog.ErrNotFound.
func (s *Store) AddDelivery(ctx context.Context, d catalog.Delivery) (catalog.Delivery, error) {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.stamp()
	}
	row := s.w.QueryRowContext(ctx, "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status_code, error, duration_ns, created_at) "+
		"SELECT id, ?, ?, ?, ?, ?, ?, ? FROM webhooks WHERE id = ? RETURNING "+deliveryColumns,
		d.EventID, d.EventType, d.Attempt, d.StatusCode, d.Error, int64(d.Duration), formatTime(d.CreatedAt), d.WebhookID)
	got, err := scanDelivery(row)
	if err != nil {
		// No row: the SELECT found no webhook.
		return catalog.Delivery{}, fmt.Errorf("catalog/sqlite: add delivery to %q: %w", d.WebhookID, mapErr(err))
	}
	return got, nil
}

// ListDeliveries returns the webhook's most recent attempts, newest first
// (by CreatedAt, then ID); limit 0 or less means 100. An unknown webhook has
// no deliveries.
func (s *Store) ListDeliveries(ctx context.Context, webhookID string, limit int) ([]catalog.Delivery, error) {
	if limit <= 0 {
		limit = defaultDeliveries
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE webhook_id = ? "+
		"ORDER BY created_at DESC, id DESC LIMIT ?", webhookID, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog/sqlite: list deliveries of %q: %w", webhookID, err)
	}
	defer rows.Close()
	out := []catalog.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog/sqlite: list deliveries of %q: %w", webhookID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog/sqlite: list deliveries of %q: %w", webhookID, err)
	}
	return out, nil
}

func scanWebhook(sc scanner) (catalog.Webhook, error) {
	var w catalog.Webhook
	var events, created string
	if err := sc.Scan(&w.ID, &w.URL, &w.Secret, &events, &created); err != nil {
		return catalog.Webhook{}, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return catalog.Webhook{}, fmt.Errorf("webhook %q: bad events: %w", w.ID, err)
	}
	var err error
	if w.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
		return catalog.Webhook{}, fmt.Errorf("webhook %q: bad timestamp: %w", w.ID, err)
	}
	return w, nil
}

func scanDelivery(sc scanner) (catalog.Delivery, error) {
	var d catalog.Delivery
	var duration int64
	var created string
	if err := sc.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Attempt,
		&d.StatusCode, &d.Error, &duration, &created); err != nil {
		return catalog.Delivery{}, err
	}
	d.Duration = time.Duration(duration)
	var err error
	if d.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
		return catalog.Delivery{}, fmt.Errorf("delivery %d: bad timestamp: %w", d.ID, err)
	}
	return d, nil
}
