// Package fs is the local-folder storage.Store: each key is a file under a
// root directory.
//
// Put writes a temporary file in the key's directory and renames it over the
// key, so readers see the previous object or the whole new one, never a part;
// a reader that already opened the previous object keeps reading it. Temporary
// files are named ".osprey-tmp-*": keys cannot name them, Open never sees them,
// and New removes those a crash left behind.
//
// Symbolic links inside the root are followed (an operator may link a
// subfolder to another disk); keys themselves cannot climb out of the root.
// Empty directories left by Delete are not pruned; DeletePrefix with a
// trailing slash removes a whole directory.
package fs

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ospreyvideo/osprey/internal/storage"
)

// Store keeps objects as files under a root directory. It is safe for
// concurrent use.
type Store struct {
	root string

	// Sync makes Put fsync the new file before the rename and its directory
	// after it, so a completed Put survives a power loss. It is off by
	// default: live segments and playlists are rewritten within seconds and a
	// crash loses the live session anyway, while fsync would add disk
	// latency to every segment. Set it before first use.
	Sync bool

	// chmod: temporary files need an explicit chmod to 0644 because the
	// process umask (read by New) would strip some of those bits.
	chmod bool

	mu        sync.Mutex
	lastStamp time.Time // newest modification time Put assigned; see stamp
}

var _ storage.Store = (*Store)(nil)

// New returns a Store rooted at root, creating the directory if needed and
// removing temporary files left by an interrupted Put.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, errors.New("storage/fs: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("storage/fs: resolving root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("storage/fs: creating root: %w", err)
	}
	if err := removeTemps(abs); err != nil {
		return nil, fmt.Errorf("storage/fs: removing leftover temporary files: %w", err)
	}
	return &Store{root: abs, chmod: umaskStrips(0o644)}, nil
}

// Root returns the absolute path of the store's directory.
func (s *Store) Root() string { return s.root }

// removeTemps deletes every temporary file under root.
func removeTemps(root string) error {
	return filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, iofs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), tempPrefix) {
			if err := os.Remove(p); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				return err
			}
		}
		return nil
	})
}

// path returns the file path of a validated key.
func (s *Store) path(key string) string {
	return filepath.Join(s.root, filepath.FromSlash(key))
}

// Put stores data under key, replacing any previous object atomically.
func (s *Store) Put(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage/fs: put %q: %w", key, err)
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.put(s.path(key), data); err != nil {
		return fmt.Errorf("storage/fs: put %q: %w", key, err)
	}
	return nil
}

// stamp returns the modification time for a new object: the current time,
// but always at least a microsecond after the previous stamp. Together with
// the inode number and size in the ETag (see etag), this makes every Put's
// ETag distinct even when Puts follow each other faster than the kernel's
// timestamp granularity and the filesystem reuses the freed inode, provided
// the filesystem keeps at least microsecond mtimes (ext4, XFS, Btrfs, ZFS,
// tmpfs and APFS keep nanoseconds).
func (s *Store) stamp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().Round(0)
	if next := s.lastStamp.Add(time.Microsecond); now.Before(next) {
		now = next
	}
	s.lastStamp = now
	return now
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open opens the object under key.
func (s *Store) Open(ctx context.Context, key string) (storage.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage/fs: open %q: %w", key, err)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if isMissing(err) {
			return nil, fmt.Errorf("storage/fs: open %q: %w", key, storage.ErrNotFound)
		}
		return nil, fmt.Errorf("storage/fs: open %q: %w", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage/fs: stat %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("storage/fs: open %q: not a regular file: %w", key, storage.ErrNotFound)
	}
	return newObject(f, key, fi), nil
}

// Delete removes the object under key; a missing key is not an error, and
// neither is a key naming a directory (which holds no object).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage/fs: delete %q: %w", key, err)
	}
	if err := checkKey(key); err != nil {
		return err
	}
	p := s.path(key)
	err := os.Remove(p)
	if err == nil || isMissing(err) {
		return nil
	}
	if fi, serr := os.Lstat(p); serr == nil && fi.IsDir() {
		return nil
	}
	return fmt.Errorf("storage/fs: delete %q: %w", key, err)
}

// DeletePrefix removes every object whose key starts with prefix. A prefix
// ending in "/" removes that directory's subtree; otherwise it removes the
// files and subtrees in the prefix's directory whose names start with its
// last element ("live/ch_1/720p/1" removes 1.m4s, 10.m4s, ...). An empty
// prefix is rejected rather than emptying the store.
//
// Puts racing with DeletePrefix under the same prefix may fail or survive.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage/fs: delete prefix %q: %w", prefix, err)
	}
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	if err := s.deletePrefix(ctx, prefix); err != nil {
		return fmt.Errorf("storage/fs: delete prefix %q: %w", prefix, err)
	}
	return nil
}

func (s *Store) deletePrefix(ctx context.Context, prefix string) error {
	dir, base := path.Split(prefix)
	if base == "" {
		p := s.path(strings.TrimSuffix(dir, "/"))
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			return nil // the object "live/a" is not under "live/a/"
		}
		return os.RemoveAll(p)
	}
	dirPath := s.root
	if dir != "" {
		dirPath = s.path(strings.TrimSuffix(dir, "/"))
	}
	entries, err := os.ReadDir(dirPath)
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), base) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := os.RemoveAll(filepath.Join(dirPath, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// isMissing reports whether err means the path does not exist, including
// when a parent element is a file rather than a directory.
func isMissing(err error) bool {
	return errors.Is(err, iofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
