package fs

import (
	"context"
	"fmt"
	"os"
)

// Ping checks that the root folder is still there and is a folder (an
// unmounted network disk, a deleted folder), for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fi, err := os.Stat(s.root)
	if err != nil {
		return fmt.Errorf("storage/fs: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("storage/fs: %s is not a folder", s.root)
	}
	return nil
}

// Where names the folder, for messages.
func (s *Store) Where() string { return "folder " + s.root }
