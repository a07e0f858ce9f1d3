package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// assetView is the API's asset JSON, as far as the CLI shows it.
type assetView struct {
	ID       string  `json:"id"`
	Title    string  `json:"title"`
	Status   string  `json:"status"` // importing, queued, processing, ready, failed
	Stage    string  `json:"stage"`
	Progress float64 `json:"progress"` // percent
	Error    string  `json:"error"`
	Duration float64 `json:"duration"` // seconds
	Source   struct {
		Filename string `json:"filename"`
		Size     int64  `json:"size"`
		Origin   string `json:"origin"`
	} `json:"source"`
	Renditions []struct {
		Name     string `json:"name"`
		Kind     string `json:"kind"`
		Codec    string `json:"codec"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
		Bitrate  int    `json:"bitrate"`
		Language string `json:"language"`
	} `json:"renditions"`
	Playback *struct {
		HLS    string `json:"hls"`
		DASH   string `json:"dash"`
		Player string `json:"player"`
	} `json:"playback"`
	Thumbnails *struct {
		Poster string `json:"poster"`
		Sprite string `json:"sprite"`
		VTT    string `json:"vtt"`
	} `json:"thumbnails"`
	CreatedAt time.Time `json:"created_at"`
}

// statusText is the status with what is known about its progress.
func (a assetView) statusText() string {
	switch a.Status {
	case "importing":
		s := "importing"
		if a.Source.Size > 0 {
			s += " " + formatBytes(a.Source.Size)
		}
		if a.Progress > 0 {
			s += fmt.Sprintf(" (%.0f%%)", a.Progress)
		}
		return s
	case "processing":
		s := fmt.Sprintf("processing %.0f%%", a.Progress)
		if a.Stage != "" {
			s += " (" + a.Stage + ")"
		}
		return s
	case "failed":
		if a.Error != "" {
			return "failed: " + a.Error
		}
	}
	return a.Status
}

// printAsset writes one asset as aligned "Label: value" lines.
func printAsset(w io.Writer, a assetView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(label, value string) {
		if value != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", label, value)
		}
	}
	row("ID", a.ID)
	row("Title", a.Title)
	row("Status", a.Status)
	if a.Status == "processing" || a.Status == "queued" || a.Status == "importing" {
		row("Stage", a.Stage)
		row("Progress", fmt.Sprintf("%.0f%%", a.Progress))
	}
	row("Error", a.Error)
	if a.Duration > 0 {
		row("Duration", formatDuration(a.Duration))
	}
	src := a.Source.Filename
	if a.Source.Size > 0 {
		src += " (" + formatBytes(a.Source.Size) + ")"
	}
	if a.Source.Origin != "" {
		src += " via " + a.Source.Origin
	}
	row("Source", strings.TrimSpace(src))
	if !a.CreatedAt.IsZero() {
		row("Created", a.CreatedAt.Local().Format(time.DateTime+" MST"))
	}
	for _, r := range a.Renditions {
		row("Rendition", renditionText(r.Name, r.Kind, r.Codec, r.Width, r.Height, r.Bitrate, r.Language))
	}
	if p := a.Playback; p != nil {
		row("HLS", p.HLS)
		row("DASH", p.DASH)
		row("Player", p.Player)
	}
	if t := a.Thumbnails; t != nil {
		row("Poster", t.Poster)
		row("Thumbnails", t.VTT)
	}
	return tw.Flush()
}

func renditionText(name, kind, codec string, width, height, bitrate int, lang string) string {
	parts := []string{name}
	if kind == "video" && width > 0 {
		parts = append(parts, fmt.Sprintf("%dx%d", width, height))
	}
	if codec != "" {
		parts = append(parts, codec)
	}
	if bitrate > 0 {
		parts = append(parts, fmt.Sprintf("%.0f kb/s", float64(bitrate)/1000))
	}
	if lang != "" {
		parts = append(parts, lang)
	}
	return strings.Join(parts, " · ")
}

// printAssetList writes a table of assets.
func printAssetList(w io.Writer, assets []assetView) error {
	if len(assets) == 0 {
		_, err := fmt.Fprintln(w, "No assets. Upload one with: osprey asset upload FILE")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tSTATUS\tDURATION\tCREATED")
	for _, a := range assets {
		dur, created := "-", "-"
		if a.Duration > 0 {
			dur = formatDuration(a.Duration)
		}
		if !a.CreatedAt.IsZero() {
			created = a.CreatedAt.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Title, a.statusText(), dur, created)
	}
	return tw.Flush()
}

// formatDuration shows seconds as h:mm:ss or m:ss.
func formatDuration(sec float64) string {
	s := int64(sec + 0.5)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// formatBytes shows a size in decimal units, as network speeds are.
func formatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
