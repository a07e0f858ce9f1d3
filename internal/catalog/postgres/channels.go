package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

const channelColumns = "id, name, stream_key, created_at, updated_at, dvr_window_ns, record"

// CreateChannel inserts ch. A zero CreatedAt becomes the current time and a
// zero UpdatedAt becomes CreatedAt. A taken ID, name or stream key returns an
// error wrapping catalog.ErrConflict.
func (s *Store) CreateChannel(ctx context.Context, ch catalog.Channel) error {
	if err := checkChannel(ch); err != nil {
		return err
	}
	if ch.CreatedAt.IsZero() {
		ch.CreatedAt = s.stamp()
	}
	if ch.UpdatedAt.IsZero() {
		ch.UpdatedAt = ch.CreatedAt
	}
	_, err := s.pool.Exec(ctx,
		"INSERT INTO channels ("+channelColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
		ch.ID, ch.Name, ch.StreamKey, ts(ch.CreatedAt), ts(ch.UpdatedAt), int64(ch.DVRWindow), ch.Record)
	if err != nil {
		return fmt.Errorf("catalog/postgres: create channel %q: %w", ch.ID, mapErr(err))
	}
	return nil
}

// GetChannel returns the channel with the given ID.
func (s *Store) GetChannel(ctx context.Context, id string) (catalog.Channel, error) {
	row := s.pool.QueryRow(ctx, "SELECT "+channelColumns+" FROM channels WHERE id = $1", id)
	ch, err := scanChannel(row)
	if err != nil {
		return catalog.Channel{}, fmt.Errorf("catalog/postgres: get channel %q: %w", id, mapErr(err))
	}
	return ch, nil
}

// ChannelByStreamKey finds the channel whose stream key is key. As in
// catalog/sqlite, the indexed equality is not constant-time; stream keys
// are long random strings, so this is accepted.
func (s *Store) ChannelByStreamKey(ctx context.Context, key string) (catalog.Channel, error) {
	if key == "" {
		return catalog.Channel{}, fmt.Errorf("catalog/postgres: channel by stream key: empty key: %w", catalog.ErrNotFound)
	}
	row := s.pool.QueryRow(ctx, "SELECT "+channelColumns+" FROM channels WHERE stream_key = $1", key)
	ch, err := scanChannel(row)
	if err != nil {
		// Never put the key in an error: errors end up in logs.
		return catalog.Channel{}, fmt.Errorf("catalog/postgres: channel by stream key: %w", mapErr(err))
	}
	return ch, nil
}

// ListChannels returns every channel, oldest first (ties by ID).
func (s *Store) ListChannels(ctx context.Context) ([]catalog.Channel, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+channelColumns+" FROM channels ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("catalog/postgres: list channels: %w", err)
	}
	defer rows.Close()
	chans := []catalog.Channel{}
	for rows.Next() {
		ch, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog/postgres: list channels: %w", err)
		}
		chans = append(chans, ch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog/postgres: list channels: %w", err)
	}
	return chans, nil
}

// DeleteChannel removes the channel; a missing one returns an error wrapping
// catalog.ErrNotFound.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM channels WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("catalog/postgres: delete channel %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("catalog/postgres: delete channel %q: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// SetStreamKey replaces the channel's stream key, sets UpdatedAt to now and
// returns the updated channel.
func (s *Store) SetStreamKey(ctx context.Context, id, key string) (catalog.Channel, error) {
	if key == "" {
		return catalog.Channel{}, fmt.Errorf("catalog/postgres: set stream key of %q: empty key", id)
	}
	row := s.pool.QueryRow(ctx,
		"UPDATE channels SET stream_key = $1, updated_at = $2 WHERE id = $3 RETURNING "+channelColumns,
		key, s.stamp(), id)
	ch, err := scanChannel(row)
	if err != nil {
		return catalog.Channel{}, fmt.Errorf("catalog/postgres: set stream key of %q: %w", id, mapErr(err))
	}
	return ch, nil
}

func checkChannel(ch catalog.Channel) error {
	switch {
	case ch.ID == "":
		return errors.New("catalog/postgres: channel has no ID")
	case ch.Name == "":
		return errors.New("catalog/postgres: channel has no name")
	case ch.StreamKey == "":
		return errors.New("catalog/postgres: channel has no stream key")
	case ch.DVRWindow < 0:
		return errors.New("catalog/postgres: channel has a negative DVR window")
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanChannel(sc scanner) (catalog.Channel, error) {
	var (
		ch  catalog.Channel
		dvr int64
	)
	if err := sc.Scan(&ch.ID, &ch.Name, &ch.StreamKey, &ch.CreatedAt, &ch.UpdatedAt, &dvr, &ch.Record); err != nil {
		return catalog.Channel{}, err
	}
	ch.DVRWindow = time.Duration(dvr)
	ch.CreatedAt, ch.UpdatedAt = ch.CreatedAt.UTC(), ch.UpdatedAt.UTC()
	return ch, nil
}

// utc is t in UTC, keeping the zero time zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// UpdateChannel reads the channel, applies fn and writes its name, DVR
// window and record flag in one transaction, the row locked; UpdatedAt
// becomes now.
func (s *Store) UpdateChannel(ctx context.Context, id string, fn func(*catalog.Channel) error) (catalog.Channel, error) {
	var out catalog.Channel
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ch, err := scanChannel(tx.QueryRow(ctx, "SELECT "+channelColumns+" FROM channels WHERE id = $1 FOR UPDATE", id))
		if err != nil {
			return fmt.Errorf("catalog/postgres: update channel %q: %w", id, mapErr(err))
		}
		if err := fn(&ch); err != nil {
			return err
		}
		if err := checkChannel(ch); err != nil {
			return err
		}
		row := tx.QueryRow(ctx,
			"UPDATE channels SET name = $1, dvr_window_ns = $2, record = $3, updated_at = $4 WHERE id = $5 RETURNING "+channelColumns,
			ch.Name, int64(ch.DVRWindow), ch.Record, s.stamp(), id)
		if out, err = scanChannel(row); err != nil {
			return fmt.Errorf("catalog/postgres: update channel %q: %w", id, mapErr(err))
		}
		return nil
	})
	if err != nil {
		return catalog.Channel{}, err
	}
	return out, nil
}
