// Package storage is where packaged media live: init segments, media segments
// and manifests, addressed by slash-separated keys such as
// "live/ch_123/720p/42.m4s".
//
// A Store's writes are atomic: a reader sees either the previous object or the
// whole new one, never a part. The local folder backend is in storage/fs; an
// S3-compatible backend satisfies the same interface.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) when a key has no object.
var ErrNotFound = errors.New("storage: object not found")

// Object is an open stored object. Close it when done.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
	// ETag is a strong validator for this version of the object, without quotes.
	ETag string
}

// Store keeps objects by key.
type Store interface {
	// Put stores data under key, replacing any previous object atomically.
	// It must not keep data after it returns: callers reuse the buffer.
	Put(ctx context.Context, key string, data []byte) error
	// Open opens the object under key; it returns an error wrapping
	// ErrNotFound when there is none.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes the object under key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object whose key starts with prefix.
	DeletePrefix(ctx context.Context, prefix string) error
}

// FileStore is implemented by stores on a local filesystem. Source files of
// video on demand go through it: a finished upload is adopted without a
// copy, and ffmpeg reads the stored file in place.
type FileStore interface {
	Store
	// Import moves the local file at path into the store under key, replacing
	// any previous object (a rename on the same filesystem, else a copy).
	// On success the file at path is gone; on failure it is left in place.
	Import(ctx context.Context, key, path string) error
	// LocalPath returns the filesystem path of key's object, or an error
	// wrapping ErrNotFound.
	LocalPath(key string) (string, error)
}
