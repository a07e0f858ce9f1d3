package vod

import (
	"context"
	"fmt"
	"os"

	"github.com/ospreyvideo/osprey/internal/intake"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// handover is a source stored under its asset's key while the asset's row
// is not yet committed: commit forgets the caller's copy, rollback gives it
// back to the caller (the stored object is removed by the caller).
type handover struct {
	commit   func()
	rollback func()
}

// storeSource stores f's bytes under key.
//
// On a storage.FileStore the local file is moved in (a rename): a hard link
// keeps a second name until the row commits, so that rollback can put it
// back. On other stores (S3) the file is streamed in with storage.Uploader
// and removed at commit; a file already in the store (f.Key: a tus upload on
// S3) is copied server-side with storage.Copier, and its caller removes the
// original once the asset exists.
func (s *Service) storeSource(ctx context.Context, key string, f intake.File) (handover, error) {
	fstore, isFile := s.cfg.Storage.(storage.FileStore)
	switch {
	case f.Key != "":
		if err := s.copyObject(ctx, f.Key, key); err != nil {
			return handover{}, err
		}
		return handover{commit: func() {}, rollback: func() {}}, nil
	case isFile:
		keep := f.Path + ".keep"
		if err := os.Link(f.Path, keep); err != nil {
			return handover{}, fmt.Errorf("keeping the source until the asset exists: %w", err)
		}
		if err := fstore.Import(ctx, key, f.Path); err != nil {
			if _, serr := os.Stat(f.Path); serr != nil {
				_ = os.Rename(keep, f.Path)
			}
			removeQuietly(keep)
			return handover{}, err
		}
		return handover{
			commit: func() { removeQuietly(keep) },
			rollback: func() {
				if err := os.Rename(keep, f.Path); err != nil {
					s.log.Error("putting back the source of an asset not created", "path", f.Path, "error", err)
				}
			},
		}, nil
	}
	if err := s.uploadFile(ctx, key, f.Path); err != nil {
		return handover{}, err
	}
	return handover{commit: func() { removeQuietly(f.Path) }, rollback: func() {}}, nil
}

// uploadFile streams the local file at path into the store under key,
// leaving the file in place.
func (s *Service) uploadFile(ctx context.Context, key, path string) error {
	up, ok := s.cfg.Storage.(storage.Uploader)
	if !ok {
		return fmt.Errorf("the storage (%T) cannot store a stream", s.cfg.Storage)
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	_, err = up.Upload(ctx, key, file)
	return err
}

// copyObject copies the stored object src to dst: server-side when the
// store can, else streamed through this process (never held whole).
func (s *Service) copyObject(ctx context.Context, src, dst string) error {
	if c, ok := s.cfg.Storage.(storage.Copier); ok {
		return c.Copy(ctx, src, dst)
	}
	up, ok := s.cfg.Storage.(storage.Uploader)
	if !ok {
		return fmt.Errorf("the storage (%T) can neither copy nor store a stream", s.cfg.Storage)
	}
	obj, err := s.cfg.Storage.Open(ctx, src)
	if err != nil {
		return err
	}
	defer obj.Close()
	_, err = up.Upload(ctx, dst, obj)
	return err
}

// importFile moves a downloaded source file into the store under key: the
// file is gone on success.
func (s *Service) importFile(ctx context.Context, key, path string) error {
	if fstore, ok := s.cfg.Storage.(storage.FileStore); ok {
		return fstore.Import(ctx, key, path)
	}
	if err := s.uploadFile(ctx, key, path); err != nil {
		return err
	}
	removeQuietly(path)
	return nil
}
