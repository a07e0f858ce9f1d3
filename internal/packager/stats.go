package packager

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
)

// Stats describes a live packager for the API and metrics.
type Stats struct {
	Epochs            int       // Begin calls so far
	SegmentsPublished int64     // segment numbers published in this session
	LastSegment       uint64    // number of the last published segment
	LastPublish       time.Time // when it was published (zero before the first)
	Discontinuities   uint64    // channel-wide discontinuity sequence
	DroppedUnits      int64     // units that could not be packaged (before a keyframe, bad timestamps...)
	StoreErrors       int64     // failed storage writes and deletes
	PendingDeletes    int       // deletion batches waiting for their grace period
	// StoreBacklog is the segment and init objects waiting to be stored
	// (storage slow or refusing writes), StoreBacklogBytes their size;
	// StoreGaps counts segment objects given up and listed as gaps.
	StoreBacklog      int
	StoreBacklogBytes int64
	StoreGaps         int64
	// Continued is set once this session has taken over the playlists of
	// one a crash left live (see NewLive).
	Continued bool
	// EdgeDelay is, with parts, how long after its last media instant (the
	// moment that frame reached ingest) the last part was ready: the delay
	// ingest, transcoding and cutting add before any player's.
	EdgeDelay  time.Duration
	Renditions []RenditionStats
}

// RenditionStats is one rendition's measurements in this session.
type RenditionStats struct {
	Name        string
	Kind        media.Kind
	Codecs      string  // RFC 6381
	Bitrate     int     // measured average bits/s
	PeakBitrate int     // highest segment bitrate measured, bits/s
	FrameRate   float64 // measured, video only
	Segments    int64
	Bytes       int64
}

// Stats returns a snapshot.
func (l *Live) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.st.Counters()
	s := Stats{
		Epochs: l.epochs, SegmentsPublished: c.SegmentsPublished, LastSegment: c.LastSegment, LastPublish: c.LastPublish,
		Discontinuities: c.Discontinuities, DroppedUnits: l.droppedUnits(), StoreErrors: l.storeErrors, PendingDeletes: c.PendingDeletes,
		Continued: c.Continued, StoreGaps: l.storeGaps,
	}
	if l.w != nil {
		s.StoreBacklog, s.StoreBacklogBytes = l.w.Backlog()
	}
	if l.ll != nil {
		s.EdgeDelay = l.ll.edgeDelay
	}
	if l.ep == nil {
		return s
	}
	for _, st := range l.ep.streams {
		rs := RenditionStats{Name: st.Name, Kind: st.Kind}
		if ri := l.st.Meter(st.Name); ri != nil {
			rs.Codecs, rs.PeakBitrate, rs.FrameRate = ri.Info.Codecs, ri.Peak, ri.FPS
			rs.Segments, rs.Bytes = ri.Segments, ri.Bytes
			if ri.Dur > 0 {
				rs.Bitrate = int(float64(ri.Bytes*8) / ri.Dur.Seconds())
			}
		}
		s.Renditions = append(s.Renditions, rs)
	}
	return s
}
