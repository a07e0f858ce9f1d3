package intake

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// RunInbox watches DataDir/inbox until ctx is done, polling every
// InboxPoll. A regular file there whose size and modification time have
// not changed for InboxSettle becomes an asset: it is moved to the uploads
// folder (so it is taken once) and handed to the Creator. When the Creator
// fails, the file goes to DataDir/inbox/failed. Dotfiles, folders, links
// and files still being written by common tools (*.part, *.tmp,
// *.crdownload, names with ".~") are left alone, as are empty files.
//
// RunInbox returns nil when ctx is done, or an error if the folders cannot
// be created.
func (s *Service) RunInbox(ctx context.Context) error {
	for _, dir := range []string{s.inboxDir, s.failedDir} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			s.log.Error("the inbox is disabled: cannot create its folder", "dir", dir, "error", err)
			return fmt.Errorf("intake: creating the inbox folder: %w", err)
		}
	}
	s.log.Info("watching the inbox", "dir", s.inboxDir, "settle", s.cfg.InboxSettle)
	w := &inboxWatcher{s: s, seen: map[string]inboxEntry{}}
	ticker := time.NewTicker(s.cfg.InboxPoll)
	defer ticker.Stop()
	for {
		w.scan(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// inboxEntry is what the watcher last saw of a file.
type inboxEntry struct {
	size   int64
	mtime  time.Time
	stable time.Time // since when size and mtime have not changed
}

type inboxWatcher struct {
	s       *Service
	seen    map[string]inboxEntry
	lastErr string // the last scan error logged, to log each once
}

func (w *inboxWatcher) scan(ctx context.Context) {
	entries, err := os.ReadDir(w.s.inboxDir)
	if err != nil {
		if msg := err.Error(); msg != w.lastErr {
			w.s.log.Error("reading the inbox", "dir", w.s.inboxDir, "error", err)
			w.lastErr = msg
		}
		return
	}
	w.lastErr = ""
	now := time.Now()
	if w.s.afterScan != nil {
		defer w.s.afterScan(now)
	}
	present := make(map[string]bool, len(entries))
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || skipInboxName(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		present[name] = true
		prev, ok := w.seen[name]
		if !ok || prev.size != info.Size() || !prev.mtime.Equal(info.ModTime()) {
			w.seen[name] = inboxEntry{size: info.Size(), mtime: info.ModTime(), stable: now}
			continue
		}
		if info.Size() == 0 || now.Sub(prev.stable) < w.s.cfg.InboxSettle {
			continue
		}
		delete(w.seen, name)
		if err := w.s.takeInboxFile(ctx, name, info.Size()); err != nil {
			// Could not move it: try again in a minute rather than at every scan.
			w.seen[name] = inboxEntry{size: info.Size(), mtime: info.ModTime(), stable: now.Add(time.Minute)}
		}
		if ctx.Err() != nil {
			return
		}
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
}

// skipInboxName reports names of hidden files and of files that are still
// being written under a temporary name.
func skipInboxName(name string) bool {
	lower := strings.ToLower(name)
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "~") || strings.HasSuffix(name, "~") ||
		strings.Contains(name, ".~") {
		return true
	}
	for _, ext := range []string{".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".filepart"} {
		if strings.HasSuffix(lower, ext) {
			return true
		}
	}
	return false
}

// takeInboxFile moves an inbox file to the uploads folder and hands it to
// the Creator. A hard link keeps the data until the Creator succeeded, so a
// failed file can be put into inbox/failed even though the Creator owns
// (and may have removed) the path it was given. It returns an error only
// when the file could not be moved out of the inbox.
func (s *Service) takeInboxFile(ctx context.Context, name string, size int64) error {
	src := filepath.Join(s.inboxDir, name)
	log := s.log.With("file", name)
	if size > s.cfg.MaxSize {
		log.Error("inbox file is larger than the size limit (vod.max_source_size)", "size", size, "limit", s.cfg.MaxSize)
		s.putAside(log, src, name)
		return nil
	}
	base := filepath.Join(s.uploadsDir, "inbox-"+randomHex(8))
	dst, keep := base+".src", base+".keep"
	if err := moveFile(src, dst); err != nil {
		log.Error("moving an inbox file to the uploads folder", "error", err)
		return err
	}
	kept := os.Link(dst, keep) == nil
	a, err := s.cfg.Creator.CreateAsset(ctx, File{Path: dst, Filename: cleanName(name), Size: size, Origin: "inbox"})
	if err == nil {
		if kept {
			removeQuietly(keep)
		}
		log.Info("inbox file became an asset", "asset", a.ID, "size", size)
		return nil
	}
	from := dst
	if kept {
		removeQuietly(dst)
		from = keep
	} else if _, serr := os.Stat(dst); serr != nil {
		log.Error("creating an asset from an inbox file failed; the file is gone", "error", err)
		return nil
	}
	if ctx.Err() != nil {
		// Shutting down: back into the inbox, to be taken at the next start.
		if merr := moveFile(from, freeName(s.inboxDir, name)); merr == nil {
			log.Warn("creating an asset from an inbox file was interrupted; the file is back in the inbox", "error", err)
			return nil
		}
	}
	log.Error("creating an asset from an inbox file failed", "error", err)
	s.putAside(log, from, name)
	return nil
}

// putAside moves a file that could not become an asset to inbox/failed.
func (s *Service) putAside(log *slog.Logger, from, name string) {
	to := freeName(s.failedDir, name)
	if err := moveFile(from, to); err != nil {
		log.Error("moving a failed inbox file to the failed folder", "to", to, "error", err)
		return
	}
	log.Warn("inbox file moved to the failed folder", "to", to)
}
