package api

// Asset endpoints, all under the /api/v1 authentication:
//
//	POST   /api/v1/assets                    multipart/form-data (file, optional title) -> 201 asset, or
//	                                         JSON {"source_url": "...", "title": "..."} -> 202 asset,
//	                                         status "importing" while a job downloads the source;
//	                                         ?priority=1..4 (1 runs first; default 2)
//	GET    /api/v1/assets                    ?upload_id=&status=&limit=&cursor= -> {"items":[...],"next_cursor":"..."}
//	GET    /api/v1/assets/{id}               one asset
//	DELETE /api/v1/assets/{id}               cancel, delete media and asset -> 204
//	POST   /api/v1/assets/{id}/cancel        stop processing -> 200 asset
//	POST   /api/v1/assets/{id}/subtitles     ?language=en&label=English, WebVTT body -> 200 asset
//	*      /api/v1/uploads/                  tus 1.0 resumable uploads (package intake)
//
// A finished tus upload becomes an asset; the response to its last PATCH
// carries the asset's ID in the Osprey-Asset-Id header, and
// GET /api/v1/assets?upload_id=ID finds it (ID is the last path segment of
// the upload's Location). OPTIONS on /api/v1/uploads/ (tus discovery) needs
// no token; it only describes the protocol.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
)

// More error codes, for the asset endpoints.
const (
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeUnprocessable        = "unprocessable"
	CodeUnavailable          = "unavailable"
)

const (
	maxSubtitleBytes   = 10 << 20
	maxAssetPageSize   = 500
	assetRemoveTimeout = 5 * time.Minute
)

// languageTag is the shape of a BCP 47 tag, loosely: "en", "pt-BR", "zh-Hant".
var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$`)

// CreateAssetRequest is the JSON body of POST /api/v1/assets.
type CreateAssetRequest struct {
	SourceURL string `json:"source_url"`
	Title     string `json:"title"`
}

// assetRoutes registers the asset and upload endpoints.
func (a *API) assetRoutes(mux *http.ServeMux) {
	a.route(mux, "/api/v1/assets", map[string]handlerFunc{
		http.MethodGet:  a.listAssets,
		http.MethodPost: a.createAsset,
	})
	a.route(mux, "/api/v1/assets/{id}", map[string]handlerFunc{
		http.MethodGet:    a.getAsset,
		http.MethodDelete: a.deleteAsset,
	})
	a.route(mux, "/api/v1/assets/{id}/cancel", map[string]handlerFunc{
		http.MethodPost: a.cancelAsset,
	})
	a.route(mux, "/api/v1/assets/{id}/subtitles", map[string]handlerFunc{
		http.MethodPost: a.addSubtitle,
	})
	up := a.uploads()
	mux.Handle("/api/v1/uploads", up)
	mux.Handle("/api/v1/uploads/", up)
	// tus discovery: clients may ask OPTIONS without credentials. These
	// patterns are more specific than the authenticated "/api/v1/".
	a.mux.Handle("OPTIONS /api/v1/uploads", up)
	a.mux.Handle("OPTIONS /api/v1/uploads/", up)
}

// uploads passes every method to the tus handler.
func (a *API) uploads() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.deps.Intake == nil {
			w.Header().Set("Cache-Control", "no-store")
			writeError(w, errUnavailable("uploads are not enabled on this server"))
			return
		}
		a.deps.Intake.Uploads().ServeHTTP(w, r)
	})
}

func (a *API) createAsset(w http.ResponseWriter, r *http.Request) error {
	if a.deps.VOD == nil || a.deps.Intake == nil {
		return errUnavailable("video on demand is not enabled on this server")
	}
	priority := 0
	if p := r.URL.Query().Get("priority"); p != "" {
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > 4 {
			return errInvalid("priority must be 1 (highest) to 4, got %q", p)
		}
		priority = n
	}
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var (
		f   intake.File
		err error
	)
	switch mediaType {
	case "multipart/form-data":
		f, err = a.deps.Intake.FromMultipart(w, r)
	case "application/json":
		var req CreateAssetRequest
		if err := decodeBody(w, r, &req); err != nil {
			return err
		}
		title, terr := intake.CheckTitle(req.Title)
		if terr != nil {
			return assetError(terr, "", "checking the title of")
		}
		if strings.TrimSpace(req.SourceURL) == "" {
			return errInvalid("source_url is required")
		}
		return a.importURL(w, r, req.SourceURL, title, priority)
	default:
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
			Message: `send multipart/form-data with a "file" field, or application/json with "source_url"`}
	}
	if err != nil {
		return assetError(err, "", "receiving the source of")
	}
	f.Priority = priority
	// Creating the asset finishes even if the client leaves.
	asset, err := a.deps.VOD.CreateAsset(context.WithoutCancel(r.Context()), f)
	if err != nil {
		// The file is still ours: the asset does not exist.
		_ = os.Remove(f.Path)
		return assetError(err, "", "creating")
	}
	w.Header().Set("Location", "/api/v1/assets/"+asset.ID)
	writeJSON(w, http.StatusCreated, AssetJSON(a.baseURL(r), asset))
	return nil
}

// URLImporter is a VOD that imports sources from URLs in the background
// (vod.Service): the asset is returned at once, importing.
type URLImporter interface {
	ImportURL(ctx context.Context, rawURL, title string, priority int) (catalog.Asset, error)
}

// importURL answers 202 Accepted with the new asset, importing: a job
// downloads the source (SSRF guard at dial time) and queues its processing.
func (a *API) importURL(w http.ResponseWriter, r *http.Request, rawURL, title string, priority int) error {
	imp, ok := a.deps.VOD.(URLImporter)
	if !ok {
		return errUnavailable("URL imports are not enabled on this server")
	}
	asset, err := imp.ImportURL(context.WithoutCancel(r.Context()), rawURL, title, priority)
	if err != nil {
		return assetError(err, "", "importing")
	}
	w.Header().Set("Location", "/api/v1/assets/"+asset.ID)
	writeJSON(w, http.StatusAccepted, AssetJSON(a.baseURL(r), asset))
	return nil
}

func (a *API) listAssets(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := catalog.AssetFilter{UploadID: q.Get("upload_id"), After: q.Get("cursor")}
	if s := q.Get("status"); s != "" {
		switch st := catalog.AssetStatus(s); st {
		case catalog.AssetImporting, catalog.AssetQueued, catalog.AssetProcessing, catalog.AssetReady, catalog.AssetFailed:
			f.Status = st
		default:
			return errInvalid("status %q is not one of importing, queued, processing, ready, failed", s)
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxAssetPageSize {
			return errInvalid("limit must be a whole number from 1 to %d", maxAssetPageSize)
		}
		f.Limit = n
	}
	page, err := a.deps.Catalog.ListAssets(r.Context(), f)
	if errors.Is(err, catalog.ErrInvalid) {
		return errInvalid("cursor is not valid; pass the next_cursor of a previous page")
	}
	if err != nil {
		return fmt.Errorf("listing assets: %w", err)
	}
	base := a.baseURL(r)
	list := AssetList{Items: make([]Asset, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, as := range page.Items {
		list.Items = append(list.Items, AssetJSON(base, as))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	asset, err := a.deps.Catalog.GetAsset(r.Context(), id)
	if err != nil {
		return assetError(err, id, "getting")
	}
	writeJSON(w, http.StatusOK, AssetJSON(a.baseURL(r), asset))
	return nil
}

// deleteAsset stops processing and removes the asset's media and row. Once
// started it finishes even if the client goes away.
func (a *API) deleteAsset(w http.ResponseWriter, r *http.Request) error {
	if a.deps.VOD == nil {
		return errUnavailable("video on demand is not enabled on this server")
	}
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), assetRemoveTimeout)
	defer cancel()
	if err := a.deps.VOD.Delete(ctx, id); err != nil {
		return assetError(err, id, "deleting")
	}
	a.log.Info("asset deleted", "asset", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) cancelAsset(w http.ResponseWriter, r *http.Request) error {
	if a.deps.VOD == nil {
		return errUnavailable("video on demand is not enabled on this server")
	}
	id := r.PathValue("id")
	asset, err := a.deps.VOD.Cancel(r.Context(), id)
	if err != nil {
		return assetError(err, id, "cancelling")
	}
	writeJSON(w, http.StatusOK, AssetJSON(a.baseURL(r), asset))
	return nil
}

// addSubtitle stores the WebVTT body as the asset's track for ?language=.
func (a *API) addSubtitle(w http.ResponseWriter, r *http.Request) error {
	if a.deps.VOD == nil {
		return errUnavailable("video on demand is not enabled on this server")
	}
	id := r.PathValue("id")
	q := r.URL.Query()
	lang := q.Get("language")
	if !languageTag.MatchString(lang) {
		return errInvalid("language %q is not a language tag such as \"en\" or \"pt-BR\"", lang)
	}
	label := strings.TrimSpace(q.Get("label"))
	switch {
	case label == "":
		label = lang
	case utf8.RuneCountInString(label) > maxNameRunes || strings.ContainsFunc(label, unicode.IsControl):
		return errInvalid("label must be at most %d characters, without control characters", maxNameRunes)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if mt != "text/vtt" && mt != "text/plain" {
			return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType,
				Message: "send the subtitles as text/vtt"}
		}
	}
	vtt, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSubtitleBytes))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
				Message: fmt.Sprintf("the subtitle file is larger than %d MiB", maxSubtitleBytes>>20)}
		}
		return errInvalid("reading the subtitle file failed: %v", err)
	}
	if err := checkWebVTT(vtt); err != nil {
		return err
	}
	asset, err := a.deps.VOD.AddSubtitle(r.Context(), id, catalog.AssetSubtitle{Language: lang, Label: label}, vtt)
	if err != nil {
		return assetError(err, id, "adding a subtitle to")
	}
	writeJSON(w, http.StatusOK, AssetJSON(a.baseURL(r), asset))
	return nil
}

// checkWebVTT checks the file signature: UTF-8 text starting (after an
// optional byte order mark) with "WEBVTT" and then a space, tab or line end.
func checkWebVTT(b []byte) error {
	s := strings.TrimPrefix(string(b), "\uFEFF")
	rest, ok := strings.CutPrefix(s, "WEBVTT")
	if !ok || (rest != "" && !strings.ContainsAny(rest[:1], " \t\r\n")) {
		return errInvalid(`the body is not a WebVTT file: it must start with "WEBVTT"`)
	}
	if !utf8.Valid(b) {
		return errInvalid("the WebVTT file is not valid UTF-8")
	}
	return nil
}

// inputError is an error a VOD implementation returns for a request it
// refuses; it is shown to the client with its status.
type inputError interface {
	error
	HTTPStatus() int
}

// assetError renders refusals from intake and the VOD for the client,
// turns catalog.ErrNotFound into a 404 and wraps anything else.
func assetError(err error, id, doing string) error {
	var (
		ie  *intake.Error
		in  inputError
		api *Error
	)
	switch {
	case errors.As(err, &api):
		return api
	case errors.As(err, &ie):
		return &Error{Status: ie.Status, Code: codeForStatus(ie.Status), Message: ie.Message}
	case errors.As(err, &in):
		return &Error{Status: in.HTTPStatus(), Code: codeForStatus(in.HTTPStatus()), Message: in.Error()}
	case id != "" && errors.Is(err, catalog.ErrNotFound):
		return errNotFound("asset %q not found", id)
	case id == "":
		return fmt.Errorf("%s an asset: %w", doing, err)
	}
	return fmt.Errorf("%s asset %s: %w", doing, id, err)
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeAlreadyExists
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return CodeUnprocessable
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	if status >= 500 {
		return CodeInternal
	}
	return CodeInvalidArgument
}

func errUnavailable(msg string) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: msg}
}
