package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// waitForAsset polls the asset until it is ready or failed, showing its
// stage and progress on w: redrawn in place on a terminal, else a line per
// change of stage or 10 % of progress.
func waitForAsset(ctx context.Context, cl *client, id string, every time.Duration, w io.Writer) error {
	tty := isTerminal(w)
	lastLine, lastStep := "", -1
	for {
		body, err := assetCall(ctx, cl, http.MethodGet, assetPath(id), id)
		if err != nil {
			return fmt.Errorf("waiting for asset %s: %w", id, err)
		}
		var a assetView
		if err := decodeJSON(body, &a); err != nil {
			return err
		}
		line := a.Status
		if a.Stage != "" && a.Status == "processing" {
			line += " " + a.Stage
		}
		step := int(a.Progress / 10)
		switch {
		case tty:
			fmt.Fprintf(w, "\r\x1b[K%s %3.0f%%", line, a.Progress)
		case line != lastLine || step != lastStep:
			fmt.Fprintf(w, "%s %.0f%%\n", line, a.Progress)
		}
		lastLine, lastStep = line, step
		switch a.Status {
		case "ready":
			if tty {
				fmt.Fprintln(w)
			}
			msg := "Asset " + id + " is ready."
			if a.Playback != nil && a.Playback.Player != "" {
				msg += " Watch it at " + a.Playback.Player
			}
			fmt.Fprintln(w, msg)
			return nil
		case "failed":
			if tty {
				fmt.Fprintln(w)
			}
			reason := strings.TrimSpace(a.Error)
			if reason == "" {
				reason = "no reason given"
			}
			return fmt.Errorf("asset %s: %w: %s", id, errAssetFailed, reason)
		}
		if err := sleepCtx(ctx, every); err != nil {
			return fmt.Errorf("stopped waiting for asset %s (it keeps processing on the server): %w", id, err)
		}
	}
}
