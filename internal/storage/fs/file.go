package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ospreyvideo/osprey/internal/storage"
)

var _ storage.FileStore = (*Store)(nil)

// Import moves the file at src into the store under key: a rename when both
// are on one filesystem, else a copy to a temporary file renamed over the
// key, then src is removed. On failure src is left in place.
func (s *Store) Import(ctx context.Context, key, src string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage/fs: import %q: %w", key, err)
	}
	if err := checkKey(key); err != nil {
		return err
	}
	dst := s.path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("storage/fs: import %q: %w", key, err)
	}
	err := os.Rename(src, dst)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EXDEV) {
		return fmt.Errorf("storage/fs: import %q: %w", key, err)
	}
	if err := copyInto(ctx, dst, src); err != nil {
		return fmt.Errorf("storage/fs: import %q: %w", key, err)
	}
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("storage/fs: import %q: removing the source after copying: %w", key, err)
	}
	return nil
}

// copyInto copies src to a temporary file next to dst and renames it over dst.
func copyInto(ctx context.Context, dst, src string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), tempPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, readerCtx{ctx, in}); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// LocalPath returns the file path of key's object.
func (s *Store) LocalPath(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	p := s.path(key)
	fi, err := os.Stat(p)
	if err != nil {
		if isMissing(err) {
			return "", fmt.Errorf("storage/fs: %q: %w", key, storage.ErrNotFound)
		}
		return "", fmt.Errorf("storage/fs: %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("storage/fs: %q: not a regular file: %w", key, storage.ErrNotFound)
	}
	return p, nil
}
