package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
)

type channelUpdateCmd struct {
	ID        string  `arg:"" help:"Channel ID (ch_...)."`
	Name      *string `name:"name" placeholder:"NAME" help:"New name (1-100 characters, unique)."`
	DVRWindow *string `name:"dvr-window" placeholder:"DURATION" help:"How long segments are kept for time-shifted viewing and clips, such as 2h or 90m (at most 24h, at least the live window); 0: the server's default. Applies from the channel's next session."`
	Record    *bool   `name:"record" negatable:"" help:"Make each session a VoD asset when it ends (--no-record: stop)."`
}

func (c *channelUpdateCmd) Run(env *runEnv, ch *channelCmd) error {
	if c.Name == nil && c.DVRWindow == nil && c.Record == nil {
		return usageError{fmt.Errorf("nothing to change: give --name, --dvr-window or --record/--no-record")}
	}
	req := api.UpdateChannelRequest{Name: c.Name, Record: c.Record}
	if c.DVRWindow != nil {
		var err error
		if req.DVRWindow, err = dvrWindowJSON(*c.DVRWindow); err != nil {
			return err
		}
	}
	cl, err := ch.client()
	if err != nil {
		return err
	}
	body, err := cl.do(env.ctx, http.MethodPatch, channelPath(c.ID), req, c.ID)
	if err != nil {
		return err
	}
	return ch.printChannel(env, body)
}

// dvrWindowJSON checks a --dvr-window value (a duration such as 2h, or 0)
// and renders it as the API's dvr_window field; the server checks the
// bounds, which depend on its configuration.
func dvrWindowJSON(v string) (json.RawMessage, error) {
	v = strings.TrimSpace(v)
	if v == "0" {
		return json.RawMessage("0"), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return nil, usageError{fmt.Errorf("--dvr-window %q is not a duration such as 2h, 90m or 0 (the server's default)", v)}
	}
	return json.Marshal(d.String())
}
