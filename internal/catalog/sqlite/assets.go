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

const assetColumns = `id, title, status, stage, progress, error, attempts,
	source_filename, source_size, source_key, source_origin, source_url, source_probe,
	upload_id, job_id, duration_ns, output, created_at, updated_at, ready_at`

// CreateAsset inserts a and, if also is not nil, runs also in the same
// transaction with the *sql.Tx as its catalog.Tx; an error from also rolls
// the insert back and is returned as is. A zero CreatedAt becomes now, a
// zero UpdatedAt becomes CreatedAt, and an empty Status becomes queued. A
// taken ID returns an error wrapping catalog.ErrConflict.
//
// also holds the only writer connection: it must write through tx only.
func (s *Store) CreateAsset(ctx context.Context, a catalog.Asset, also func(ctx context.Context, tx catalog.Tx) error) error {
	if a.ID == "" {
		return errors.New("catalog/sqlite: asset has no ID")
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
	args, err := assetArgs(a)
	if err != nil {
		return fmt.Errorf("catalog/sqlite: create asset %q: %w", a.ID, err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO assets ("+assetColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			args...); err != nil {
			return fmt.Errorf("catalog/sqlite: create asset %q: %w", a.ID, mapErr(err))
		}
		if also != nil {
			return also(ctx, tx)
		}
		return nil
	})
}

// GetAsset returns the asset with the given ID.
func (s *Store) GetAsset(ctx context.Context, id string) (catalog.Asset, error) {
	row := s.r.QueryRowContext(ctx, "SELECT "+assetColumns+" FROM assets WHERE id = ?", id)
	a, err := scanAsset(row)
	if err != nil {
		return catalog.Asset{}, fmt.Errorf("catalog/sqlite: get asset %q: %w", id, mapErr(err))
	}
	return a, nil
}

// UpdateAsset reads the asset, applies fn and writes the result in one
// write transaction, so concurrent updates never lose each other's changes.
// fn must not change the ID; UpdatedAt is set to now. fn's error aborts the
// update and is returned as is. fn runs while the writer connection is held:
// it must not call the Store's write methods.
func (s *Store) UpdateAsset(ctx context.Context, id string, fn func(*catalog.Asset) error) (catalog.Asset, error) {
	return s.UpdateAssetTx(ctx, id, func(_ context.Context, _ catalog.Tx, a *catalog.Asset) error { return fn(a) })
}

var _ catalog.AssetTxUpdater = (*Store)(nil)

// UpdateAssetTx is UpdateAsset with the *sql.Tx handed to fn as its
// catalog.Tx, for fn to insert a job in the same transaction; fn must
// write through tx only.
func (s *Store) UpdateAssetTx(ctx context.Context, id string, fn func(ctx context.Context, tx catalog.Tx, a *catalog.Asset) error) (catalog.Asset, error) {
	var out catalog.Asset
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, "SELECT "+assetColumns+" FROM assets WHERE id = ?", id)
		a, err := scanAsset(row)
		if err != nil {
			return fmt.Errorf("catalog/sqlite: update asset %q: %w", id, mapErr(err))
		}
		if err := fn(ctx, tx, &a); err != nil {
			return err
		}
		if a.ID != id {
			return fmt.Errorf("catalog/sqlite: update asset %q: the ID cannot change (to %q)", id, a.ID)
		}
		if a.Status == "" {
			return fmt.Errorf("catalog/sqlite: update asset %q: empty status", id)
		}
		a.UpdatedAt = s.stamp()
		args, err := assetArgs(a)
		if err != nil {
			return fmt.Errorf("catalog/sqlite: update asset %q: %w", id, err)
		}
		// args[0] is the ID: move it to the WHERE clause.
		row = tx.QueryRowContext(ctx, `UPDATE assets SET title = ?, status = ?, stage = ?, progress = ?,
			error = ?, attempts = ?, source_filename = ?, source_size = ?, source_key = ?,
			source_origin = ?, source_url = ?, source_probe = ?, upload_id = ?, job_id = ?,
			duration_ns = ?, output = ?, created_at = ?, updated_at = ?, ready_at = ? WHERE id = ?
			RETURNING `+assetColumns, append(args[1:], id)...)
		if out, err = scanAsset(row); err != nil {
			return fmt.Errorf("catalog/sqlite: update asset %q: %w", id, mapErr(err))
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
	res, err := s.w.ExecContext(ctx, "DELETE FROM assets WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("catalog/sqlite: delete asset %q: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("catalog/sqlite: delete asset %q: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("catalog/sqlite: delete asset %q: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// assetArgs returns a's column values in assetColumns order.
func assetArgs(a catalog.Asset) ([]any, error) {
	out, err := json.Marshal(a.Output)
	if err != nil {
		return nil, fmt.Errorf("encoding output: %w", err)
	}
	return []any{
		a.ID, a.Title, string(a.Status), a.Stage, a.Progress, a.Error, a.Attempts,
		a.Source.Filename, a.Source.Size, a.Source.Key, a.Source.Origin, a.Source.URL, a.Source.Probe,
		a.UploadID, a.JobID, int64(a.Duration), string(out),
		formatTime(a.CreatedAt), formatTime(a.UpdatedAt), formatOptTime(a.ReadyAt),
	}, nil
}

func scanAsset(sc scanner) (catalog.Asset, error) {
	var (
		a                       catalog.Asset
		status, output          string
		duration                int64
		created, updated, ready string
	)
	if err := sc.Scan(&a.ID, &a.Title, &status, &a.Stage, &a.Progress, &a.Error, &a.Attempts,
		&a.Source.Filename, &a.Source.Size, &a.Source.Key, &a.Source.Origin, &a.Source.URL, &a.Source.Probe,
		&a.UploadID, &a.JobID, &duration, &output, &created, &updated, &ready); err != nil {
		return catalog.Asset{}, err
	}
	a.Status = catalog.AssetStatus(status)
	a.Duration = time.Duration(duration)
	if err := json.Unmarshal([]byte(output), &a.Output); err != nil {
		return catalog.Asset{}, fmt.Errorf("asset %q: bad output: %w", a.ID, err)
	}
	var errC, errU, errR error
	a.CreatedAt, errC = time.Parse(timeLayout, created)
	a.UpdatedAt, errU = time.Parse(timeLayout, updated)
	a.ReadyAt, errR = parseOptTime(ready)
	if err := errors.Join(errC, errU, errR); err != nil {
		return catalog.Asset{}, fmt.Errorf("asset %q: bad timestamp: %w", a.ID, err)
	}
	return a, nil
}
