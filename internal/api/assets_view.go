package api

import (
	"math"
	"strings"
	"time"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/intake"
)

// Asset is a VoD asset as the API (and webhook payloads) show it.
type Asset struct {
	ID         string           `json:"id"`
	Title      string           `json:"title"`
	Status     string           `json:"status"`   // importing, queued, processing, ready, failed
	Stage      string           `json:"stage"`    // download while importing; while processing: probe, transcode, thumbnails, publish
	Progress   float64          `json:"progress"` // percent of the download while importing (when its size is known), else of processing
	Error      string           `json:"error,omitempty"`
	Attempts   int              `json:"attempts"`
	Duration   float64          `json:"duration"` // seconds
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	ReadyAt    *time.Time       `json:"ready_at,omitempty"`
	UploadID   string           `json:"upload_id,omitempty"`
	Source     AssetSource      `json:"source"`
	Renditions []AssetRendition `json:"renditions"`
	Subtitles  []AssetSubtitle  `json:"subtitles"`
	Playback   *AssetPlayback   `json:"playback,omitempty"`   // when ready
	Thumbnails *AssetThumbnails `json:"thumbnails,omitempty"` // when made
}

// AssetSource describes the file an asset was made from.
type AssetSource struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
	Origin   string `json:"origin"` // tus, multipart, url, inbox
	// URL is the source URL of a URL import, every query value that may be
	// a secret replaced by "REDACTED" (intake.RedactURL).
	URL   string `json:"url,omitempty"`
	Probe string `json:"probe,omitempty"`
}

// AssetRendition is one packaged rendition.
type AssetRendition struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"` // video or audio
	Codec    string `json:"codec"`
	Width    int    `json:"width,omitempty"`
	Height   int    `json:"height,omitempty"`
	Bitrate  int    `json:"bitrate"`
	Language string `json:"language,omitempty"`
}

// AssetSubtitle is one WebVTT track.
type AssetSubtitle struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Label    string `json:"label"`
	URL      string `json:"url"`
}

// AssetPlayback holds the URLs viewers use.
type AssetPlayback struct {
	HLS    string `json:"hls"`    // BASE/vod/ID/index.m3u8
	DASH   string `json:"dash"`   // BASE/vod/ID/manifest.mpd
	Player string `json:"player"` // BASE/watch/vod/ID
}

// AssetThumbnails holds the URLs of the images made from the video.
type AssetThumbnails struct {
	Poster string `json:"poster,omitempty"`
	Sprite string `json:"sprite,omitempty"`
	VTT    string `json:"vtt,omitempty"` // WebVTT track of sprite tiles
}

// AssetList is the body of GET /api/v1/assets.
type AssetList struct {
	Items      []Asset `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// AssetJSON renders a for responses and webhook payloads. base is the
// public URL without a trailing slash ("" gives root-relative URLs).
func AssetJSON(base string, a catalog.Asset) Asset {
	base = strings.TrimRight(base, "/")
	media := base + "/vod/" + a.ID + "/"
	v := Asset{
		ID:        a.ID,
		Title:     a.Title,
		Status:    string(a.Status),
		Stage:     a.Stage,
		Progress:  math.Round(a.Progress*10) / 10,
		Error:     a.Error,
		Attempts:  a.Attempts,
		Duration:  math.Round(a.Duration.Seconds()*1000) / 1000,
		CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt,
		UploadID:  a.UploadID,
		Source: AssetSource{
			Filename: a.Source.Filename,
			Size:     a.Source.Size,
			Origin:   a.Source.Origin,
			URL:      redactedURL(a.Source.URL),
			Probe:    a.Source.Probe,
		},
		Renditions: make([]AssetRendition, 0, len(a.Output.Renditions)),
		Subtitles:  make([]AssetSubtitle, 0, len(a.Output.Subtitles)),
	}
	if !a.ReadyAt.IsZero() {
		t := a.ReadyAt
		v.ReadyAt = &t
	}
	for _, r := range a.Output.Renditions {
		v.Renditions = append(v.Renditions, AssetRendition{
			Name: r.Name, Kind: r.Kind, Codec: r.Codec, Width: r.Width, Height: r.Height,
			Bitrate: r.Bitrate, Language: r.Language,
		})
	}
	for _, s := range a.Output.Subtitles {
		v.Subtitles = append(v.Subtitles, AssetSubtitle{Name: s.Name, Language: s.Language, Label: s.Label, URL: media + s.Path})
	}
	if a.Status == catalog.AssetReady {
		v.Playback = &AssetPlayback{
			HLS:    media + "index.m3u8",
			DASH:   media + "manifest.mpd",
			Player: base + "/watch/vod/" + a.ID,
		}
	}
	if o := a.Output; o.Poster != "" || o.Sprite != "" || o.Thumbnails != "" {
		v.Thumbnails = &AssetThumbnails{Poster: mediaURL(media, o.Poster), Sprite: mediaURL(media, o.Sprite), VTT: mediaURL(media, o.Thumbnails)}
	}
	return v
}

// redactedURL is a stored source URL as it may be shown: redacted again,
// for rows written before URLs were stored redacted.
func redactedURL(u string) string {
	if u == "" {
		return ""
	}
	return intake.RedactURL(u)
}

func mediaURL(media, path string) string {
	if path == "" {
		return ""
	}
	return media + path
}
