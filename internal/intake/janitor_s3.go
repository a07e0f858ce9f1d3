package intake

import (
	"context"
	"strings"
	"time"
)

// bucketJanitorTimeout bounds one pass over the uploads in the bucket.
const bucketJanitorTimeout = 5 * time.Minute

// cleanBucket removes the tus uploads under uploads/ in the bucket that
// nothing touched for UploadExpiry: an unfinished upload (a pending S3
// multipart upload, whose last activity is its newest part, its .part
// object or its creation) has its multipart upload aborted (S3 deletes the
// parts) and its .info and .part objects deleted; a finished one whose
// asset was never created (or leftovers of a hand-over cut short) has its
// objects deleted. It returns how many uploads it removed.
func (s *Service) cleanBucket(ctx context.Context, now time.Time) int {
	ctx, cancel := context.WithTimeout(ctx, bucketJanitorTimeout)
	defer cancel()
	pending, err := s.bucket.ListUploads(ctx, uploadsPrefix)
	if err != nil {
		s.log.Error("janitor: listing the unfinished uploads in the bucket", "error", err)
		return 0
	}
	objects, err := s.bucket.List(ctx, uploadsPrefix)
	if err != nil {
		s.log.Error("janitor: listing the uploads in the bucket", "error", err)
		return 0
	}
	type upload struct {
		latest    time.Time
		keys      []string // objects, .info last
		multipart []string // pending multipart upload IDs
	}
	ups := map[string]*upload{}
	get := func(key string) *upload {
		id := strings.TrimPrefix(key, uploadsPrefix)
		id = strings.TrimSuffix(strings.TrimSuffix(id, ".info"), ".part")
		if ups[id] == nil {
			ups[id] = &upload{}
		}
		return ups[id]
	}
	for _, p := range pending {
		u := get(p.Key)
		u.multipart = append(u.multipart, p.UploadID)
		latest := p.Initiated
		last, err := s.bucket.LastPartTime(ctx, p.Key, p.UploadID)
		if err != nil {
			s.log.Warn("janitor: listing the parts of an unfinished upload", "key", p.Key, "error", err)
			latest = now // leave it for the next pass
		}
		if last.After(latest) {
			latest = last
		}
		if latest.After(u.latest) {
			u.latest = latest
		}
	}
	for _, o := range objects {
		u := get(o.Key)
		if strings.HasSuffix(o.Key, ".info") {
			u.keys = append(u.keys, o.Key)
		} else {
			u.keys = append([]string{o.Key}, u.keys...)
		}
		if o.ModTime.After(u.latest) {
			u.latest = o.ModTime
		}
	}
	cutoff := now.Add(-s.cfg.UploadExpiry)
	removed := 0
	for id, u := range ups {
		if u.latest.After(cutoff) {
			continue
		}
		ok := true
		for _, mp := range u.multipart {
			if err := s.bucket.AbortUpload(ctx, uploadsPrefix+id, mp); err != nil {
				s.log.Warn("janitor: aborting an abandoned upload", "upload", id, "error", err)
				ok = false
			}
		}
		for _, k := range u.keys {
			if err := s.bucket.Delete(ctx, k); err != nil {
				s.log.Warn("janitor: removing an abandoned upload", "key", k, "error", err)
				ok = false
			}
		}
		if ok {
			removed++
			s.log.Info("janitor: removed an abandoned upload from the bucket", "upload", id,
				"objects", u.keys, "multipart_uploads", len(u.multipart), "untouched_for", now.Sub(u.latest).Round(time.Minute))
		}
	}
	return removed
}
