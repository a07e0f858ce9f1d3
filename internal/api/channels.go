package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

const (
	maxBodyBytes  = 16 << 10
	maxNameRunes  = 100
	removeTimeout = 30 * time.Second
)

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) error {
	chs, err := a.deps.Catalog.ListChannels(r.Context())
	if err != nil {
		return fmt.Errorf("listing channels: %w", err)
	}
	list := ChannelList{Items: make([]Channel, 0, len(chs))}
	for _, ch := range chs {
		list.Items = append(list.Items, a.channelView(r, ch))
	}
	writeJSON(w, http.StatusOK, list)
	return nil
}

func (a *API) createChannel(w http.ResponseWriter, r *http.Request) error {
	var req CreateChannelRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	name, err := checkName(req.Name)
	if err != nil {
		return err
	}
	dvr, err := a.parseDVRWindow(req.DVRWindow)
	if err != nil {
		return err
	}
	now := a.now().UTC()
	ch := catalog.Channel{ID: newChannelID(), Name: name, StreamKey: newStreamKey(), DVRWindow: dvr, Record: req.Record,
		CreatedAt: now, UpdatedAt: now}
	if err := a.deps.Catalog.CreateChannel(r.Context(), ch); err != nil {
		if errors.Is(err, catalog.ErrConflict) {
			return errConflict("a channel named %q already exists", name)
		}
		return fmt.Errorf("creating channel %q: %w", name, err)
	}
	a.log.Info("channel created", "channel", ch.ID, "name", ch.Name)
	w.Header().Set("Location", "/api/v1/channels/"+ch.ID)
	writeJSON(w, http.StatusCreated, a.channelView(r, ch))
	return nil
}

func (a *API) getChannel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	ch, err := a.deps.Catalog.GetChannel(r.Context(), id)
	if err != nil {
		return channelError(err, id, "getting")
	}
	writeJSON(w, http.StatusOK, a.channelView(r, ch))
	return nil
}

// deleteChannel disconnects the publisher and deletes the media, then the
// channel. Once started it finishes even if the client goes away.
func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := a.deps.Catalog.GetChannel(r.Context(), id); err != nil {
		return channelError(err, id, "getting")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), removeTimeout)
	defer cancel()
	if a.deps.Live != nil {
		if err := a.deps.Live.Remove(ctx, id); err != nil {
			if e := unreachableNode(err); e != nil {
				return e
			}
			return fmt.Errorf("removing live session and media of channel %s: %w", id, err)
		}
	}
	// A concurrent delete may have won; the channel is gone either way.
	if err := a.deps.Catalog.DeleteChannel(ctx, id); err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return fmt.Errorf("deleting channel %s: %w", id, err)
	}
	a.log.Info("channel deleted", "channel", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RotateKeyRequest is the optional body of POST
// /api/v1/channels/{id}/rotate-key; ?disconnect=true does the same.
type RotateKeyRequest struct {
	// Disconnect also cuts off the publisher streaming with the old key.
	Disconnect bool `json:"disconnect"`
}

// rotateKey gives the channel a new stream key; the old key is refused from
// the next publish on. A publisher already streaming keeps going, unless
// the request asks to disconnect it: then the answer comes once its
// publication has ended, and its reconnects with the old key are refused.
func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	req, err := rotateKeyRequest(w, r)
	if err != nil {
		return err
	}
	ch, err := a.deps.Catalog.SetStreamKey(r.Context(), id, newStreamKey())
	if err != nil {
		return channelError(err, id, "rotating the stream key of")
	}
	a.log.Info("stream key rotated", "channel", id, "disconnect", req.Disconnect)
	if req.Disconnect {
		if err := a.disconnect(r, id); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, a.channelView(r, ch))
	return nil
}

// rotateKeyRequest reads the optional body and the disconnect parameter.
func rotateKeyRequest(w http.ResponseWriter, r *http.Request) (RotateKeyRequest, error) {
	var req RotateKeyRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return req, &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", maxErr.Limit)}
	case err != nil:
		return req, errInvalid("reading the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decodeBody(w, r, &req); err != nil {
			return req, err
		}
	}
	if v := r.URL.Query().Get("disconnect"); v != "" {
		d, err := strconv.ParseBool(v)
		if err != nil {
			return req, errInvalid("disconnect must be true or false, got %q", v)
		}
		req.Disconnect = req.Disconnect || d
	}
	return req, nil
}

// channelError turns catalog.ErrNotFound into a 404 and wraps anything else.
func channelError(err error, id, doing string) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return errNotFound("channel %q not found", id)
	}
	return fmt.Errorf("%s channel %s: %w", doing, id, err)
}

// checkName trims name and requires 1-100 characters, none of them control characters.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case n == 0:
		return "", errInvalid("name is required")
	case n > maxNameRunes:
		return "", errInvalid("name is %d characters long; at most %d are allowed", n, maxNameRunes)
	case strings.ContainsFunc(name, unicode.IsControl):
		return "", errInvalid("name must not contain control characters")
	}
	return name, nil
}

// decodeBody decodes one JSON object from a request body of bounded size,
// refusing unknown fields and trailing data.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return errInvalid("request body has data after the JSON object")
		}
		return nil
	}
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", maxErr.Limit)}
	case errors.Is(err, io.EOF):
		return errInvalid("request body is empty; expected a JSON object")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return errInvalid("request body is not valid JSON: %v", err)
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return errInvalid("request body must be a JSON object")
	case errors.As(err, &typeErr):
		return errInvalid("field %q must be a JSON %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errInvalid("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return errInvalid("request body: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "bool":
		return "boolean"
	}
	return "number"
}
