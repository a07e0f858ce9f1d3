package readcache

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// ErrUnsupported is returned (wrapped) by Upload and Copy when the wrapped
// Store does not implement storage.Uploader or storage.Copier.
var ErrUnsupported = errors.New("readcache: the wrapped store does not support this")

// Upload streams r to the backend (storage.Uploader), then drops the key's
// entry.
func (s *Store) Upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	u, ok := s.inner.(storage.Uploader)
	if !ok {
		return 0, fmt.Errorf("readcache: upload %q: %T is not a storage.Uploader: %w", key, s.inner, ErrUnsupported)
	}
	defer s.invalidate(key, false)
	return u.Upload(ctx, key, r)
}

// Copy copies src to dst in the backend (storage.Copier), then drops dst's
// entry.
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	c, ok := s.inner.(storage.Copier)
	if !ok {
		return fmt.Errorf("readcache: copy %q to %q: %T is not a storage.Copier: %w", src, dst, s.inner, ErrUnsupported)
	}
	defer s.invalidate(dst, false)
	return c.Copy(ctx, src, dst)
}
