package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
)

// MaxDVRWindow is the longest DVR window a channel may have.
const MaxDVRWindow = 24 * time.Hour

// UpdateChannelRequest is the body of PATCH /api/v1/channels/{id}: the
// fields present are changed, the others kept.
type UpdateChannelRequest struct {
	Name *string `json:"name,omitempty"`
	// DVRWindow: see CreateChannelRequest.DVRWindow; 0 goes back to the
	// deployment's default.
	DVRWindow json.RawMessage `json:"dvr_window,omitempty"`
	Record    *bool           `json:"record,omitempty"`
}

// parseDVRWindow reads the dvr_window field: a whole number of seconds
// (7200) or a Go duration string of whole seconds ("2h", "90m"). Absent,
// null or 0 is 0, the deployment's default. A window longer than
// MaxDVRWindow or shorter than the live window (the playlists' span:
// live.window segments of live.segment_duration) is refused.
func (a *API) parseDVRWindow(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var d time.Duration
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errInvalid("dvr_window must be a number of seconds or a duration such as \"2h\"")
		}
		var err error
		if d, err = time.ParseDuration(strings.TrimSpace(s)); err != nil {
			return 0, errInvalid("dvr_window %q is not a duration such as \"2h\" or \"90m\"", s)
		}
	default:
		var secs float64
		if err := json.Unmarshal(raw, &secs); err != nil {
			return 0, errInvalid("dvr_window must be a number of seconds or a duration such as \"2h\"")
		}
		if secs != math.Trunc(secs) || math.Abs(secs) > MaxDVRWindow.Seconds()*2 {
			return 0, errInvalid("dvr_window must be a whole number of seconds, at most %d, got %v", int(MaxDVRWindow.Seconds()), secs)
		}
		d = time.Duration(secs) * time.Second
	}
	switch {
	case d == 0:
		return 0, nil
	case d < 0:
		return 0, errInvalid("dvr_window must not be negative, got %s", d)
	case d%time.Second != 0:
		return 0, errInvalid("dvr_window must be a whole number of seconds, got %s", d)
	case d > MaxDVRWindow:
		return 0, errInvalid("dvr_window must be at most %s (%d seconds), got %s", FormatDuration(MaxDVRWindow), int(MaxDVRWindow.Seconds()), FormatDuration(d))
	case d < a.deps.LiveWindow:
		return 0, errInvalid("dvr_window must be at least the live window, %s (%d seconds), got %s",
			FormatDuration(a.deps.LiveWindow), int(a.deps.LiveWindow.Seconds()), FormatDuration(d))
	}
	return d, nil
}

// FormatDuration is d as "2h", "90m", "1h30m", "45s": how the API writes
// DVR windows in messages (and the CLI shows them).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// dvrWindow is the DVR window channel ch has: its own, else the
// deployment's (0 when the API was not told it).
func (a *API) dvrWindow(ch catalog.Channel) time.Duration {
	if ch.DVRWindow > 0 {
		return ch.DVRWindow
	}
	return a.deps.DVRWindow
}

// updateChannel changes a channel's name, DVR window or recording. A new
// DVR window applies from the channel's next session (the packager reads
// it when a session starts).
func (a *API) updateChannel(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req UpdateChannelRequest
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	var name string
	if req.Name != nil {
		n, err := checkName(*req.Name)
		if err != nil {
			return err
		}
		name = n
	}
	var dvr time.Duration
	if req.DVRWindow != nil {
		d, err := a.parseDVRWindow(req.DVRWindow)
		if err != nil {
			return err
		}
		dvr = d
	}
	ch, err := a.deps.Catalog.UpdateChannel(r.Context(), id, func(ch *catalog.Channel) error {
		if req.Name != nil {
			ch.Name = name
		}
		if req.DVRWindow != nil {
			ch.DVRWindow = dvr
		}
		if req.Record != nil {
			ch.Record = *req.Record
		}
		return nil
	})
	switch {
	case errors.Is(err, catalog.ErrConflict):
		return errConflict("a channel named %q already exists", name)
	case err != nil:
		return channelError(err, id, "updating")
	}
	a.log.Info("channel updated", "channel", id, "name", ch.Name, "dvr_window", ch.DVRWindow, "record", ch.Record)
	writeJSON(w, http.StatusOK, a.channelView(r, ch))
	return nil
}

// dvrSeconds is a window in whole seconds, as channel views show it.
func dvrSeconds(d time.Duration) int64 { return int64(d / time.Second) }
