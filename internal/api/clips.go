package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ospreyvideo/osprey/internal/clip"
)

// Error codes of the clips endpoint.
const (
	// CodeNotLive (409): the channel has nothing stored to clip.
	CodeNotLive = "not_live"
	// CodeOutsideWindow (422): the span is not inside the DVR window.
	CodeOutsideWindow = "outside_dvr_window"
)

// precision is ClipSpan.Precision.
const precision = "segment-start,frame-end"

// clipTimeout bounds making one clip (copying its segments, manifests,
// thumbnails): a clip is made while the request waits.
const clipTimeout = 5 * time.Minute

// Clipper makes live-to-VoD clips (clip.Service does).
type Clipper interface {
	// Clip makes a ready asset of the channel's span [req.Start, req.End);
	// errors wrap clip.ErrNeverLive or a *clip.WindowError when the span
	// cannot be cut.
	Clip(ctx context.Context, channelID string, req clip.Request) (clip.Result, error)
}

// ClipRequest is the body of POST /api/v1/channels/{id}/clips.
type ClipRequest struct {
	Start string `json:"start"` // RFC 3339, e.g. "2026-12-07T21:00:00.000Z"
	End   string `json:"end"`   // RFC 3339, after start
	Title string `json:"title"` // optional; default "Clip of {channel name}, {start}"
}

// ClipResponse is the answer to a clip: the asset, as GET
// /api/v1/assets/{id} shows it, with asset_id and what was cut.
type ClipResponse struct {
	AssetID string `json:"asset_id"`
	Asset
	Clip ClipSpan `json:"clip"`
}

// ClipSpan is the span a clip was asked for and the one it holds. Clips
// are made without re-encoding: Start is the start of the segment holding
// the requested start (the keyframe it begins with: at most one segment
// earlier); End is the requested end, rounded up to the end of the frame
// playing then (less than a frame later). The clip always covers the
// requested span.
type ClipSpan struct {
	ChannelID      string    `json:"channel_id"`
	RequestedStart time.Time `json:"requested_start"`
	RequestedEnd   time.Time `json:"requested_end"`
	Start          time.Time `json:"start"`
	End            time.Time `json:"end"`
	// Precision says how Start and End were chosen: "segment-start,frame-end".
	Precision string `json:"precision"`
}

// createClip makes a VoD asset of a span of the channel's DVR window and
// answers 201 with it, ready. 400: malformed body, start/end not RFC 3339,
// end not after start; 404: no such channel; 409: the channel has nothing
// stored (never live); 422: the span is longer than the DVR window or not
// inside it (the message names the window); 503: no clip service. Once
// started it finishes even if the client goes away.
func (a *API) createClip(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req ClipRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	start, err := parseInstant("start", req.Start)
	if err != nil {
		return err
	}
	end, err := parseInstant("end", req.End)
	if err != nil {
		return err
	}
	if !end.After(start) {
		return errInvalid("end (%s) must be after start (%s)", req.End, req.Start)
	}
	title, err := checkTitle(req.Title)
	if err != nil {
		return err
	}
	ch, err := a.deps.Catalog.GetChannel(r.Context(), id)
	if err != nil {
		return channelError(err, id, "getting")
	}
	if win := a.dvrWindow(ch); win > 0 && end.Sub(start) > win {
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeOutsideWindow,
			Message: fmt.Sprintf("the clip is %s long, longer than the channel's DVR window of %s", end.Sub(start), FormatDuration(win))}
	}
	if a.deps.Clips == nil {
		return errUnavailable("this server does not make clips")
	}
	if title == "" {
		title = fmt.Sprintf("Clip of %s, %s", ch.Name, start.UTC().Format(time.RFC3339))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), clipTimeout)
	defer cancel()
	res, err := a.deps.Clips.Clip(ctx, id, clip.Request{Start: start, End: end, Title: title})
	if err != nil {
		return clipError(err, id)
	}
	a.log.Info("clip made", "channel", id, "asset", res.Asset.ID, "start", res.Start, "end", res.End)
	w.Header().Set("Location", "/api/v1/assets/"+res.Asset.ID)
	writeJSON(w, http.StatusCreated, ClipResponse{
		AssetID: res.Asset.ID,
		Asset:   AssetJSON(a.baseURL(r), res.Asset),
		Clip: ClipSpan{ChannelID: id, RequestedStart: start.UTC(), RequestedEnd: end.UTC(),
			Start: res.Start.UTC(), End: res.End.UTC(), Precision: precision},
	})
	return nil
}

// clipError renders the clip service's refusals.
func clipError(err error, id string) error {
	var we *clip.WindowError
	switch {
	case errors.Is(err, clip.ErrNeverLive):
		return &Error{Status: http.StatusConflict, Code: CodeNotLive,
			Message: fmt.Sprintf("channel %s has no stored segments to clip: it has not been live (or everything it stored left its DVR window)", id)}
	case errors.As(err, &we):
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeOutsideWindow,
			Message: fmt.Sprintf("the span is outside the channel's DVR window, which is %s to %s now",
				we.From.UTC().Format(time.RFC3339Nano), we.To.UTC().Format(time.RFC3339Nano))}
	}
	return fmt.Errorf("making a clip of channel %s: %w", id, err)
}

// parseInstant parses an RFC 3339 time (fractional seconds allowed).
func parseInstant(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errInvalid("%s is required (an RFC 3339 time such as \"2026-12-07T21:00:00.000Z\")", field)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errInvalid("%s %q is not an RFC 3339 time such as \"2026-12-07T21:00:00.000Z\"", field, s)
	}
	return t, nil
}

// checkTitle trims an optional title: at most 100 characters, none of
// them control characters.
func checkTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	switch n := utf8.RuneCountInString(title); {
	case n > maxNameRunes:
		return "", errInvalid("title is %d characters long; at most %d are allowed", n, maxNameRunes)
	case strings.ContainsFunc(title, unicode.IsControl):
		return "", errInvalid("title must not contain control characters")
	}
	return title, nil
}
