package packager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/packager/hls"
	"github.com/ospreyvideo/osprey/internal/packager/manifest"
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

// partsListed is how far back, in target durations from the live edge,
// segments keep their parts listed (rfc8216bis 4.4.4.9: at least the last
// three target durations).
const partsListed = 3

// holdFor is the bound of a blocking request: three target durations.
func holdFor(td time.Duration) time.Duration { return 3 * td }

// Playlist renders the LL-HLS media playlist of one of this session's
// renditions, with the segments of the window and the parts of the live
// edge, honouring the delivery directives of query (rfc8216bis 6.2.5): a
// request with _HLS_msn (and _HLS_part) is held until that part exists,
// or ctx is done, or its bound passes (ErrHoldTimeout); _HLS_skip renders
// a delta update. Malformed or too-far-ahead directives return an error
// wrapping hls.ErrBadDirective (answer 400 at once). dir is the session
// directory of the request path ("s3"): another directory is ErrNotServed.
func (l *Live) Playlist(ctx context.Context, dir, rendition string, query url.Values) ([]byte, error) {
	d, err := hls.ParseDirectives(query)
	if err != nil {
		return nil, err
	}
	var hold *hold
	for {
		l.mu.Lock()
		pl, edge, err := l.llPlaylist(dir, rendition)
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		switch d.Check(edge) {
		case hls.TooFar:
			l.mu.Unlock()
			return nil, &hls.DirectiveError{Param: hls.ParamMSN, Value: strconv.FormatUint(d.MSN, 10),
				Reason: fmt.Sprintf("more than two segments (or three target durations of parts) past the last one (%d)", edge.OpenMSN)}
		case hls.Ready:
			l.mu.Unlock()
			if d.Skip != hls.SkipNone {
				text, _ := pl.MarshalDelta()
				return text, nil
			}
			return pl.Marshal(), nil
		}
		if hold == nil {
			hold = l.newHold(holdFor(time.Duration(pl.TargetDuration) * time.Second))
			defer hold.stop()
		}
		if err := hold.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// llPlaylist renders the rendition's LL media playlist as of now and
// where its edge stands. Call with l.mu held.
func (l *Live) llPlaylist(dir, rendition string) (*hls.MediaPlaylist, hls.Edge, error) {
	if l.ll == nil || l.ended || dir != l.dir {
		return nil, hls.Edge{}, ErrNotServed
	}
	v := l.st.LastView()
	if v == nil || !slices.ContainsFunc(v.Tracks, func(t manifest.Stream) bool { return t.Name == rendition }) {
		return nil, hls.Edge{}, ErrNotServed
	}
	pl := v.MediaPlaylist(rendition, false)
	if pl == nil {
		return nil, hls.Edge{}, ErrNotServed
	}
	pt := l.partTarget()
	pl.PartTarget = pt
	td := time.Duration(pl.TargetDuration) * time.Second
	pl.ServerControl = &hls.ServerControl{CanBlockReload: true, PartHoldBack: 3 * pt, CanSkipUntil: 6 * td}
	last := v.Window[len(v.Window)-1].N
	edge := hls.Edge{OpenMSN: last + 1, PartTarget: pt}
	r := l.ll.rends[rendition]
	// The edge extends the window only within the epoch that published
	// last: a new epoch's segments wait for its first publish (its init
	// version and discontinuity are decided then).
	var segs []*llSeg
	if r != nil {
		for _, sg := range r.segs {
			if sg.epoch == l.st.Epoch() {
				segs = append(segs, sg)
			}
		}
	}
	maxDur := time.Duration(pl.TargetDuration) * time.Second
	for _, sg := range segs {
		if sg.n <= last {
			continue
		}
		if sg.n != edge.OpenMSN || len(sg.parts) == 0 {
			break
		}
		if !sg.done {
			pl.Open = &hls.Segment{Parts: partsOf(sg)}
			edge.OpenParts = len(sg.parts)
			break
		}
		pl.Segments = append(pl.Segments, hls.Segment{
			URI: strconv.FormatUint(sg.n, 10) + ".m4s", Duration: sg.dur, ProgramDateTime: sg.start(), Parts: partsOf(sg),
		})
		maxDur = max(maxDur, sg.dur)
		edge.LastParts = len(sg.parts)
		edge.OpenMSN = sg.n + 1
	}
	pl.TargetDuration = hls.TargetDuration(maxDur)
	// Parts of the window's last segments, for about three target durations.
	var back time.Duration
	for i := len(pl.Segments) - 1; i >= 0 && back < partsListed*td; i-- {
		s := &pl.Segments[i]
		back += s.Duration
		if s.Parts != nil {
			continue
		}
		n := pl.MediaSequence + uint64(i) // the media sequence numbers the segments
		if sg := l.ll.seg(rendition, n, false, 0); sg != nil && sg.done && sg.epoch == l.st.Epoch() {
			s.Parts = partsOf(sg)
			if n == edge.OpenMSN-1 {
				edge.LastParts = len(sg.parts)
			}
		}
	}
	next := edge.OpenMSN
	pl.PreloadHint = strconv.FormatUint(next, 10) + "." + strconv.Itoa(edge.OpenParts) + ".m4s"
	for _, t := range v.Tracks {
		if t.Name == rendition {
			continue
		}
		msn, part := l.lastPartOf(t.Name, last)
		pl.RenditionReports = append(pl.RenditionReports, hls.RenditionReport{URI: "../" + t.Name + "/" + manifest.PlaylistName, LastMSN: msn, LastPart: part})
	}
	return pl, edge, nil
}

// lastPartOf is the last segment (the open one if it has parts) and part
// of a rendition's edge, for its rendition report; the window's last
// segment when the edge has nothing newer.
func (l *Live) lastPartOf(name string, windowLast uint64) (msn uint64, part int) {
	msn, part = windowLast, -1
	if r := l.ll.rends[name]; r != nil {
		for _, sg := range r.segs {
			if sg.epoch == l.st.Epoch() && sg.n >= msn && len(sg.parts) > 0 {
				msn, part = sg.n, len(sg.parts)-1
			}
		}
	}
	if part < 0 {
		part = 0
	}
	return msn, part
}

func partsOf(sg *llSeg) []hls.Part {
	ps := make([]hls.Part, len(sg.parts))
	for k, p := range sg.parts {
		ps[k] = hls.Part{URI: strconv.FormatUint(sg.n, 10) + "." + strconv.Itoa(k) + ".m4s", Duration: p.dur, Independent: p.independent}
	}
	return ps
}

// partTarget is the PART-TARGET of every rendition (one value, so that
// every playlist of the set has the same EXT-X-SERVER-CONTROL): the part
// step the cutter uses (the configured duration rounded to whole frames of
// the lead: 208 ms at 24 fps for 200 ms) plus one AAC frame, since audio
// parts end on audio frames and so may be up to one frame longer than the
// video's (which also leaves video frames slack for variable timing).
// Every part but a segment's last stays within 85% of it (rfc8216bis
// 4.4.4.9): video parts are the step, audio parts that less at most one
// frame.
func (l *Live) partTarget() time.Duration {
	step := l.cfg.PartDuration
	if l.ep != nil && l.ep.cut != nil {
		if s := l.ep.cut.PartStep(); s > 0 {
			step = s
		}
	}
	// Whole milliseconds, rounded up as the playlist writes it, so that
	// PART-HOLD-BACK (three of it) is computed from the written value.
	pt := step + 1024*time.Second/48000
	if r := pt % time.Millisecond; r != 0 {
		pt += time.Millisecond - r
	}
	return pt
}

// Part opens part k of segment n of one of this session's renditions
// (k < 0: the whole segment n), as it is produced: the reader returns the
// bytes produced so far at once and blocks for the rest until the part (or
// segment) is complete, then returns io.EOF. A part listed in a preload
// hint may be opened before it starts. Closing the reader ends the wait.
// ErrNoPart for a part too old to be held in memory, or beyond the next
// one; ErrNotServed for another session's directory, or a segment not in
// memory (serve it from storage).
func (l *Live) Part(ctx context.Context, dir, rendition string, n uint64, k int) (io.ReadCloser, error) {
	var hold *hold
	for {
		l.mu.Lock()
		if l.ll == nil || l.ended || dir != l.dir {
			l.mu.Unlock()
			return nil, ErrNotServed
		}
		sg := l.ll.seg(rendition, n, false, 0)
		switch {
		case sg != nil && k >= 0 && k < len(sg.parts):
			data := sg.parts[k].data
			l.mu.Unlock()
			return io.NopCloser(bytes.NewReader(data)), nil
		case sg != nil && k < 0 && sg.done:
			data := sg.data
			l.mu.Unlock()
			return io.NopCloser(bytes.NewReader(data)), nil
		case sg != nil && k < 0:
			l.mu.Unlock()
			return &segReader{l: l, ctx: ctx, rendition: rendition, n: n}, nil
		case sg != nil && sg.done:
			l.mu.Unlock()
			return nil, ErrNoPart
		case !l.partComing(rendition, n, k, sg):
			l.mu.Unlock()
			if k < 0 {
				return nil, ErrNotServed
			}
			return nil, ErrNoPart
		}
		if hold == nil {
			hold = l.newHold(holdFor(l.cfg.SegmentDuration))
			defer hold.stop()
		}
		if err := hold.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// partComing reports whether part k of segment n (k < 0: the segment) is
// about to be produced: the next part or two of the open segment, or the
// first parts of the next segment. Call with l.mu held.
func (l *Live) partComing(rendition string, n uint64, k int, sg *llSeg) bool {
	if sg != nil {
		return k < len(sg.parts)+2
	}
	r := l.ll.rends[rendition]
	if r == nil || len(r.segs) == 0 {
		return false
	}
	last := r.segs[len(r.segs)-1]
	return n == last.n+1 && k < 3
}

// segReader streams a segment being produced, part by part.
type segReader struct {
	l         *Live
	ctx       context.Context
	rendition string
	n         uint64
	k, off    int // next part and offset in it
	closeOnce sync.Once
	closed    chan struct{}
	mu        sync.Mutex
}

func (r *segReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if r.closed == nil {
		r.closed = make(chan struct{})
	}
	closed := r.closed
	r.mu.Unlock()
	for {
		r.l.mu.Lock()
		sg := r.l.ll.seg(r.rendition, r.n, false, 0)
		if sg == nil {
			r.l.mu.Unlock()
			return 0, ErrNoPart // evicted: the segment is in storage
		}
		if r.k < len(sg.parts) {
			data := sg.parts[r.k].data
			n := copy(p, data[r.off:])
			r.off += n
			if r.off == len(data) {
				r.k, r.off = r.k+1, 0
			}
			r.l.mu.Unlock()
			return n, nil
		}
		if sg.done || r.l.ended {
			r.l.mu.Unlock()
			return 0, io.EOF
		}
		wake := r.l.ll.wake
		r.l.mu.Unlock()
		select {
		case <-wake:
		case <-closed:
			return 0, io.ErrClosedPipe
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

func (r *segReader) Close() error {
	r.mu.Lock()
	if r.closed == nil {
		r.closed = make(chan struct{})
	}
	c := r.closed
	r.mu.Unlock()
	r.closeOnce.Do(func() { close(c) })
	return nil
}

// MPD renders the live MPD from memory: the stored window, the segments
// every rendition has completed since (stored or not yet), and the one
// being produced at its nominal duration (LL-DASH: players request it while
// it is produced, and Part streams it). ErrNotServed without parts or once
// the session ended: the stored MPD is the one to serve.
func (l *Live) MPD(ctx context.Context) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ll == nil || l.ended {
		return nil, ErrNotServed
	}
	v := l.st.LastView()
	if v == nil {
		return nil, ErrNotServed
	}
	w := *v
	w.Window = slices.Clone(v.Window)
	last := w.Window[len(w.Window)-1]
	for n := last.N + 1; ; n++ {
		rec := &manifest.Segment{N: n, InitV: last.InitV, Period: last.Period, Lead: last.Lead, DSeq: last.DSeq}
		for _, t := range w.Tracks {
			sg := l.ll.seg(t.Name, n, false, 0)
			if sg == nil || !sg.done || sg.epoch != l.st.Epoch() {
				rec = nil
				break
			}
			rec.Entries = append(rec.Entries, manifest.Entry{Name: t.Name, Kind: t.Kind, TS: t.TS, T: sg.t, D: sg.d, Size: sg.size, Count: sg.count})
		}
		if rec == nil {
			break
		}
		w.Window = append(w.Window, rec)
	}
	if len(w.Window) > l.cfg.Window {
		w.Window = w.Window[len(w.Window)-l.cfg.Window:]
	}
	// The MPD's publishTime is when its content last changed, so that the
	// same MPD is the same bytes on every request and from every node.
	published := l.ll.closedAt
	if p := l.st.Counters().LastPublish; p.After(published) {
		published = p
	}
	return w.MPD(false, published, manifest.LiveOptions{Window: l.cfg.Window, TimeURL: l.cfg.TimeURL, LowLatency: l.dashLowLatency()})
}

// hold is the bounded wait of a blocking request for the edge to move.
type hold struct {
	l     *Live
	timer *time.Timer
}

func (l *Live) newHold(bound time.Duration) *hold {
	return &hold{l: l, timer: time.NewTimer(bound)}
}

func (h *hold) stop() { h.timer.Stop() }

// wait releases l.mu (held by the caller) and waits until a part or a
// segment is added (nil: look again, taking l.mu), the bound passes
// (ErrHoldTimeout) or ctx is done.
func (h *hold) wait(ctx context.Context) error {
	wake := h.l.ll.wake
	h.l.mu.Unlock()
	select {
	case <-wake:
		return nil
	case <-h.timer.C:
		return ErrHoldTimeout
	case <-ctx.Done():
		return ctx.Err()
	}
}
