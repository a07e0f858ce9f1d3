package fs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ospreyvideo/osprey/internal/storage"
)

var (
	_ storage.Uploader = (*Store)(nil)
	_ storage.Copier   = (*Store)(nil)
)

// Upload streams r into a temporary file next to key's and renames it over
// key once r is at EOF: readers see the previous object or the whole new
// one. On failure the temporary file is removed.
func (s *Store) Upload(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("storage/fs: upload %q: %w", key, err)
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	n, err := s.upload(ctx, s.path(key), r)
	if err != nil {
		return 0, fmt.Errorf("storage/fs: upload %q: %w", key, err)
	}
	return n, nil
}

func (s *Store) upload(ctx context.Context, dst string, r io.Reader) (n int64, err error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o644); err != nil {
		return 0, err
	}
	// The struct hides tmp's ReadFrom: copy_file_range would bypass the
	// context check of every read.
	n, err = io.Copy(struct{ io.Writer }{tmp}, readerCtx{ctx, r})
	if err != nil {
		return 0, err
	}
	if s.Sync {
		if err := tmp.Sync(); err != nil {
			return 0, err
		}
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	stamp := s.stamp()
	if err := os.Chtimes(tmp.Name(), stamp, stamp); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, err
	}
	return n, nil
}

// Copy copies src's file to a temporary file renamed over dst.
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	if err := checkKey(src); err != nil {
		return err
	}
	if err := checkKey(dst); err != nil {
		return err
	}
	in, err := os.Open(s.path(src))
	if err != nil {
		if isMissing(err) {
			return fmt.Errorf("storage/fs: copy %q: %w", src, storage.ErrNotFound)
		}
		return fmt.Errorf("storage/fs: copy %q: %w", src, err)
	}
	defer in.Close()
	if _, err := s.upload(ctx, s.path(dst), in); err != nil {
		return fmt.Errorf("storage/fs: copy %q to %q: %w", src, dst, err)
	}
	return nil
}
