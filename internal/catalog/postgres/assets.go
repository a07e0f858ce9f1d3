package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

const assetColumns = `id, title, status, stage, progress, error, attempts,
	source_filename, source_size, source_key, source_origin, source_url, source_probe,
	upload_id, job_id, duration_ns, output, created_at, updated_at, ready_at`

// CreateAsset inserts a and, if also is not nil, runs also in the same
// transaction with the pgx.Tx as its catalog.Tx; an error from also rolls
// the insert back and is returned as is. A zero CreatedAt becomes now, a
// zero UpdatedAt becomes CreatedAt, and an empty Status becomes queued. A
// taken ID returns an error wrapping catalog.ErrConflict.
func (s *Store) CreateAsset(ctx context.Context, a catalog.Asset, also func(ctx context.Context, tx catalog.Tx) error) error {
	if a.ID == "" {
		return errors.New("catalog/postgres: asset has no ID")
	}
	if a.Status == "" {
		a.Status = catalog.AssetQueued
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.stamp()
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx,
			"INSERT INTO assets ("+assetColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
			assetArgs(a)...); err != nil {
			return fmt.Errorf("catalog/postgres: create asset %q: %w", a.ID, mapErr(err))
		}
		if also != nil {
			return also(ctx, tx)
		}
		return nil
	})
}

// GetAsset returns the asset with the given ID.
func (s *Store) GetAsset(ctx context.Context, id string) (catalog.Asset, error) {
	row := s.pool.QueryRow(ctx, "SELECT "+assetColumns+" FROM assets WHERE id = $1", id)
	a, err := scanAsset(row)
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("catalog/postgres: get asset %q: %w", id, mapErr(err))
	}
	return a, nil
}

// UpdateAsset reads the asset, applies fn and writes the result in one
// transaction, holding the row lock (SELECT … FOR UPDATE) from the read to
// the commit, so concurrent updates — from this process or another — queue
// and never lose each other's changes. fn must not change the ID; UpdatedAt
// is set to now. fn's error aborts the update and is returned as is.
func (s *Store) UpdateAsset(ctx context.Context, id string, fn func(*catalog.Asset) error) (catalog.Asset, error) {
	return s.UpdateAssetTx(ctx, id, func(_ context.Context, _ catalog.Tx, a *catalog.Asset) error { return fn(a) })
}

var _ catalog.AssetTxUpdater = (*Store)(nil)

// UpdateAssetTx is UpdateAsset with the pgx.Tx handed to fn as its
// catalog.Tx, for fn to insert a job in the same transaction. fn runs while
// the asset's row is locked: it should not wait on another update of the
// same asset.
func (s *Store) UpdateAssetTx(ctx context.Context, id string, fn func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error) (catalog.Asset, error) {
	var out catalog.Asset
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, "SELECT "+assetColumns+" FROM assets WHERE id = $1 FOR UPDATE", id)
		a, err := scanAsset(row)
		if err != nil {
			return fmt.Errorf("catalog/postgres: update asset %q: %w", id, mapErr(err))
		}
		if err := fn(ctx, tx, &a); err != nil {
			return err
		}
		if a.ID != id {
			return fmt.Errorf("catalog/postgres: update asset %q: the ID cannot change (to %q)", id, a.ID)
		}
		if a.Status == "" {
			return fmt.Errorf("catalog/postgres: update asset %q: empty status", id)
		}
		a.UpdatedAt = s.stamp()
		// assetArgs(a)[0] is the ID, $1 in the WHERE clause.
		row = tx.QueryRow(ctx, `UPDATE assets SET title = $2, status = $3, stage = $4, progress = $5,
			error = $6, attempts = $7, source_filename = $8, source_size = $9, source_key = $10,
			source_origin = $11, source_url = $12, source_probe = $13, upload_id = $14, job_id = $15,
			duration_ns = $16, output = $17, created_at = $18, updated_at = $19, ready_at = $20
			WHERE id = $1 RETURNING `+assetColumns, assetArgs(a)...)
		if out, err = scanAsset(row); err != nil {
			return fmt.Errorf("catalog/postgres: update asset %q: %w", id, mapErr(err))
		}
		return nil
	})
	if err != nil {
		return catalog.Asset{}, err
	}
	return out, nil
}

// DeleteAsset removes the asset; a missing one returns an error wrapping
// catalog.ErrNotFound.
func (s *Store) DeleteAsset(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, "DELETE FROM assets WHERE id = $1", id)
	if err != nil {
		return fmt.Errorf("catalog/postgres: delete asset %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("catalog/postgres: delete asset %q: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// assetArgs returns a's column values in assetColumns order. pgx encodes
// Output as JSON for the jsonb column.
func assetArgs(a catalog.Asset) []any {
	return []any{
		a.ID, a.Title, string(a.Status), a.Stage, a.Progress, a.Error, a.Attempts,
		a.Source.Filename, a.Source.Size, a.Source.Key, a.Source.Origin, a.Source.URL, a.Source.Probe,
		a.UploadID, a.JobID, int64(a.Duration), a.Output,
		ts(a.CreatedAt), ts(a.UpdatedAt), optTS(a.ReadyAt),
	}
}

func scanAsset(sc scanner) (catalog.Asset, error) {
	var (
		a        catalog.Asset
		status   string
		duration int64
		ready    *time.Time
	)
	if err := sc.Scan(&a.ID, &a.Title, &status, &a.Stage, &a.Progress, &a.Error, &a.Attempts,
		&a.Source.Filename, &a.Source.Size, &a.Source.Key, &a.Source.Origin, &a.Source.URL, &a.Source.Probe,
		&a.UploadID, &a.JobID, &duration, &a.Output, &a.CreatedAt, &a.UpdatedAt, &ready); err != nil {
		return catalog.Asset{}, err
	}
	a.Status = catalog.AssetStatus(status)
	a.Duration = time.Duration(duration)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	if ready != nil {
		a.ReadyAt = utc(*ready)
	}
	return a, nil
}
