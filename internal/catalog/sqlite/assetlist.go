package sqlite

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
	if f.UploadID != "" {
		where = append(where, "upload_id = ?")
		args = append(args, f.UploadID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(f.Status))
	}
	if f.After != "" {
		created, id, err := decodeCursor(f.After)
		if err != nil {
			return catalog.AssetPage{}, fmt.Errorf("catalog/sqlite: list assets: %w", err)
		}
		where = append(where, "(created_at, id) < (?, ?)")
		args = append(args, created, id)
	}
	q := "SELECT " + assetColumns + " FROM assets"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// One extra row tells whether there is a next page.
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return catalog.AssetPage{}, fmt.Errorf("catalog/sqlite: list assets: %w", err)
	}
	defer rows.Close()
	page := catalog.AssetPage{Items: []catalog.Asset{}}
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return catalog.AssetPage{}, fmt.Errorf("catalog/sqlite: list assets: %w", err)
		}
		page.Items = append(page.Items, a)
	}
	if err := rows.Err(); err != nil {
		return catalog.AssetPage{}, fmt.Errorf("catalog/sqlite: list assets: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt, last.ID)
	}
	return page, nil
}

func encodeCursor(created time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(formatTime(created) + "|" + id))
}

// decodeCursor returns the stored created_at text and ID of a cursor.
func decodeCursor(c string) (created, id string, err error) {
	bad := fmt.Errorf("%w: invalid cursor", catalog.ErrInvalid)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", bad
	}
	created, id, ok := strings.Cut(string(raw), "|")
	if !ok || id == "" {
		return "", "", bad
	}
	if _, err := time.Parse(timeLayout, created); err != nil || len(created) != len(formatTime(time.Time{})) {
		return "", "", bad
	}
	return created, id, nil
}
