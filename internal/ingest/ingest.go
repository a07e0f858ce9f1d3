// Package ingest holds what the protocol listeners (ingest/rtmp, ingest/srt)
// share: the handler they hand publications to, and the errors that refuse one.
//
// A listener authenticates a publisher during the protocol handshake by calling
// Handler.Publish with the stream key it presented, before it accepts any media.
// Once the tracks are known it calls Publication.Start, then writes units on the
// session timeline (first DTS = 0) and finally Close.
package ingest

import (
	"context"
	"errors"
	"net"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Reasons a publication is refused. Handlers return errors wrapping these.
var (
	// ErrUnknownKey: no channel has this stream key.
	ErrUnknownKey = errors.New("unknown stream key")
	// ErrBusy: the channel already has a publisher.
	ErrBusy = errors.New("channel already has a publisher")
)

// Request describes a publisher knocking.
type Request struct {
	Protocol   string // "rtmp" or "srt"
	StreamKey  string
	RemoteAddr net.Addr
}

// Handler decides whether a publisher may publish and receives its media.
type Handler interface {
	Publish(ctx context.Context, req Request) (Publication, error)
}

// Publication is one accepted publish session.
type Publication interface {
	// Start is called once, when the tracks are known and before any unit.
	Start(tracks []*media.Track) error
	// WriteUnit delivers a unit of tracks[track]. An error ends the session.
	media.Sink
	// Close ends the publication. cause is nil when the publisher left
	// normally (end of stream), otherwise the reason it was cut.
	Close(cause error)
}
