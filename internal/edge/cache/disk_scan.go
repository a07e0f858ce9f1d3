package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	markerName = "OSPREY-EDGE-CACHE"
	markerText = "osprey edge disk cache: files here are deleted at will\n"
	tmpDirName = "tmp"
	fileExt    = ".osc"
	// lostFound is left alone: a dedicated filesystem's root holds one.
	lostFound = "lost+found"
)

// prepareDir creates Dir, or checks that an existing one is a cache
// directory (it holds the marker, or nothing), and empties Dir/tmp.
func (d *diskTier) prepareDir() error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("creating cache dir: %w", err)
	}
	marker := filepath.Join(d.dir, markerName)
	switch _, err := os.Stat(marker); {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		// Open deletes every file it does not recognise: refuse a folder
		// that holds anything but the cache's own.
		ents, err := os.ReadDir(d.dir)
		if err != nil {
			return fmt.Errorf("reading cache dir: %w", err)
		}
		ents = slices.DeleteFunc(ents, func(e fs.DirEntry) bool { return e.Name() == lostFound })
		if len(ents) > 0 {
			return fmt.Errorf("cache dir %s is not empty and has no %s file: refusing to use it", d.dir, markerName)
		}
		if err := os.WriteFile(marker, []byte(markerText), 0o644); err != nil {
			return fmt.Errorf("marking cache dir: %w", err)
		}
	default:
		return fmt.Errorf("checking cache dir: %w", err)
	}
	if err := os.RemoveAll(d.tmpDir); err != nil {
		return fmt.Errorf("emptying cache tmp dir: %w", err)
	}
	if err := os.Mkdir(d.tmpDir, 0o755); err != nil {
		return fmt.Errorf("creating cache tmp dir: %w", err)
	}
	return nil
}

// scan rebuilds the index from the files in Dir. Files that are not valid
// entries, older duplicates of a key and entries already past Keep are
// deleted.
func (d *diskTier) scan() error {
	start := time.Now()
	now := d.now()
	found := make(map[string]*Entry)
	var removed int
	drop := func(path, why string, err error) {
		d.log.Debug("removing cache file", "path", path, "why", why, "err", err)
		d.removeFile(path)
		removed++
	}
	err := filepath.WalkDir(d.dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(d.dir, path)
		switch {
		case de.IsDir():
			if rel == tmpDirName || rel == lostFound {
				return filepath.SkipDir
			}
			return nil
		case rel == markerName:
			return nil
		}
		e, err := d.load(path, rel)
		if err != nil {
			drop(path, "invalid", err)
			return nil
		}
		if !e.Meta.expires().After(now) {
			drop(path, "expired", nil)
			return nil
		}
		if prev := found[e.Meta.Key]; prev != nil {
			if prev.Meta.Stored.After(e.Meta.Stored) {
				prev, e = e, prev
			}
			drop(prev.file.path, "older duplicate", nil)
		}
		found[e.Meta.Key] = e
		return nil
	})
	if err != nil {
		return fmt.Errorf("scanning cache dir: %w", err)
	}
	// Oldest first, so that if the budget shrank the newest are indexed last.
	entries := make([]*Entry, 0, len(found))
	for _, e := range found {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(a, b *Entry) int { return a.Meta.Stored.Compare(b.Meta.Stored) })
	for _, e := range entries {
		d.idx.Set(e.Meta.Key, e)
		d.settle()
	}
	d.idx.CleanUp()
	d.log.Info("disk cache loaded", "dir", d.dir, "entries", d.idx.EstimatedSize(),
		"bytes", d.idx.WeightedSize(), "removed", removed, "took", time.Since(start))
	return nil
}

// load reads the header of the entry file at path (rel to Dir) and checks it
// against the file's name and size.
func (d *diskTier) load(path, rel string) (*Entry, error) {
	hash, ok := parseName(rel)
	if !ok {
		return nil, fmt.Errorf("unexpected name %q: %w", rel, errFormat)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	meta, off, err := decodeHeader(f)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(meta.Key))
	if hex.EncodeToString(sum[:]) != hash {
		return nil, fmt.Errorf("key %q does not match the file name: %w", meta.Key, errFormat)
	}
	if fi.Size() != off+meta.Size {
		return nil, fmt.Errorf("file is %d bytes, header says %d: %w", fi.Size(), off+meta.Size, errFormat)
	}
	if fi.Size() > d.fileLimit() {
		return nil, fmt.Errorf("%d bytes: %w", fi.Size(), errTooLarge)
	}
	df := &diskFile{path: path, bodyOff: off, size: fi.Size()}
	df.refs.Store(1)
	return &Entry{Meta: meta, Tier: TierDisk, file: df}, nil
}

// parseName checks that rel is xx/yy/<sha256 hex>-<16 hex>.osc, with xx and
// yy the first bytes of the hash, and returns the hash.
func parseName(rel string) (string, bool) {
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 3 {
		return "", false
	}
	name, ok := strings.CutSuffix(parts[2], fileExt)
	if !ok {
		return "", false
	}
	hash, suffix, ok := strings.Cut(name, "-")
	if !ok || len(hash) != 64 || len(suffix) != 16 || !isHex(hash) || !isHex(suffix) {
		return "", false
	}
	if parts[0] != hash[:2] || parts[1] != hash[2:4] {
		return "", false
	}
	return hash, true
}

func isHex(s string) bool {
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
