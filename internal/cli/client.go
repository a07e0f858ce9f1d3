package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/ospreyvideo/osprey/internal/api"
)

// client calls the admin API of an Osprey server.
type client struct {
	base      string // e.g. "http://127.0.0.1:8080"
	token     string
	tokenHint string // why there is no token, for a 401
	http      *http.Client
}

const maxResponseBytes = 16 << 20

// do sends a request with an optional JSON body and returns the response
// body of a 2xx answer. Other answers become errors that say what to do;
// channelID, if set, names the channel a 404 is about.
func (c *client) do(ctx context.Context, method, path string, in any, channelID string) ([]byte, error) {
	resp, data, err := c.call(ctx, method, path, in)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return data, nil
	}
	return nil, c.statusError(resp, data, channelID)
}

// call sends a request with an optional JSON body and returns the answer,
// whatever its status, with its body read and closed.
func (c *client) call(ctx context.Context, method, path string, in any) (*http.Response, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, fmt.Errorf("building the request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.transportError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the answer of %s: %w", c.base, err)
	}
	return resp, data, nil
}

// authorize adds the admin token, if there is one.
func (c *client) authorize(req *http.Request) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
}

func (c *client) transportError(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("cannot reach the Osprey server at %s: is `osprey serve` running there? (set --server or OSPREY_SERVER): %w", c.base, err)
	}
	return fmt.Errorf("calling the Osprey server at %s: %w", c.base, err)
}

func (c *client) statusError(resp *http.Response, data []byte, channelID string) error {
	var e api.ErrorResponse
	msg := ""
	if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	} else {
		msg = strings.TrimSpace(string(data))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && c.token == "":
		return fmt.Errorf("the server requires the admin token: %s", c.tokenHint)
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("the server at %s refused the admin token (401 %s); check OSPREY_ADMIN_TOKEN, --token or --data", c.base, msg)
	case resp.StatusCode == http.StatusNotFound && channelID != "":
		return fmt.Errorf("channel %q not found on %s", channelID, c.base)
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s answered 404 %s: is it an Osprey server?", c.base, msg)
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return fmt.Errorf("the server answered %d: %s", resp.StatusCode, msg)
}

func decodeJSON(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("the server's answer is not the expected JSON: %w", err)
	}
	return nil
}
