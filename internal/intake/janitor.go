package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunJanitor removes abandoned files from the uploads folder until ctx is
// done: at once, then every JanitorEvery. A tus upload (its data file and
// .info sidecar) is abandoned when neither was written for UploadExpiry;
// any other file there (a *.part of a multipart post or URL download that
// a crash cut off, a leftover of an interrupted hand-over) when it was not
// written for UploadExpiry. Files being received are written all the time,
// so they are never touched.
func (s *Service) RunJanitor(ctx context.Context) {
	ticker := time.NewTicker(s.cfg.JanitorEvery)
	defer ticker.Stop()
	for {
		s.cleanUploads(ctx, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// CleanUploads removes the files of the uploads folder untouched since
// before now minus UploadExpiry and, with S3 storage, the tus uploads in
// the bucket untouched as long (see cleanBucket), and returns how many
// uploads (a tus upload counts once) it removed.
func (s *Service) CleanUploads(now time.Time) int {
	return s.cleanUploads(context.Background(), now)
}

func (s *Service) cleanUploads(ctx context.Context, now time.Time) int {
	removed := s.cleanFolder(now)
	if s.bucket != nil {
		removed += s.cleanBucket(ctx, now)
	}
	return removed
}

// cleanFolder is CleanUploads for the uploads folder.
func (s *Service) cleanFolder(now time.Time) int {
	entries, err := os.ReadDir(s.uploadsDir)
	if err != nil {
		s.log.Error("janitor: reading the uploads folder", "dir", s.uploadsDir, "error", err)
		return 0
	}
	// Group the files by upload: "<id>" and "<id>.info" are one tus upload.
	latest := map[string]time.Time{}
	files := map[string][]string{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		name := e.Name()
		key := strings.TrimSuffix(name, ".info")
		if info.ModTime().After(latest[key]) {
			latest[key] = info.ModTime()
		}
		files[key] = append(files[key], name)
	}
	cutoff := now.Add(-s.cfg.UploadExpiry)
	removed := 0
	for key, names := range files {
		if latest[key].After(cutoff) {
			continue
		}
		for _, name := range names {
			// The data file before its sidecar: an upload without .info
			// is never resumed, one without data is a 404 either way.
			if err := os.Remove(filepath.Join(s.uploadsDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.log.Warn("janitor: removing an abandoned upload", "file", name, "error", err)
			}
		}
		removed++
		s.log.Info("janitor: removed an abandoned upload", "upload", key, "files", names,
			"untouched_for", now.Sub(latest[key]).Round(time.Minute))
	}
	return removed
}
