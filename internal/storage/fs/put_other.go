//go:build !linux

package fs

import (
	"os"
	"path/filepath"
)

// umaskStrips reports whether the process umask may clear bits of perm;
// without a cheap way to read it, assume it does.
func umaskStrips(perm os.FileMode) bool { return true }

func (s *Store) put(dst string, data []byte) (err error) {
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if s.Sync {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	stamp := s.stamp()
	if err := os.Chtimes(tmp, stamp, stamp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if s.Sync {
		return syncDir(dir)
	}
	return nil
}
