package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
)

// assetCmd holds the flags every asset subcommand shares; they are the
// channel commands' flags, with the same variables and defaults.
type assetCmd struct {
	Server string `name:"server" env:"OSPREY_SERVER" default:"${default_server}" placeholder:"URL" help:"Base URL of the Osprey server (default \"${default_server}\")."`
	Token  string `name:"token" env:"OSPREY_ADMIN_TOKEN" placeholder:"TOKEN" help:"Admin token; prefer the variable, flags show in process lists (default: ${default_token})."`
	Data   string `name:"data" env:"OSPREY_DATA" default:"${default_data}" placeholder:"DIR" help:"Data directory to read admin-token from when no token is given (default \"${default_data}\")."`
	JSON   bool   `name:"json" help:"Print the server's JSON instead of text."`

	Upload assetUploadCmd `cmd:"" help:"Upload a video file (resumable: run the same command again after an interruption) and print the new asset's ID."`
	List   assetListCmd   `cmd:"" help:"List assets, newest first."`
	Get    assetGetCmd    `cmd:"" help:"Show an asset: status, renditions, playback and thumbnail URLs."`
	Delete assetDeleteCmd `cmd:"" help:"Delete an asset, its source and all its media."`
}

type assetListCmd struct {
	Status string `name:"status" enum:"importing,queued,processing,ready,failed," default:"" placeholder:"STATUS" help:"Only assets with this status: importing, queued, processing, ready or failed."`
	Limit  int    `name:"limit" default:"50" placeholder:"N" help:"Show at most N assets (default 50)."`
}

type assetGetCmd struct {
	ID string `arg:"" help:"Asset ID (as_...)."`
}

type assetDeleteCmd struct {
	ID string `arg:"" help:"Asset ID (as_...)."`
}

// maxPageSize is the largest page the API hands out.
const maxPageSize = 500

func (c *assetListCmd) Run(env *runEnv, a *assetCmd) error {
	if c.Limit < 1 {
		return usageError{fmt.Errorf("--limit must be at least 1, not %d", c.Limit)}
	}
	cl, err := a.client()
	if err != nil {
		return err
	}
	var items []json.RawMessage
	cursor := ""
	for {
		q := url.Values{}
		q.Set("limit", strconv.Itoa(min(c.Limit-len(items), maxPageSize)))
		if c.Status != "" {
			q.Set("status", c.Status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		body, err := assetCall(env.ctx, cl, http.MethodGet, "/api/v1/assets?"+q.Encode(), "")
		if err != nil {
			return err
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := decodeJSON(body, &page); err != nil {
			return err
		}
		items = append(items, page.Items...)
		cursor = page.NextCursor
		if cursor == "" || len(page.Items) == 0 || len(items) >= c.Limit {
			break
		}
	}
	if len(items) > c.Limit {
		items = items[:c.Limit]
	}
	if a.JSON {
		out, err := json.MarshalIndent(struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor,omitempty"`
		}{items, cursor}, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the list: %w", err)
		}
		_, err = env.stdout.Write(append(out, '\n'))
		return err
	}
	assets := make([]assetView, len(items))
	for i, raw := range items {
		if err := decodeJSON(raw, &assets[i]); err != nil {
			return err
		}
	}
	if err := printAssetList(env.stdout, assets); err != nil {
		return err
	}
	if cursor != "" {
		fmt.Fprintf(env.stderr, "There are more assets; show them with --limit %d.\n", c.Limit+50)
	}
	return nil
}

func (c *assetGetCmd) Run(env *runEnv, a *assetCmd) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	body, err := assetCall(env.ctx, cl, http.MethodGet, assetPath(c.ID), c.ID)
	if err != nil {
		return err
	}
	return a.printAsset(env.stdout, body)
}

func (c *assetDeleteCmd) Run(env *runEnv, a *assetCmd) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	if _, err := assetCall(env.ctx, cl, http.MethodDelete, assetPath(c.ID), c.ID); err != nil {
		return err
	}
	if !a.JSON {
		_, err = fmt.Fprintf(env.stdout, "Deleted asset %s.\n", c.ID)
	}
	return err
}

func assetPath(id string) string { return "/api/v1/assets/" + url.PathEscape(id) }

// printAsset writes body, an asset's JSON, as text or as it is.
func (a *assetCmd) printAsset(w io.Writer, body []byte) error {
	if a.JSON {
		_, err := w.Write(body)
		return err
	}
	var v assetView
	if err := decodeJSON(body, &v); err != nil {
		return err
	}
	return printAsset(w, v)
}

// client builds the API client exactly as the channel commands do.
func (a *assetCmd) client() (*client, error) {
	ch := channelCmd{Server: a.Server, Token: a.Token, Data: a.Data}
	return ch.client()
}

// assetCall sends a bodiless API request and returns the body of a 2xx
// answer. A JSON 404 about assetID says that the asset does not exist.
func assetCall(ctx context.Context, c *client, method, path, assetID string) ([]byte, error) {
	resp, data, err := c.call(ctx, method, path, nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return data, nil
	}
	if resp.StatusCode == http.StatusNotFound && assetID != "" && isAPIError(data) {
		return nil, fmt.Errorf("asset %q not found on %s", assetID, c.base)
	}
	return nil, c.statusError(resp, data, "")
}

// isAPIError tells an Osprey API error body from, say, a proxy's 404 page.
func isAPIError(data []byte) bool {
	var e api.ErrorResponse
	return json.Unmarshal(data, &e) == nil && e.Error.Code != ""
}

// errAssetFailed marks an asset whose processing failed.
var errAssetFailed = errors.New("processing failed")

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
