package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// openDataDir creates the data folder if needed and locks it (lockDataDir).
func openDataDir(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating the data folder: %w", err)
	}
	return lockDataDir(dir)
}

// lockDataDir takes an exclusive lock on <data>/osprey.lock for the life of
// the process, so that two servers never share a data folder: the catalog
// and the job queue rely on one process owning the database (jobs left
// running are released at startup). The kernel drops the lock when the
// process dies, kill -9 included.
func lockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, "osprey.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("the data folder %s is in use by another osprey process", dir)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { _ = f.Close() }, nil
}
