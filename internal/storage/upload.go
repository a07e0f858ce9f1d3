package storage

import (
	"context"
	"io"
)

// Uploader is implemented by stores that can store a stream of unknown
// length without holding it in memory: VoD sources go through it when the
// store is not a FileStore.
type Uploader interface {
	// Upload stores everything r yields under key, replacing any previous
	// object atomically (like Put), and returns the number of bytes stored.
	// When r fails or ctx ends before r's EOF, nothing is stored under key
	// (a previous object stays) and nothing is left behind.
	Upload(ctx context.Context, key string, r io.Reader) (int64, error)
}

// Copier is implemented by stores that copy an object inside the store
// without moving its bytes through the caller (S3: CopyObject).
type Copier interface {
	// Copy stores the object under src also under dst, replacing any
	// previous object at dst atomically. A missing src is an error wrapping
	// ErrNotFound.
	Copy(ctx context.Context, src, dst string) error
}
