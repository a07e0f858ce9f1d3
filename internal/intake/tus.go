package intake

import (
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/tus/tusd/v2/pkg/filestore"
	tus "github.com/tus/tusd/v2/pkg/handler"
	"github.com/tus/tusd/v2/pkg/memorylocker"
)

// UploadsPath is where the tus handler is mounted.
const UploadsPath = "/api/v1/uploads/"

// AssetIDHeader is set on the response to the request that completes a tus
// upload: the ID of the asset the upload became.
const AssetIDHeader = "Osprey-Asset-Id"

// uploadID is the shape of the IDs tusd's file store gives uploads.
var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// newTusHandler builds the tus 1.0 server: creation, creation-with-upload
// and termination, on files in the uploads folder. Downloads, concatenation
// and deferred lengths are off. Each upload is locked in memory while a
// request works on it, which is enough for one process.
func (s *Service) newTusHandler() (http.Handler, error) {
	store := filestore.New(s.uploadsDir)
	composer := tus.NewStoreComposer()
	composer.UseCore(store)
	composer.UseTerminater(store)
	composer.UseLocker(memorylocker.New())

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
		if !ok || (id != "" && !uploadID.MatchString(id)) {
			w.Header().Set("Tus-Resumable", "1.0.0")
			http.Error(w, "ERR_UPLOAD_NOT_FOUND: upload not found", http.StatusNotFound)
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
// response to that request is sent: it hands the file to the Creator and
// puts the asset's ID in the response. The upload's .info sidecar is
// removed first, so the upload is handed over once; the Creator owns the
// data file.
func (s *Service) tusFinish(ev tus.HookEvent) (tus.HTTPResponse, error) {
	info := ev.Upload
	if err := os.Remove(info.Storage["InfoPath"]); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("removing a finished tus upload's info file", "upload", info.ID, "error", err)
	}
	name := info.MetaData["filename"]
	if name == "" {
		name = info.MetaData["name"]
	}
	title, _ := CheckTitle(info.MetaData["title"]) // checked at creation
	f := File{
		Path:     info.Storage["Path"],
		Filename: cleanName(name),
		Size:     info.Size,
		Title:    title,
		UploadID: info.ID,
		Origin:   "tus",
	}
	a, err := s.cfg.Creator.CreateAsset(creatorContext(ev.Context), f)
	if err != nil {
		s.log.Error("tus upload arrived but creating its asset failed", "upload", info.ID, "filename", f.Filename, "error", err)
		var ie *Error
		if errors.As(err, &ie) {
			return tus.HTTPResponse{}, tus.NewError("ERR_ASSET_REFUSED", ie.Message, ie.Status)
		}
		return tus.HTTPResponse{}, tus.NewError("ERR_ASSET_CREATE_FAILED",
			"the upload arrived but creating its asset failed; see the server log", http.StatusInternalServerError)
	}
	s.log.Info("tus upload complete", "upload", info.ID, "asset", a.ID, "size", info.Size)
	return tus.HTTPResponse{Header: tus.HTTPHeader{AssetIDHeader: a.ID}}, nil
}
