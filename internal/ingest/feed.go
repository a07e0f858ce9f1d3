package ingest

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Bounds on what a Feed holds while it waits for in-band parameter sets.
const (
	maxPendingUnits = 2048
	maxPendingBytes = 32 << 20
)

// Feed turns the access units a protocol reader produces into media units on
// the session timeline and delivers them to a Publication. Both listeners use
// it, so RTMP and SRT publishers produce the same units:
//
//   - Start is called once every video track's parameter sets are known
//     (from the RTMP sequence header, or in-band for MPEG-TS), with Width and
//     Height read from the SPS. Units that arrive before are held (bounded).
//   - The session starts at the first video key frame (the first audio frame
//     for audio-only sessions), which gets DTS 0; earlier units are dropped.
//     Timestamps go through a Timeline (resets, jumps, PTS >= DTS).
//   - Video units carry NAL units without start codes or access unit
//     delimiters; Key is set on IDR (H.264) and IRAP (H.265) pictures.
//     Parameter sets the publisher sent without a picture (an RTMP sequence
//     header) are prepended to the next picture. A mid-stream change of
//     parameter sets stays in-band: tracks are not updated after Start.
//   - Audio units carry one frame each: several AAC/Opus frames from one PES
//     or message are split, each one's PTS advanced by the frame duration.
//
// Ownership: every unit and its byte slices are handed over to the
// Publication; the Feed never touches them after WriteUnit returns. Slices
// may be shared between units and tracks (parameter sets), so consumers
// must treat them as read-only.
//
// A Feed is driven by one goroutine; only Flowing may be called from others.
type Feed struct {
	pub    Publication
	tracks []*media.Track
	video  []*videoState // nil for audio tracks
	tl     *Timeline

	hasVideo     bool
	started      bool
	pending      []pendingUnit
	pendingBytes int

	flowing   atomic.Bool
	delivered int64
	dropped   int64
}

type pendingUnit struct {
	track int
	unit  *media.Unit
}

// FeedStats summarises a session for logs.
type FeedStats struct {
	Delivered       int64 // units written to the publication
	Dropped         int64 // units before the session origin
	Discontinuities int   // publisher clock resets and jumps absorbed
}

// NewFeed prepares the delivery of tracks to pub. Tracks may lack their
// parameter sets and size; the Feed fills them before calling Start.
func NewFeed(pub Publication, tracks []*media.Track) *Feed {
	f := &Feed{
		pub:    pub,
		tracks: tracks,
		video:  make([]*videoState, len(tracks)),
		tl:     NewTimeline(len(tracks)),
	}
	for i, t := range tracks {
		if t.Kind == media.Video {
			f.video[i] = newVideoState(t)
			f.hasVideo = true
		}
	}
	return f
}

// Tracks returns the tracks, complete once Started.
func (f *Feed) Tracks() []*media.Track { return f.tracks }

// Started reports whether Publication.Start has been called.
func (f *Feed) Started() bool { return f.started }

// Flowing reports whether a unit has reached the publication. It is safe to
// call from any goroutine.
func (f *Feed) Flowing() bool { return f.flowing.Load() }

// Stats returns counters for logs.
func (f *Feed) Stats() FeedStats {
	return FeedStats{Delivered: f.delivered, Dropped: f.dropped, Discontinuities: f.tl.Discontinuities()}
}

// TryStart calls Publication.Start if every video track's parameter sets
// are already known. Otherwise it does nothing and the Feed starts as soon
// as they arrive in-band.
func (f *Feed) TryStart() error {
	if f.started {
		return nil
	}
	for _, v := range f.video {
		if v != nil && !v.ready() {
			return nil
		}
	}
	for i, v := range f.video {
		if v != nil {
			if err := v.fill(f.tracks[i]); err != nil {
				return err
			}
		}
	}
	if err := f.pub.Start(f.tracks); err != nil {
		return fmt.Errorf("starting publication: %w", err)
	}
	f.started = true

	pending := f.pending
	f.pending, f.pendingBytes = nil, 0
	for _, p := range pending {
		if err := f.deliver(p.track, p.unit); err != nil {
			return err
		}
	}
	return nil
}

// WriteVideo takes one H.264/H.265 access unit (NAL units without start
// codes) with the publisher's timestamps.
func (f *Feed) WriteVideo(track int, pts, dts time.Duration, au [][]byte) error {
	v := f.video[track]
	if v == nil {
		return fmt.Errorf("track %d is not a video track", track)
	}
	nalus, key := v.process(au)
	if nalus == nil {
		return nil // parameter sets only: carried to the next picture
	}
	return f.push(track, &media.Unit{PTS: pts, DTS: dts, Key: key, NALUs: nalus})
}

// WriteAudio takes one or more consecutive audio frames, the first one
// presented at pts.
func (f *Feed) WriteAudio(track int, pts time.Duration, frames ...[]byte) error {
	t := f.tracks[track]
	if t.Kind != media.Audio {
		return fmt.Errorf("track %d is not an audio track", track)
	}
	for _, fr := range frames {
		if len(fr) == 0 {
			continue
		}
		if err := f.push(track, &media.Unit{PTS: pts, DTS: pts, Key: true, Data: fr}); err != nil {
			return err
		}
		pts += frameDuration(t, fr)
	}
	return nil
}

func (f *Feed) push(track int, u *media.Unit) error {
	if !f.started {
		if err := f.TryStart(); err != nil {
			return err
		}
	}
	if f.started {
		return f.deliver(track, u)
	}
	f.pending = append(f.pending, pendingUnit{track, u})
	f.pendingBytes += unitSize(u)
	if len(f.pending) > maxPendingUnits || f.pendingBytes > maxPendingBytes {
		return fmt.Errorf("%w: no video parameter sets (SPS/PPS) in the first %d units", ErrUnsupported, len(f.pending))
	}
	return nil
}

func (f *Feed) deliver(track int, u *media.Unit) error {
	if !f.tl.Started() {
		if f.hasVideo && (f.video[track] == nil || !u.Key) {
			f.dropped++
			return nil // wait for a video key frame
		}
		f.tl.SetOrigin(u.DTS)
	}
	pts, dts, ok := f.tl.Map(track, u.PTS, u.DTS)
	if !ok {
		f.dropped++
		return nil
	}
	u.PTS, u.DTS = pts, dts
	if err := f.pub.WriteUnit(track, u); err != nil {
		return fmt.Errorf("writing unit: %w", err)
	}
	f.delivered++
	f.flowing.Store(true)
	return nil
}

func unitSize(u *media.Unit) int {
	n := len(u.Data)
	for _, b := range u.NALUs {
		n += len(b)
	}
	return n
}
