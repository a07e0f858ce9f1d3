// Package catalog keeps Osprey's metadata: live channels, VoD assets and
// webhook endpoints with their delivery log.
//
// Store is the repository interface; catalog/sqlite implements it on an
// embedded SQLite database with versioned migrations, and a PostgreSQL
// implementation satisfies the same interface.
package catalog

import (
	"context"
	"errors"
	"time"
)

// Errors returned (wrapped) by Store implementations.
var (
	ErrNotFound = errors.New("catalog: not found")
	ErrConflict = errors.New("catalog: already exists")
	// ErrInvalid is a malformed argument, such as a list cursor that no
	// list returned.
	ErrInvalid = errors.New("catalog: invalid argument")
)

// Channel is a live channel: a place a publisher sends one stream to.
type Channel struct {
	ID        string // "ch_" + random, URL-safe
	Name      string // a person's label, unique
	StreamKey string // secret the publisher presents; "sk_" + random
	// DVRWindow is how long the channel's segments are kept for time-shifted
	// viewing and clips (0: the deployment's live.dvr_window).
	DVRWindow time.Duration
	// Record makes each of the channel's sessions a VoD asset when it ends.
	Record    bool
	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC
}

// Store is the catalog repository.
type Store interface {
	AssetStore
	WebhookStore

	CreateChannel(ctx context.Context, ch Channel) error
	GetChannel(ctx context.Context, id string) (Channel, error)
	// ChannelByStreamKey finds the channel a publisher's key belongs to.
	ChannelByStreamKey(ctx context.Context, key string) (Channel, error)
	ListChannels(ctx context.Context) ([]Channel, error)
	DeleteChannel(ctx context.Context, id string) error
	// SetStreamKey replaces a channel's stream key (key rotation).
	SetStreamKey(ctx context.Context, id, key string) (Channel, error)
	// UpdateChannel reads the channel, applies fn and writes its Name,
	// DVRWindow and Record in one transaction (fn's changes to the other
	// fields are ignored); UpdatedAt is set by the store. fn's error aborts
	// the update and is returned as is; a name another channel has is
	// ErrConflict, a missing channel ErrNotFound (fn is not called).
	UpdateChannel(ctx context.Context, id string, fn func(*Channel) error) (Channel, error)
	// Ping reports whether the catalog is reachable, for readiness checks.
	Ping(ctx context.Context) error
	Close() error
}

// AssetStatus is where an asset is in the VoD pipeline.
type AssetStatus string

// Asset statuses. An asset imported from a URL is importing while its
// source downloads. An asset is queued until a worker takes its job,
// processing while the pipeline runs (and while a failed attempt waits for
// its retry), then ready or failed.
const (
	// AssetImporting: the source is being downloaded from its URL (a URL
	// import); the asset becomes queued when it has arrived.
	AssetImporting  AssetStatus = "importing"
	AssetQueued     AssetStatus = "queued"
	AssetProcessing AssetStatus = "processing"
	AssetReady      AssetStatus = "ready"
	AssetFailed     AssetStatus = "failed"
)

// Asset is a video-on-demand title: one source file and what the pipeline
// made of it.
type Asset struct {
	ID       string // "as_" + random, URL-safe
	Title    string
	Status   AssetStatus
	Stage    string  // pipeline stage while processing: "probe", "transcode", "thumbnails", "publish"
	Progress float64 // percent, 0–100
	Error    string  // why it failed, as a sentence a person understands; "" otherwise
	Attempts int     // pipeline attempts started so far

	Source   AssetSource
	UploadID string // tus upload id it came from, "" otherwise
	JobID    int64  // the job-queue id of its processing job, 0 if none

	Duration time.Duration // of the source, once probed
	Output   AssetOutput   // filled in when ready

	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC
	ReadyAt   time.Time // UTC; zero until ready
}

// AssetSource describes the file an asset was made from.
type AssetSource struct {
	Filename string // as the client named it (never trusted for the type)
	Size     int64  // bytes
	Key      string // storage key of the stored source file
	Origin   string // how it arrived: "tus", "multipart", "url", "inbox"
	// URL is the source URL for Origin "url", with every query value that
	// may be a secret (a presigned URL's signature or token) replaced by
	// "REDACTED": the full URL lives only in the import job's arguments.
	URL string
	// Probe is a short summary of the probed source, e.g.
	// "h264 1920x1080 29.97fps, aac 2ch, 60.0s"; "" until probed.
	Probe string
}

// AssetOutput is what a ready asset offers. Paths are relative to the
// asset's storage prefix ("vod/{id}/").
type AssetOutput struct {
	Renditions []AssetRendition
	Subtitles  []AssetSubtitle
	Poster     string // e.g. "thumbs/poster.jpg"
	Sprite     string // first sprite sheet, e.g. "thumbs/sprite-0.jpg"
	Thumbnails string // WebVTT thumbnails track, e.g. "thumbs/thumbnails.vtt"
}

// AssetRendition is one packaged rendition.
type AssetRendition struct {
	Name     string // "720p", "audio", "audio-1"
	Kind     string // "video" or "audio"
	Codec    string // RFC 6381 codec string, e.g. "avc1.64001f"
	Width    int
	Height   int
	Bitrate  int    // average bits/s
	Language string // BCP 47, audio only; "" if unknown
}

// AssetSubtitle is one WebVTT subtitle track.
type AssetSubtitle struct {
	Name     string // path element, e.g. "en"
	Language string // BCP 47
	Label    string // shown to viewers, e.g. "English"
	Path     string // e.g. "subs/en.vtt"
}

// AssetFilter selects assets for ListAssets. Zero fields match everything.
type AssetFilter struct {
	UploadID string
	Status   AssetStatus
	Limit    int    // page size; 0 means 50, capped at 500
	After    string // cursor: the NextCursor of the previous page
}

// AssetPage is one page of ListAssets, newest first.
type AssetPage struct {
	Items      []Asset
	NextCursor string // "" on the last page
}

// Tx is a catalog transaction handed to callbacks that must write in the
// same transaction as the catalog (a job queue's insert). Its concrete type
// belongs to the backend: *sql.Tx for catalog/sqlite, pgx.Tx for
// catalog/postgres.
type Tx any

// Webhook is an endpoint that receives event notifications.
type Webhook struct {
	ID        string   // "wh_" + random
	URL       string   // http(s) endpoint
	Secret    string   // HMAC-SHA256 key for the signature header
	Events    []string // event types it wants; empty means all
	CreatedAt time.Time
}

// Delivery is one attempt to deliver one event to one webhook.
type Delivery struct {
	ID         int64 // assigned by the store
	WebhookID  string
	EventID    string // the same for every attempt of one event
	EventType  string // "asset.ready", ...
	Attempt    int    // 1-based
	StatusCode int    // HTTP status, 0 when no response
	Error      string // "" on success
	Duration   time.Duration
	CreatedAt  time.Time
}

// AssetStore is the asset part of the catalog.
type AssetStore interface {
	// CreateAsset inserts a. If also is not nil it runs inside the same
	// transaction (to enqueue the asset's job atomically with its row); an
	// error from it rolls the insert back.
	CreateAsset(ctx context.Context, a Asset, also func(ctx context.Context, tx Tx) error) error
	GetAsset(ctx context.Context, id string) (Asset, error)
	ListAssets(ctx context.Context, f AssetFilter) (AssetPage, error)
	// UpdateAsset reads the asset, applies fn and writes the result in one
	// transaction; fn's error aborts the update and is returned as is.
	// UpdatedAt is set by the store.
	UpdateAsset(ctx context.Context, id string, fn func(*Asset) error) (Asset, error)
	DeleteAsset(ctx context.Context, id string) error
}

// AssetTxUpdater is an AssetStore that can also write other rows (a job
// queue's insert) in the transaction of an asset update. Backends opt in.
type AssetTxUpdater interface {
	// UpdateAssetTx is UpdateAsset with the transaction handed to fn: an
	// error from fn rolls back the update and whatever fn wrote through tx.
	UpdateAssetTx(ctx context.Context, id string, fn func(ctx context.Context, tx Tx, a *Asset) error) (Asset, error)
}

// WebhookStore is the webhook part of the catalog.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, w Webhook) error
	GetWebhook(ctx context.Context, id string) (Webhook, error)
	ListWebhooks(ctx context.Context) ([]Webhook, error)
	// DeleteWebhook removes a webhook and its delivery log.
	DeleteWebhook(ctx context.Context, id string) error
	// AddDelivery records an attempt and returns it with its ID set.
	AddDelivery(ctx context.Context, d Delivery) (Delivery, error)
	// ListDeliveries returns a webhook's most recent attempts, newest first
	// (limit 0 means 100).
	ListDeliveries(ctx context.Context, webhookID string, limit int) ([]Delivery, error)
}
