package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ospreyvideo/osprey/internal/api"
	"github.com/ospreyvideo/osprey/internal/live"
)

// printChannel writes one channel as aligned "Label: value" lines.
func printChannel(w io.Writer, c api.Channel) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", label, value)
		}
	}
	row("ID", c.ID)
	row("Name", c.Name)
	row("State", c.State)
	row("Stream key", c.StreamKey)
	row("Created", c.CreatedAt.Local().Format(time.DateTime+" MST"))
	row("RTMP ingest", c.Ingest.RTMP)
	row("SRT ingest", c.Ingest.SRT)
	row("HLS", c.Playback.HLS)
	row("DASH", c.Playback.DASH)
	row("Player", c.Playback.Player)
	row("DVR window", dvrWindowText(c))
	if c.Record {
		row("Record", "each session becomes an asset when it ends")
	}
	if st := c.Live; st != nil {
		from := st.Protocol
		if st.RemoteAddr != "" {
			from += " from " + st.RemoteAddr
		}
		row("Publisher", from)
		if st.Since != nil {
			row("Live since", st.Since.Local().Format(time.DateTime+" MST"))
		}
		row("Input", strings.Join(st.Input, ", "))
		row("Renditions", strings.Join(st.Renditions, ", "))
		if st.Transcoder != nil {
			row("Transcoder", transcoderSummary(*st.Transcoder))
		}
		if d := st.Degraded; d != nil {
			row("Degraded", fmt.Sprintf("level %d since %s: %s", d.Level, d.Since.Local().Format(time.TimeOnly), d.Reason))
		}
	}
	return tw.Flush()
}

// dvrWindowText is the channel's DVR window, saying when it is the
// server's default.
func dvrWindowText(c api.Channel) string {
	switch {
	case c.DVRWindow > 0:
		return api.FormatDuration(time.Duration(c.DVRWindow) * time.Second)
	case c.DVRWindowEffective > 0:
		return api.FormatDuration(time.Duration(c.DVRWindowEffective)*time.Second) + " (the server's default)"
	}
	return "the server's default"
}

func transcoderSummary(t live.TranscoderStatus) string {
	s := "stopped"
	if t.Running {
		s = "running"
	}
	s += fmt.Sprintf(", speed %.2fx, lag %.1fs, %d restarts", t.Speed, t.Lag, t.Restarts)
	if t.Dropped > 0 {
		s += fmt.Sprintf(", %d units dropped", t.Dropped)
	}
	if t.Behind {
		s += ", BEHIND real time"
	}
	return s
}

// printChannelList writes a table of channels.
func printChannelList(w io.Writer, chs []api.Channel) error {
	if len(chs) == 0 {
		_, err := fmt.Fprintln(w, "No channels. Create one with: osprey channel create NAME")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tHLS")
	for _, c := range chs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, c.State, c.Playback.HLS)
	}
	return tw.Flush()
}
