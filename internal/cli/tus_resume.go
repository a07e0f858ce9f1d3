package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// resumeStore remembers unfinished uploads in a JSON file, so that running
// the same upload command again continues where the last run stopped. An
// upload is keyed by server, absolute path, size and modification time: a
// file that changed is uploaded afresh.
//
// Two uploads finishing at the same moment in two processes may lose one of
// their updates; the cost is that one upload starts over next time.
type resumeStore struct {
	path string // "" disables resuming
	now  func() time.Time
}

// resumeTTL drops records older than this: tus servers expire unfinished
// uploads, and a record for a file long gone is clutter.
const resumeTTL = 14 * 24 * time.Hour

// resumeRecord is one unfinished upload.
type resumeRecord struct {
	URL     string    `json:"url"`
	Server  string    `json:"server"`
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	Created time.Time `json:"created"`
}

type resumeFile struct {
	Uploads map[string]resumeRecord `json:"uploads"`
}

// defaultResumePath is $XDG_CACHE_HOME/osprey/uploads.json, or
// ~/.cache/osprey/uploads.json (the platform's cache directory elsewhere).
func defaultResumePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory for resume records: %w", err)
	}
	return filepath.Join(dir, "osprey", "uploads.json"), nil
}

func resumeKey(server, absPath string, size int64, mtime time.Time) string {
	return server + "|" + absPath + "|" + strconv.FormatInt(size, 10) + "|" + strconv.FormatInt(mtime.UnixNano(), 10)
}

func (s resumeStore) load() (resumeFile, error) {
	f := resumeFile{Uploads: map[string]resumeRecord{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading resume records: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		// A damaged file only costs resumability: start a new one.
		return resumeFile{Uploads: map[string]resumeRecord{}}, nil
	}
	if f.Uploads == nil {
		f.Uploads = map[string]resumeRecord{}
	}
	return f, nil
}

func (s resumeStore) save(f resumeFile) error {
	now := s.now()
	for k, r := range f.Uploads {
		if now.Sub(r.Created) > resumeTTL {
			delete(f.Uploads, k)
		}
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("creating the resume record directory: %w", err)
	}
	if len(f.Uploads) == 0 {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("removing resume records: %w", err)
		}
		return nil
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding resume records: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".uploads-*.json")
	if err != nil {
		return fmt.Errorf("writing resume records: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("writing resume records: %w", err)
	}
	return nil
}

// get returns the record for key, if any.
func (s resumeStore) get(key string) (resumeRecord, bool, error) {
	if s.path == "" {
		return resumeRecord{}, false, nil
	}
	f, err := s.load()
	if err != nil {
		return resumeRecord{}, false, err
	}
	r, ok := f.Uploads[key]
	if ok && s.now().Sub(r.Created) > resumeTTL {
		ok = false
	}
	return r, ok, nil
}

func (s resumeStore) put(key string, r resumeRecord) error {
	if s.path == "" {
		return nil
	}
	f, err := s.load()
	if err != nil {
		return err
	}
	f.Uploads[key] = r
	return s.save(f)
}

func (s resumeStore) remove(key string) error {
	if s.path == "" {
		return nil
	}
	f, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := f.Uploads[key]; !ok {
		return nil
	}
	delete(f.Uploads, key)
	return s.save(f)
}
