package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

const (
	defaultAssetPage = 50
	maxAssetPage     = 500
)

// cursorTime is the cursor's time layout: fixed-width UTC with microseconds,
// the same text catalog/sqlite's cursors carry.
const cursorTime = "2006-01-02T15:04:05.000000Z07:00"

// ListAssets returns one page of assets matching f, newest first (by
// CreatedAt, then ID, both descending). The cursor is opaque: the
// base64url encoding of the last item's CreatedAt and ID, so pages stay
// consistent while assets are added. A malformed cursor is an error
// wrapping catalog.ErrInvalid.
func (s *Store) ListAssets(ctx context.Context, f catalog.AssetFilter) (catalog.AssetPage, error) {
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultAssetPage
	case limit > maxAssetPage:
		limit = maxAssetPage
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.UploadID != "" {
		where = append(where, "upload_id = "+arg(f.UploadID))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.After != "" {
		created, id, err := decodeCursor(f.After)
		if err != nil {
			return catalog.AssetPage{}, fmt.Errorf("catalog/postgres: list assets: %w", err)
		}
		where = append(where, "(created_at, id) < ("+arg(created)+"::timestamptz, "+arg(id)+")")
	}
	q := "SELECT " + assetColumns + " FROM assets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// One extra row tells whether there is a next page.
	q += " ORDER BY created_at DESC, id DESC LIMIT " + arg(limit+1)

	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return catalog.AssetPage{}, fmt.Errorf("catalog/postgres: list assets: %w", err)
	}
	defer rows.Close()
	page := catalog.AssetPage{Items: []catalog.Asset{}}
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return catalog.AssetPage{}, fmt.Errorf("catalog/postgres: list assets: %w", err)
		}
		page.Items = append(page.Items, a)
	}
	if err := rows.Err(); err != nil {
		return catalog.AssetPage{}, fmt.Errorf("catalog/postgres: list assets: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

func encodeCursor(created time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(created.UTC().Format(cursorTime) + "|" + id))
}

// decodeCursor returns the CreatedAt and ID of a cursor.
func decodeCursor(c string) (created time.Time, id string, err error) {
	bad := fmt.Errorf("%w: invalid cursor", catalog.ErrInvalid)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", bad
	}
	text, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" || len(text) != len(time.Time{}.UTC().Format(cursorTime)) {
		return time.Time{}, "", bad
	}
	created, err = time.Parse(cursorTime, text)
	if err != nil {
		return time.Time{}, "", bad
	}
	return created, id, nil
}
