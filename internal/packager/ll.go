package packager

import (
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/cut"
	"github.com/ospreyvideo/osprey/internal/packager/dash"
	"github.com/ospreyvideo/osprey/internal/packager/timeline"
)

// The low-latency edge of a live session, in memory: for each rendition,
// the last few segments as the cutter produced them, part by part, and the
// segment being produced. Segments and manifests still go to storage as
// before (for other nodes, DVR, recovery); the parts exist only here and
// are served by Playlist and Part (serve.go).

// llKeep is how many segments per rendition the edge keeps besides the
// open one: enough for the parts of the last three target durations
// (rfc8216bis lists parts that recent) and for a player requesting a
// segment just published while storage is slow.
const llKeep = 6

// llState is the low-latency edge of a session.
type llState struct {
	rends map[string]*llRend
	// wake is closed and replaced whenever a part or a segment is added:
	// the broadcast blocking requests wait on.
	wake chan struct{}
	// edgeDelay is how long after its last media instant the last part
	// was cut (Stats.EdgeDelay).
	edgeDelay time.Duration
	// closedAt is when a segment last completed: the MPD from memory
	// changes then (and when one is published), not at every part.
	closedAt time.Time
}

// llRend is one rendition's recent segments, oldest first; the last one
// may be open.
type llRend struct {
	segs []*llSeg
}

// llSeg is a segment of the edge.
type llSeg struct {
	n     uint64
	epoch int
	t     uint64 // decode time of its first sample
	ts    uint32
	parts []llPart
	done  bool
	data  []byte        // the whole segment, once done
	dur   time.Duration // its duration, once done
	d     uint64        // the same in its timescale
	size  int
	count int
}

type llPart struct {
	data        []byte
	dur         time.Duration
	independent bool
}

func newLLState() *llState {
	return &llState{rends: map[string]*llRend{}, wake: make(chan struct{})}
}

// changed wakes every waiting request.
func (s *llState) changed() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// seg returns segment n of the rendition, creating it (and the rendition)
// when create is set; nil if absent.
func (s *llState) seg(name string, n uint64, create bool, epoch int) *llSeg {
	r := s.rends[name]
	if r == nil {
		if !create {
			return nil
		}
		r = &llRend{}
		s.rends[name] = r
	}
	for i := len(r.segs) - 1; i >= 0; i-- {
		if r.segs[i].n == n {
			return r.segs[i]
		}
		if r.segs[i].n < n {
			break
		}
	}
	if !create {
		return nil
	}
	sg := &llSeg{n: n, epoch: epoch}
	r.segs = append(r.segs, sg)
	for len(r.segs) > llKeep+1 && r.segs[0].done {
		r.segs[0] = nil
		r.segs = r.segs[1:]
	}
	return sg
}

// part takes a part from the cutter (the cutter's handler, under l.mu).
func (l *Live) part(p cut.Part) {
	name := l.ep.streams[p.Rendition].Name
	sg := l.ll.seg(name, p.N, true, l.ep.index)
	if len(sg.parts) == 0 {
		sg.t, sg.ts = p.T, p.TS
	}
	sg.parts = append(sg.parts, llPart{data: p.Data, dur: p.Duration, independent: p.Independent})
	// Media time is the instant a frame reached ingest: how long after
	// its end a part is ready is what ingest, transcoding and cutting add
	// to every viewer's latency.
	l.ll.edgeDelay = l.cfg.Now().Sub(timeline.Time(p.T, p.TS).Add(p.Duration))
	l.ll.changed()
}

// llClosed records that a rendition's segment is complete (its last part
// came just before).
func (l *Live) llClosed(s cut.Closed) {
	if l.ll == nil || s.Data == nil {
		return
	}
	name := l.ep.streams[s.Rendition].Name
	sg := l.ll.seg(name, s.N, false, 0)
	if sg == nil {
		return
	}
	sg.done, sg.data = true, s.Data
	sg.t, sg.d, sg.size, sg.count = s.Result.T, s.Result.D, s.Result.Size, s.Result.Count
	sg.dur = timeline.Duration(s.Result.D, l.ep.streams[s.Rendition].TS)
	l.ll.closedAt = l.cfg.Now()
	l.ll.changed()
}

// start is the wall-clock instant of the segment's first sample.
func (sg *llSeg) start() time.Time { return timeline.Time(sg.t, sg.ts) }

// LL-DASH service description: the latency dash.js aims for behind the
// producer clock (the prft boxes of the chunks), and the playback rates it
// may use to get there.
const (
	dashTargetLatency = 1500 * time.Millisecond
	dashLatencySpan   = 1500 * time.Millisecond // the maximum is the target plus this
)

// dashLowLatency is what the live MPD says for low-latency DASH: chunks of
// a part target, the segment duration, the target latency.
func (l *Live) dashLowLatency() *dash.LowLatency {
	return &dash.LowLatency{
		ChunkDuration: l.partTarget(), SegmentDuration: l.cfg.SegmentDuration,
		TargetLatency: dashTargetLatency, MaxLatency: dashTargetLatency + dashLatencySpan,
		MinPlaybackRate: 0.95, MaxPlaybackRate: 1.05, InbandPrft: true,
	}
}
