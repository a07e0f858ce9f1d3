package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error codes in error responses.
const (
	CodeInvalidArgument  = "invalid_argument"
	CodeUnauthenticated  = "unauthenticated"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeAlreadyExists    = "already_exists"
	CodeTooLarge         = "payload_too_large"
	CodeInternal         = "internal"
)

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes what went wrong.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error that carries its HTTP rendering. Handlers return it;
// handle renders it, and renders every other error as a logged 500.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errInvalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf(format, args...)}
}

func errConflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeAlreadyExists, Message: fmt.Sprintf(format, args...)}
}

// handlerFunc is an HTTP handler that reports failure by returning an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler and is the one place errors are rendered.
func (a *API) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		err := h(w, r)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			a.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			e = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; see the server log"}
			if a.catalogDown(r.Context()) {
				// Most likely why it failed: say so, and that it passes.
				w.Header().Set("Retry-After", "5")
				e = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the catalog (database) is unreachable; try again shortly"}
			}
		}
		writeError(w, e)
	})
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, ErrorResponse{Error: ErrorBody{Code: e.Code, Message: e.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil { // only for unsupported types: a programming error
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"encoding the response failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// catalogPingTimeout bounds the ping that tells a failed request's cause.
const catalogPingTimeout = time.Second

// catalogDown reports whether the catalog fails a ping now: asked after a
// request failed, so that an outage of the database (PostgreSQL
// restarting, a network cut) answers 503 rather than 500.
func (a *API) catalogDown(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catalogPingTimeout)
	defer cancel()
	return a.deps.Catalog.Ping(ctx) != nil
}
