// Package clip makes video-on-demand assets out of a live channel's stored
// segments, without re-encoding: a clip of a span inside the channel's DVR
// window (POST /api/v1/channels/{id}/clips), and the recording of a whole
// session when a channel with record: true stops (internal/live's
// record.go calls Service.Record).
//
// The span's segments come from the channel's DVR index
// (internal/packager/dvr, read with dvr.Reader) through a Spanner. Build copies every listed
// rendition's init segments and media segments under the asset's prefix
// in the asset layout (internal/packager/asset: {rendition}/{n}.m4s from
// 1, {rendition}/init-{v}.mp4), writes vod.json and renders the same VoD
// manifests an uploaded asset has (asset.Publish), so the origin, the
// player, thumbnails and webhooks treat a clip as any other asset.
//
// Precision: segments start on keyframes and are copied as they are, so a
// clip starts at the start of the segment holding the requested start (up
// to one segment earlier: starting later would need the first GOP
// re-encoded). Its end is cut at a frame: the last segment keeps, in every
// rendition, the samples that start before the requested end (see
// trimEnd; live video has no B-frames, so they decode), so the clip ends
// less than a frame after it. A recording keeps the whole session. The
// copies' decode times (tfdt) are moved so that the asset's media time
// starts at 0, as every VoD asset's does (players start such a VoD at
// once; with the live wall-clock times hls.js may not start at all).
package clip

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/manifest"
)

// Spanner reads the segments of a live channel that overlap [start, end)
// from its DVR index (Index, on dvr.Reader, unless Config.Span says else).
type Spanner interface {
	// Span returns the segments of the channel stored under prefix
	// ("live/{id}") overlapping [start, end) as one View (Dir: the
	// session's directory). A channel without an index returns an error
	// wrapping ErrNeverLive; a span outside the DVR window one that is (or
	// wraps) a *WindowError.
	Span(ctx context.Context, prefix string, start, end time.Time) (*manifest.View, error)
}

// SpanFunc adapts a function to Spanner.
type SpanFunc func(ctx context.Context, prefix string, start, end time.Time) (*manifest.View, error)

// Span calls f.
func (f SpanFunc) Span(ctx context.Context, prefix string, start, end time.Time) (*manifest.View, error) {
	return f(ctx, prefix, start, end)
}

// ErrNeverLive is a channel with no stored session (it never went live,
// or everything it stored aged out of its DVR window).
var ErrNeverLive = errors.New("clip: the channel has no stored segments (never live)")

// WindowError is a span outside the DVR window [From, To]: what the
// channel has stored when the clip was asked for.
type WindowError struct {
	From, To time.Time
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("clip: the span is outside the DVR window, %s to %s",
		e.From.UTC().Format(time.RFC3339Nano), e.To.UTC().Format(time.RFC3339Nano))
}
