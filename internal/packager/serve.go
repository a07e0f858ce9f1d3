package packager

import (
	"context"
	"errors"
	"io"
	"net/url"
)

// Serving a live session from memory. The low-latency edge of a session
// (the parts of the segment being produced and of the last few, and the
// segments still being written) exists only in the memory of the node
// that packages it: the origin asks the session for it, and storage for
// everything else.

// Errors of Playlist and Part.
var (
	// ErrNotServed: this session does not serve that path (another
	// session's directory, a rendition it does not have, parts off): the
	// caller serves it from storage.
	ErrNotServed = errors.New("packager: not served by this session")
	// ErrNoPart: the part or segment does not exist and will not (too old,
	// or a number this session never gives).
	ErrNoPart = errors.New("packager: no such part")
	// ErrHoldTimeout: a blocking request waited its bound (about three
	// target durations) without the part it asked for: answer 503.
	ErrHoldTimeout = errors.New("packager: part not produced in time")
)

// Playlist renders the LL-HLS media playlist of one of this session's
// renditions, with the segments of the window and the parts of the live
// edge, honouring the delivery directives of query (rfc8216bis 6.2.5): a
// request with _HLS_msn (and _HLS_part) is held until that part exists,
// or ctx is done, or its bound passes (ErrHoldTimeout); _HLS_skip renders
// a delta update. Malformed or too-far-ahead directives return an error
// wrapping hls.ErrBadDirective (answer 400 at once). dir is the session
// directory of the request path ("s3"): another directory is ErrNotServed.
func (l *Live) Playlist(ctx context.Context, dir, rendition string, query url.Values) ([]byte, error) {
	return nil, ErrNotServed
}

// Part opens part k of segment n of one of this session's renditions
// (k < 0: the whole segment n), as it is produced: the reader returns the
// bytes stored so far at once and blocks for the rest until the part (or
// segment) is complete, then returns io.EOF. A part listed in a
// preload hint may be opened before it starts. Closing the reader ends the
// wait. ErrNoPart for a part too old to be held in memory, or beyond the
// next one; ErrNotServed for another session's directory (serve the
// segment from storage).
func (l *Live) Part(ctx context.Context, dir, rendition string, n uint64, k int) (io.ReadCloser, error) {
	return nil, ErrNotServed
}
