package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
)

const defaultServer = "http://127.0.0.1:8080"

// channelCmd holds the flags every channel subcommand shares.
type channelCmd struct {
	Server string `name:"server" env:"OSPREY_SERVER" default:"${default_server}" placeholder:"URL" help:"Base URL of the Osprey server (default \"${default_server}\")."`
	Token  string `name:"token" env:"OSPREY_ADMIN_TOKEN" placeholder:"TOKEN" help:"Admin token; prefer the variable, flags show in process lists (default: ${default_token})."`
	Data   string `name:"data" env:"OSPREY_DATA" default:"${default_data}" placeholder:"DIR" help:"Data directory to read admin-token from when no token is given (default \"${default_data}\")."`
	JSON   bool   `name:"json" help:"Print the server's JSON instead of text."`

	Create     channelCreateCmd     `cmd:"" help:"Create a channel and print its stream key, ingest and playback URLs."`
	List       channelListCmd       `cmd:"" help:"List channels."`
	Get        channelGetCmd        `cmd:"" help:"Show a channel, with its live status."`
	Delete     channelDeleteCmd     `cmd:"" help:"Delete a channel: disconnect its publisher and delete its media."`
	RotateKey  channelRotateCmd     `cmd:"" name:"rotate-key" help:"Give a channel a new stream key. A publisher already streaming continues (unless --disconnect); the old key is refused from the next publish on."`
	Disconnect channelDisconnectCmd `cmd:"" help:"End a channel's current publication (the playlists end); the publisher may publish again with the same key."`
	Update     channelUpdateCmd     `cmd:"" help:"Change a channel's name, DVR window or recording; what is not given is kept."`
	Clip       channelClipCmd       `cmd:"" help:"Make a VoD asset of a span of a channel's DVR window (no re-encoding); prints the asset when it is ready."`
}

type channelCreateCmd struct {
	Name      string `arg:"" help:"Channel name (1-100 characters, unique)."`
	DVRWindow string `name:"dvr-window" placeholder:"DURATION" help:"How long segments are kept for time-shifted viewing and clips, such as 2h or 90m (at most 24h, at least the live window); default: the server's live.dvr_window."`
	Record    bool   `name:"record" help:"Make each session of the channel a VoD asset when it ends."`
}

type channelListCmd struct{}

type channelGetCmd struct {
	ID string `arg:"" help:"Channel ID (ch_...)."`
}

type channelDeleteCmd struct {
	ID string `arg:"" help:"Channel ID (ch_...)."`
}

type channelRotateCmd struct {
	ID         string `arg:"" help:"Channel ID (ch_...)."`
	Disconnect bool   `name:"disconnect" help:"Also cut off the publisher streaming with the old key."`
}

type channelDisconnectCmd struct {
	ID string `arg:"" help:"Channel ID (ch_...)."`
}

func (c *channelCreateCmd) Run(env *runEnv, ch *channelCmd) error {
	cl, err := ch.client()
	if err != nil {
		return err
	}
	req := api.CreateChannelRequest{Name: c.Name, Record: c.Record}
	if c.DVRWindow != "" {
		if req.DVRWindow, err = dvrWindowJSON(c.DVRWindow); err != nil {
			return err
		}
	}
	body, err := cl.do(env.ctx, http.MethodPost, "/api/v1/channels", req, "")
	if err != nil {
		return err
	}
	return ch.printChannel(env, body)
}

func (c *channelListCmd) Run(env *runEnv, ch *channelCmd) error {
	cl, err := ch.client()
	if err != nil {
		return err
	}
	body, err := cl.do(env.ctx, http.MethodGet, "/api/v1/channels", nil, "")
	if err != nil {
		return err
	}
	if ch.JSON {
		_, err := env.stdout.Write(body)
		return err
	}
	var list api.ChannelList
	if err := decodeJSON(body, &list); err != nil {
		return err
	}
	return printChannelList(env.stdout, list.Items)
}

func (c *channelGetCmd) Run(env *runEnv, ch *channelCmd) error {
	cl, err := ch.client()
	if err != nil {
		return err
	}
	body, err := cl.do(env.ctx, http.MethodGet, channelPath(c.ID), nil, c.ID)
	if err != nil {
		return err
	}
	return ch.printChannel(env, body)
}

func (c *channelDeleteCmd) Run(env *runEnv, ch *channelCmd) error {
	cl, err := ch.client()
	if err != nil {
		return err
	}
	if _, err := cl.do(env.ctx, http.MethodDelete, channelPath(c.ID), nil, c.ID); err != nil {
		return err
	}
	if !ch.JSON {
		_, err = fmt.Fprintf(env.stdout, "Deleted channel %s.\n", c.ID)
	}
	return err
}

func (c *channelRotateCmd) Run(env *runEnv, ch *channelCmd) error {
	cl, err := ch.client()
	if err != nil {
		return err
	}
	var req any
	if c.Disconnect {
		req = api.RotateKeyRequest{Disconnect: true}
	}
	body, err := cl.do(env.ctx, http.MethodPost, channelPath(c.ID)+"/rotate-key", req, c.ID)
	if err != nil {
		return err
	}
	return ch.printChannel(env, body)
}

func (c *channelDisconnectCmd) Run(env *runEnv, ch *channelCmd) error {
	cl, err := ch.client()
	if err != nil {
		return err
	}
	body, err := cl.do(env.ctx, http.MethodPost, channelPath(c.ID)+"/disconnect", nil, c.ID)
	if err != nil {
		return err
	}
	if ch.JSON {
		_, err := env.stdout.Write(body)
		return err
	}
	_, err = fmt.Fprintf(env.stdout, "Disconnected the publisher of channel %s, if any.\n", c.ID)
	return err
}

func channelPath(id string) string { return "/api/v1/channels/" + url.PathEscape(id) }

func (ch *channelCmd) printChannel(env *runEnv, body []byte) error {
	if ch.JSON {
		_, err := env.stdout.Write(body)
		return err
	}
	var c api.Channel
	if err := decodeJSON(body, &c); err != nil {
		return err
	}
	return printChannel(env.stdout, c)
}

// client checks --server and finds the token: --token or
// OSPREY_ADMIN_TOKEN, else <data>/admin-token if it exists.
func (ch *channelCmd) client() (*client, error) {
	base, err := url.Parse(ch.Server)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, usageError{fmt.Errorf("--server %q must be an http:// or https:// URL, like %s", ch.Server, defaultServer)}
	}
	c := &client{
		base:  strings.TrimRight(base.String(), "/"),
		token: strings.TrimSpace(ch.Token),
		http:  &http.Client{Timeout: 60 * time.Second},
	}
	if c.token == "" {
		token, err := api.ReadAdminTokenFile(ch.Data)
		switch {
		case err == nil:
			c.token = token
		case errors.Is(err, fs.ErrNotExist):
			c.tokenHint = fmt.Sprintf("no admin token given and none found in %s/%s; set OSPREY_ADMIN_TOKEN (or --token), or --data to the server's data directory", strings.TrimRight(ch.Data, "/"), api.AdminTokenFile)
		default:
			return nil, err
		}
	}
	return c, nil
}
