package postgres

import (
	"context"
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
		return errors.New("catalog/postgres: webhook has no ID")
	case w.URL == "":
		return errors.New("catalog/postgres: webhook has no URL")
	case w.Secret == "":
		return errors.New("catalog/postgres: webhook has no secret")
	}
	if w.CreatedAt.IsZero() {
		w.CreatedAt = s.stamp()
	}
	events := w.Events
	if events == nil {
		events = []string{} // the column is NOT NULL; pgx sends a nil slice as NULL
	}
	if _, err := s.pool.Exec(ctx,
		"INSERT INTO webhooks ("+webhookColumns+") VALUES ($1, $2, $3, $4, $5)",
		w.ID, w.URL, w.Secret, events, ts(w.CreatedAt)); err != nil {
		return fmt.Errorf("catalog/postgres: create webhook %q: %w", w.ID, mapErr(err))
	}
	return nil
}

// GetWebhook returns the webhook with the given ID.
func (s *Store) GetWebhook(ctx context.Context, id string) (catalog.Webhook, error) {
	row := s.pool.QueryRow(ctx, "SELECT "+webhookColumns+" FROM webhooks WHERE id = $1", id)
	w, err := scanWebhook(row)
	if err != nil {
		return catalog.Webhook{}, fmt.Errorf("catalog/postgres: get webhook %q: %w", id, mapErr(err))
	}
	return w, nil
}

// ListWebhooks returns every webhook, oldest first (ties by ID).
func (s *Store) ListWebhooks(ctx context.Context) ([]catalog.Webhook, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+webhookColumns+" FROM webhooks ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("catalog/postgres: list webhooks: %w", err)
	}
	defer rows.Close()
	hooks := []catalog.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog/postgres: list webhooks: %w", err)
		}
		hooks = append(hooks, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog/postgres: list webhooks: %w", err)
	}
	return hooks, nil
}

// DeleteWebhook removes the webhook and, by the foreign key's ON DELETE
// CASCADE, its delivery log, in one statement; a missing one returns an
// error wrapping catalog.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM webhooks WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("catalog/postgres: delete webhook %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("catalog/postgres: delete webhook %q: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// AddDelivery records d (a zero CreatedAt becomes now) and returns it with
// its ID set. A webhook that does not exist (or is deleted meanwhile)
// returns an error wrapping catalog.ErrNotFound.
func (s *Store) AddDelivery(ctx context.Context, d catalog.Delivery) (catalog.Delivery, error) {
	if d.CreatedAt.IsZero() {
		d.CreatedAt = s.stamp()
	}
	row := s.pool.QueryRow(ctx, "INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, attempt, status_code, error, duration_ns, created_at) "+
		"SELECT id, $1, $2, $3, $4, $5, $6, $7 FROM webhooks WHERE id = $8 RETURNING "+deliveryColumns,
		d.EventID, d.EventType, d.Attempt, d.StatusCode, d.Error, int64(d.Duration), ts(d.CreatedAt), d.WebhookID)
	got, err := scanDelivery(row)
	switch {
	case isErrCode(err, foreignKeyViolation):
		// The webhook was deleted between the SELECT and the insert's check.
		return catalog.Delivery{}, fmt.Errorf("catalog/postgres: add delivery to %q: %w: %w", d.WebhookID, catalog.ErrNotFound, err)
	case err != nil:
		// No row: the SELECT found no webhook.
		return catalog.Delivery{}, fmt.Errorf("catalog/postgres: add delivery to %q: %w", d.WebhookID, mapErr(err))
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
	rows, err := s.pool.Query(ctx, "SELECT "+deliveryColumns+" FROM webhook_deliveries WHERE webhook_id = $1 "+
		"ORDER BY created_at DESC, id DESC LIMIT $2", webhookID, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog/postgres: list deliveries of %q: %w", webhookID, err)
	}
	defer rows.Close()
	out := []catalog.Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog/postgres: list deliveries of %q: %w", webhookID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog/postgres: list deliveries of %q: %w", webhookID, err)
	}
	return out, nil
}

func scanWebhook(sc scanner) (catalog.Webhook, error) {
	var w catalog.Webhook
	if err := sc.Scan(&w.ID, &w.URL, &w.Secret, &w.Events, &w.CreatedAt); err != nil {
		return catalog.Webhook{}, err
	}
	w.CreatedAt = w.CreatedAt.UTC()
	return w, nil
}

func scanDelivery(sc scanner) (catalog.Delivery, error) {
	var d catalog.Delivery
	var duration int64
	if err := sc.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.EventType, &d.Attempt,
		&d.StatusCode, &d.Error, &duration, &d.CreatedAt); err != nil {
		return catalog.Delivery{}, err
	}
	d.Duration = time.Duration(duration)
	d.CreatedAt = d.CreatedAt.UTC()
	return d, nil
}
