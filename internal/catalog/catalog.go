// Package catalog keeps Osprey's metadata: channels now, assets later.
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
)

// Channel is a live channel: a place a publisher sends one stream to.
type Channel struct {
	ID        string    // "ch_" + random, URL-safe
	Name      string    // a person's label, unique
	StreamKey string    // secret the publisher presents; "sk_" + random
	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC
}

// Store is the catalog repository.
type Store interface {
	CreateChannel(ctx context.Context, ch Channel) error
	GetChannel(ctx context.Context, id string) (Channel, error)
	// ChannelByStreamKey finds the channel a publisher's key belongs to.
	ChannelByStreamKey(ctx context.Context, key string) (Channel, error)
	ListChannels(ctx context.Context) ([]Channel, error)
	DeleteChannel(ctx context.Context, id string) error
	// SetStreamKey replaces a channel's stream key (key rotation).
	SetStreamKey(ctx context.Context, id, key string) (Channel, error)
	// Ping reports whether the catalog is reachable, for readiness checks.
	Ping(ctx context.Context) error
	Close() error
}
