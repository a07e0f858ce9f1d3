package intake

import (
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	tus "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
	"github.com/tus/tusd/v2/pkg/s3store"

	"github.com/ospreyvideo/osprey/internal/storage/s3"
)

// UploadsPath is where the tus handler is mounted.
const UploadsPath = "/api/v1/uploads/"

// AssetIDHeader is set on the response to the request that completes a tus
// upload: the ID of the asset the upload became.
const AssetIDHeader = "Osprey-Asset-Id"

// uploadID is the shape of the IDs tusd's file store gives uploads, and
// s3UploadID of its s3store's: the object ID, "+", the multipart upload ID
// S3 chose.
var (
	uploadID   = regexp.MustCompile(`^[0-9a-f]{32}$`)
	s3UploadID = regexp.MustCompile(`^[0-9a-f]{32}\+[A-Za-z0-9._~=-]{1,512}$`)
)

// uploadsPrefix is where unfinished tus uploads are kept in an S3 store.
const uploadsPrefix = "uploads/"

// newTusHandler builds the tus 1.0 server: creation, creation-with-upload
// and termination, on files in the uploads folder or, with S3 storage, on
// objects under uploads/ in the bucket. Downloads, concatenation and
// deferred lengths are off. Each upload is locked by Config.Locker (in
// memory by default) while a request works on it.
//
// An upload whose asset could not be created stays complete and resumable:
// HEAD shows the full offset, and a PATCH at that offset with an empty body
// tries to create the asset again (retryFinish).
func (s *Service) newTusHandler() (http.Handler, error) {
	composer := tus.NewStoreComposer()
	validID := uploadID.MatchString
	if s.bucket == nil {
		store := filestore.New(s.uploadsDir)
		composer.UseCore(store)
		composer.UseTerminater(store)
		s.tusStore = store
	} else {
		store := s3store.New(s.bucket.Bucket(), s.bucket.Client())
		store.ObjectPrefix = s.bucket.KeyPrefix() + strings.TrimSuffix(uploadsPrefix, "/")
		// Parts are gathered in local temporary files before they are
		// sent: 8 MiB ones (tusd's default is 50 MiB), so that at most 20
		// buffered parts take 160 MiB of disk per upload. s3store raises
		// the size for uploads too large for 10,000 such parts.
		store.TemporaryDirectory = s.uploadsDir
		store.PreferredPartSize = s3.DefaultPartSize
		ds := detachedStore{s3: store}
		composer.UseCore(ds)
		composer.UseTerminater(ds)
		s.tusStore = ds
		validID = s3UploadID.MatchString
	}
	locker := s.cfg.Locker
	if locker == nil {
		locker = memorylocker.New()
	}
	composer.UseLocker(locker)
	s.tusLocker = locker

	base := UploadsPath
	if s.cfg.PublicURL != "" {
		base = strings.TrimRight(s.cfg.PublicURL, "/") + UploadsPath
	}
	h, err := tus.NewHandler(tus.Config{
		StoreComposer:             composer,
		MaxSize:                   s.cfg.MaxSize,
		BasePath:                  base,
		DisableDownload:           true,
		Cors:                      &tus.CorsConfig{Disable: true},
		RespectForwardedHeaders:   false,
		Logger:                    newTusLogger(s.log),
		PreUploadCreateCallback:   s.tusPreCreate,
		PreFinishResponseCallback: s.tusFinish,
	})
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(UploadsPath, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		id := strings.Trim(rest, "/")
		if !ok || (id != "" && !validID(id)) {
			w.Header().Set("Tus-Resumable", "1.0.0")
			http.Error(w, "ERR_UPLOAD_NOT_FOUND: upload not found", http.StatusNotFound)
			return
		}
		if id != "" && r.Method == http.MethodPatch && r.ContentLength == 0 && s.retryFinish(w, r, id) {
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = "/"+id, ""
		r2.URL = &u
		h.ServeHTTP(w, r2)
	}), nil
}

// retryFinish answers a PATCH with an empty body at the full offset of a
// complete upload that is still here (its asset could not be created
// before) by trying to create the asset again. It reports false, leaving
// the request to tusd, for anything else.
func (s *Service) retryFinish(w http.ResponseWriter, r *http.Request, id string) bool {
	offset, err := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || r.Header.Get("Tus-Resumable") != "1.0.0" {
		return false
	}
	lock, err := s.tusLocker.NewLock(id)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), lockWait)
	defer cancel()
	if err := lock.Lock(ctx, func() {}); err != nil {
		return false // busy: tusd answers as it would
	}
	defer func() { _ = lock.Unlock() }()
	up, err := s.tusStore.GetUpload(r.Context(), id)
	if err != nil {
		return false
	}
	info, err := up.GetInfo(r.Context())
	if err != nil || info.SizeIsDeferred || info.Size <= 0 || info.Offset != info.Size || offset != info.Size {
		return false
	}
	s.log.Info("retrying the asset creation of a complete tus upload", "upload", id)
	w.Header().Set("Tus-Resumable", "1.0.0")
	w.Header().Set("Cache-Control", "no-store")
	resp, err := s.finish(r.Context(), info)
	if err != nil {
		var te tus.Error
		status, msg := http.StatusInternalServerError, err.Error()
		if errors.As(err, &te) {
			status, msg = te.HTTPResponse.StatusCode, te.ErrorCode+": "+te.Message
		}
		http.Error(w, msg, status)
		return true
	}
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(info.Size, 10))
	w.WriteHeader(http.StatusNoContent)
	return true
}

// lockWait bounds how long retryFinish waits for an upload's lock.
const lockWait = 5 * time.Second

// tusPreCreate refuses empty uploads and bad titles before any byte arrives.
func (s *Service) tusPreCreate(ev tus.HookEvent) (tus.HTTPResponse, tus.FileInfoChanges, error) {
	if !ev.Upload.SizeIsDeferred && ev.Upload.Size == 0 {
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, tus.NewError("ERR_EMPTY_UPLOAD", "the file is empty", http.StatusBadRequest)
	}
	if _, err := CheckTitle(ev.Upload.MetaData["title"]); err != nil {
		return tus.HTTPResponse{}, tus.FileInfoChanges{}, tus.NewError("ERR_INVALID_METADATA", err.Error(), http.StatusBadRequest)
	}
	return tus.HTTPResponse{}, tus.FileInfoChanges{}, nil
}

// tusFinish runs when the last byte of an upload has arrived, before the
// response to that request is sent (under the upload's lock).
func (s *Service) tusFinish(ev tus.HookEvent) (tus.HTTPResponse, error) {
	return s.finish(ev.Context, ev.Upload)
}

// finish hands a complete upload to the Creator and puts the asset's ID in
// the response. Only once the asset exists is the upload's .info sidecar
// removed (so it is handed over once); when the Creator fails, the upload
// stays as it is, complete, for the client to try again. The caller holds
// the upload's lock.
func (s *Service) finish(ctx context.Context, info tus.FileInfo) (tus.HTTPResponse, error) {
	name := info.MetaData["filename"]
	if name == "" {
		name = info.MetaData["name"]
	}
	title, _ := CheckTitle(info.MetaData["title"]) // checked at creation
	f := File{
		Path:     info.Storage["Path"],
		Key:      s.uploadKey(info.ID),
		Filename: cleanName(name),
		Size:     info.Size,
		Title:    title,
		UploadID: info.ID,
		Origin:   "tus",
	}
	a, err := s.cfg.Creator.CreateAsset(creatorContext(ctx), f)
	if err != nil {
		s.log.Error("tus upload arrived but creating its asset failed; the upload is kept for a retry",
			"upload", info.ID, "filename", f.Filename, "error", err)
		var ie *Error
		if errors.As(err, &ie) {
			return tus.HTTPResponse{}, tus.NewError("ERR_ASSET_REFUSED", ie.Message, ie.Status)
		}
		return tus.HTTPResponse{}, tus.NewError("ERR_ASSET_CREATE_FAILED",
			"the upload arrived but creating its asset failed; it is kept: retry with a PATCH at the full offset "+
				"and an empty body (see the server log)", http.StatusInternalServerError)
	}
	s.removeFinished(ctx, info)
	s.log.Info("tus upload complete", "upload", info.ID, "asset", a.ID, "size", info.Size)
	return tus.HTTPResponse{Header: tus.HTTPHeader{AssetIDHeader: a.ID}}, nil
}

// uploadKey is the store key of a tus upload's data in an S3 store; "" when
// uploads are files.
func (s *Service) uploadKey(id string) string {
	if s.bucket == nil {
		return ""
	}
	objectID, _, _ := strings.Cut(id, "+")
	return uploadsPrefix + objectID
}

// removeFinished removes what is left of an upload handed over: its .info
// first (the upload is then gone for clients: handed over once), then, in
// a bucket, its data and any .part object. What it fails to remove the
// janitor removes later.
func (s *Service) removeFinished(ctx context.Context, info tus.FileInfo) {
	if s.bucket == nil {
		if err := os.Remove(info.Storage["InfoPath"]); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing a finished tus upload's info file", "upload", info.ID, "error", err)
		}
		return
	}
	ctx = context.WithoutCancel(ctx)
	key := s.uploadKey(info.ID)
	for _, k := range []string{key + ".info", key, key + ".part"} {
		if err := s.bucket.Delete(ctx, k); err != nil {
			s.log.Warn("removing a finished tus upload from the bucket", "upload", info.ID, "key", k, "error", err)
		}
	}
}
