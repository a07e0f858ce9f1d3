package ingest

import "errors"

// Causes a listener passes to Publication.Close when it cuts a session. They
// are wrapped with detail; test them with errors.Is.
var (
	// ErrServerClosed: the listener is shutting down.
	ErrServerClosed = errors.New("ingest server closed")
	// ErrTimeout: the publisher went silent, or never sent a usable first frame.
	ErrTimeout = errors.New("publisher timed out")
	// ErrUnsupported: the publisher sent a codec or format Osprey cannot carry.
	ErrUnsupported = errors.New("unsupported media")
)

// RedactKey returns a stream key in a form safe to log: its first three
// characters followed by an ellipsis, never the whole key.
func RedactKey(key string) string {
	const keep = 3
	r := []rune(key)
	if len(r) <= keep*2 {
		// too short to show any of it without giving most of it away
		return "…"
	}
	return string(r[:keep]) + "…"
}
