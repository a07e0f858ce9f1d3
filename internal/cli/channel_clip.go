package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
)

type channelClipCmd struct {
	ID    string        `arg:"" help:"Channel ID (ch_...)."`
	Start string        `name:"start" placeholder:"TIME" help:"Start of the span: RFC 3339 (2026-12-07T21:00:00Z) or a time ago, written --start=-90s."`
	End   string        `name:"end" placeholder:"TIME" help:"End of the span, like --start; default: the end of the DVR window (the newest segment stored)."`
	Last  time.Duration `name:"last" placeholder:"DURATION" help:"Clip the last DURATION of the DVR window (the newest segments stored), instead of --start/--end."`
	Title string        `name:"title" help:"Asset title (default: \"Clip of NAME, START\")."`
}

// clipTimeout bounds one clip request: the server cuts without
// re-encoding, a long clip copies many segments.
const clipTimeout = 10 * time.Minute

func (c *channelClipCmd) Run(env *runEnv, ch *channelCmd) error {
	if c.Last < 0 {
		return usageError{fmt.Errorf("--last must be positive, got %s", c.Last)}
	}
	if (c.Last > 0) == (c.Start != "") {
		return usageError{fmt.Errorf("give either --start (with an optional --end) or --last")}
	}
	if c.Last > 0 && c.End != "" {
		return usageError{fmt.Errorf("--last clips up to the end of the DVR window; use --start and --end for another span")}
	}
	now := time.Now()
	var start, end time.Time
	if c.Start != "" {
		var err error
		if start, err = parseClipTime("--start", c.Start, now); err != nil {
			return err
		}
		if c.End != "" {
			if end, err = parseClipTime("--end", c.End, now); err != nil {
				return err
			}
			if !end.After(start) {
				return usageError{fmt.Errorf("--end (%s) must be after --start (%s)", c.End, c.Start)}
			}
		}
	}
	cl, err := ch.client()
	if err != nil {
		return err
	}
	cl.http.Timeout = clipTimeout
	if end.IsZero() {
		if end, err = c.windowEnd(env.ctx, cl); err != nil {
			return err
		}
		if c.Last > 0 {
			start = end.Add(-c.Last)
		}
		if !end.After(start) {
			return fmt.Errorf("--start %s is not before the end of the DVR window, %s: nothing to clip yet", c.Start, end.Format(time.RFC3339Nano))
		}
	}
	req := api.ClipRequest{Start: start.UTC().Format(time.RFC3339Nano), End: end.UTC().Format(time.RFC3339Nano), Title: c.Title}
	body, err := cl.do(env.ctx, http.MethodPost, channelPath(c.ID)+"/clips", req, c.ID)
	if err != nil {
		return err
	}
	if ch.JSON {
		_, err := env.stdout.Write(body)
		return err
	}
	var res struct {
		assetView
		Clip api.ClipSpan `json:"clip"`
	}
	if err := decodeJSON(body, &res); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "Clip of %s to %s (asked %s to %s).\n",
		res.Clip.Start.Local().Format(clipTimeLayout), res.Clip.End.Local().Format(clipTimeLayout),
		res.Clip.RequestedStart.Local().Format(clipTimeLayout), res.Clip.RequestedEnd.Local().Format(clipTimeLayout))
	return printAsset(env.stdout, res.assetView)
}

const clipTimeLayout = "15:04:05.000"

// windowEnd asks the server for the end of the channel's DVR window: the
// media end of the newest segment stored, the latest instant a clip may end.
func (c *channelClipCmd) windowEnd(ctx context.Context, cl *client) (time.Time, error) {
	path := "/live/" + url.PathEscape(c.ID) + "/dvr-window.json"
	resp, data, err := cl.call(ctx, http.MethodGet, path, nil)
	if err != nil {
		return time.Time{}, err
	}
	if resp.StatusCode == http.StatusNotFound {
		// No DVR index: the channel does not exist or never went live.
		if _, err := cl.do(ctx, http.MethodGet, channelPath(c.ID), nil, c.ID); err != nil {
			return time.Time{}, err
		}
		return time.Time{}, fmt.Errorf("channel %s has no DVR window: it has not been live (or everything it stored has left its window)", c.ID)
	}
	if resp.StatusCode != http.StatusOK {
		return time.Time{}, cl.statusError(resp, data, c.ID)
	}
	var win struct {
		To time.Time `json:"to"`
	}
	if err := json.Unmarshal(data, &win); err != nil || win.To.IsZero() {
		return time.Time{}, fmt.Errorf("the server's DVR window %q is not the expected JSON", strings.TrimSpace(string(data)))
	}
	return win.To, nil
}

// parseClipTime reads a --start or --end: RFC 3339, or a negative
// duration meaning that long before now.
func parseClipTime(flag, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "-") {
		d, err := time.ParseDuration(v)
		if err == nil {
			return now.Add(d), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("%s %q is neither an RFC 3339 time (2026-12-07T21:00:00Z) nor a time ago (%s=-90s)", flag, v, flag)}
	}
	return t, nil
}
