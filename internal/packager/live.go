package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/packager/cmaf"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// ErrEnded is returned by calls after End.
var ErrEnded = errors.New("packager: live session ended")

// storeTimeout bounds one storage call made from WriteUnit or Begin.
const storeTimeout = 15 * time.Second

// Rendition is one output of the transcoder's ladder.
type Rendition struct {
	Name       string       // path element and DASH Representation id: "720p", "audio"
	Track      *media.Track // codec parameters as the transcoder outputs them
	Bitrate    int          // declared average bits/s, 0 if unknown (then measured)
	MaxBitrate int          // declared peak bits/s, 0 if unknown
}

// Live packages one live session of a channel. Its methods are safe for
// concurrent use; units are expected from one goroutine.
type Live struct {
	mu sync.Mutex

	store   storage.Store
	prefix  string
	cfg     Config
	log     *slog.Logger
	ctx     context.Context
	startNS int64 // sessionStart, nanoseconds since the Unix epoch

	// Persistent counters (state.json).
	nextSeg       uint64
	reserved      uint64
	nextInit      uint64
	discSeq       uint64
	hadPrevious   bool // an earlier session of the channel published segments
	oldListed     []listing
	listed        listing // this session's objects
	listedStarted bool
	deletes       []deletion

	ep     *epoch
	epochs int
	ended  bool

	// Published state of the session.
	window      []*segRecord
	published   bool
	lastInits   map[string][]byte // init bytes per rendition of the last init version
	lastInitV   uint64
	initNames   map[uint64][]string // renditions that have an object per live init version
	period      periodRef
	maxSegDur   time.Duration
	rends       map[string]*rendInfo
	multivar    []byte
	publishDue  bool
	lastPublish time.Time
	lastSegment uint64
	segments    int64
	pubTracks   []trackRef // ladder of the epoch that published last
	pubEpoch    int
	last        *view         // what the manifests were last rendered from
	finalized   bool          // End wrote the ended manifests of last
	prev        *sessionState // the previous session's, as loaded from state.json

	dropped     int64
	storeErrors int64
	deleted     int64
}

// epoch is the time between two Begin calls.
type epoch struct {
	index   int
	tracks  []*track
	lead    *track
	cuts    []cut
	slots   map[uint64]*slot
	nextPub uint64
	disc    bool // its first segment is discontinuous

	initDecided bool
	initV       uint64
	newPeriod   bool
}

// slot collects the closed segments of one number until every track has one.
type slot struct {
	res  []closedSeg
	have int
}

type closedSeg struct {
	done, gap bool
	t, d      uint64
	size      int
	count     int
}

// NewLive prepares packaging of one live session of a channel under prefix
// (e.g. "live/ch_abc"). sessionStart is the wall-clock instant of session
// time 0. It loads prefix+"/state.json" so that segment numbers and init
// versions continue where the channel's previous session left them. If that
// session was left live (the process stopped without End and Recover did
// not run), NewLive first ends its manifests as Recover would; failing
// that, it logs the error and goes on (End tries again if this session
// publishes nothing, and its first publish replaces them anyway).
func NewLive(ctx context.Context, store storage.Store, prefix string, sessionStart time.Time, cfg Config, log *slog.Logger) (*Live, error) {
	l, err := openLive(context.WithoutCancel(ctx), store, prefix, sessionStart, cfg, log)
	if err != nil {
		return nil, err
	}
	if _, err := l.endPrevious(); err != nil {
		l.log.Error("ending the interrupted previous session", "error", err)
	}
	return l, nil
}

// openLive builds a Live on the channel's state.json without touching
// anything else.
func openLive(ctx context.Context, store storage.Store, prefix string, sessionStart time.Time, cfg Config, log *slog.Logger) (*Live, error) {
	if store == nil {
		return nil, errors.New("packager: nil store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Live{
		store:     store,
		prefix:    prefix,
		cfg:       cfg.withDefaults(),
		log:       log.With("stage", "packager", "prefix", prefix),
		ctx:       ctx,
		startNS:   sessionStart.UnixNano(),
		initNames: map[uint64][]string{},
		rends:     map[string]*rendInfo{},
	}
	if err := l.loadState(); err != nil {
		return nil, fmt.Errorf("packager: %w", err)
	}
	return l, nil
}

func (l *Live) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(l.ctx, storeTimeout)
}

func (l *Live) put(key string, data []byte) error {
	ctx, cancel := l.opCtx()
	defer cancel()
	return l.store.Put(ctx, key, data)
}

// Begin starts an epoch: called when the transcoder starts and again each
// time it restarts, possibly with new codec parameters. Open segments of the
// previous epoch are flushed and published; the next segment is marked
// discontinuous.
func (l *Live) Begin(renditions []Rendition) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return ErrEnded
	}
	tracks, err := l.newTracks(renditions)
	if err != nil {
		return err
	}
	var flushErr error
	if l.ep != nil {
		flushErr = l.flushEpoch()
	}
	l.epochs++
	ep := &epoch{index: l.epochs, tracks: tracks, slots: map[uint64]*slot{}}
	ep.disc = l.published || l.hadPrevious
	ep.lead = tracks[0]
	for _, t := range tracks {
		if t.kind == media.Video {
			ep.lead = t
			break
		}
	}
	ep.lead.lead = true
	l.ep = ep
	for _, t := range tracks {
		l.listed.addRendition(t.name)
	}
	l.log.Info("packager epoch started", "epoch", ep.index, "renditions", len(tracks), "lead", ep.lead.name)
	return flushErr
}

func (l *Live) newTracks(rs []Rendition) ([]*track, error) {
	if len(rs) == 0 {
		return nil, errors.New("packager: no renditions")
	}
	seen := map[string]bool{}
	tracks := make([]*track, 0, len(rs))
	for i, r := range rs {
		if !validName(r.Name) || seen[r.Name] {
			return nil, fmt.Errorf("packager: rendition %d: invalid or duplicate name %q", i, r.Name)
		}
		seen[r.Name] = true
		if r.Track == nil {
			return nil, fmt.Errorf("packager: rendition %s: no track", r.Name)
		}
		t := &track{idx: i, r: r, name: r.Name, kind: r.Track.Kind, codec: r.Track.Codec, ts: cmaf.Timescale(r.Track)}
		switch {
		case t.kind == media.Video && (t.codec == media.H264 || t.codec == media.H265):
		case t.kind == media.Audio && (t.codec == media.AAC || t.codec == media.Opus):
			data, info, err := cmaf.BuildInit(r.Track)
			if err != nil {
				return nil, fmt.Errorf("packager: rendition %s: %w", r.Name, err)
			}
			t.hasInit, t.init, t.info, t.ts = true, data, info, info.Timescale
			t.aac = t.codec == media.AAC
		default:
			return nil, fmt.Errorf("packager: rendition %s: unsupported %s track %q", r.Name, t.kind, t.codec)
		}
		tracks = append(tracks, t)
	}
	return tracks, nil
}

func validName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// WriteUnit packages one access unit of the rendition with that index in
// the list given to Begin. It satisfies media.Sink.
func (l *Live) WriteUnit(rendition int, u *media.Unit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return ErrEnded
	}
	if l.ep == nil {
		return errors.New("packager: WriteUnit before Begin")
	}
	if rendition < 0 || rendition >= len(l.ep.tracks) {
		return fmt.Errorf("packager: no rendition %d", rendition)
	}
	t := l.ep.tracks[rendition]
	x := unit{pts: u.PTS, dts: u.DTS, key: u.Key, nalus: u.NALUs, data: u.Data}
	if t.kind == media.Video {
		if len(u.NALUs) == 0 {
			l.dropped++
			return nil
		}
		x.data = nil
	} else {
		if len(u.Data) == 0 {
			l.dropped++
			return nil
		}
		x.dts, x.key, x.nalus = u.PTS, true, nil
	}
	var err error
	if t.lead {
		err = l.leadUnit(t, &x)
	} else {
		l.otherUnit(t, &x)
	}
	if l.publishDue {
		l.publishDue = false
		if perr := l.publishReady(false); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return fmt.Errorf("packager: %w", err)
	}
	return nil
}

// End is called when the publisher left: open segments are flushed,
// playlists get EXT-X-ENDLIST, the MPD becomes static and state is saved.
// Calling End again does nothing.
func (l *Live) End(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return nil
	}
	l.ended = true
	l.ctx = ctx
	var errs []error
	if l.ep != nil {
		if err := l.flushEpoch(); err != nil {
			errs = append(errs, err)
		}
	}
	if l.published {
		if err := l.writeManifests(true); err != nil {
			errs = append(errs, err) // state stays live: Recover will end it
		} else {
			l.finalized = true
		}
	} else if _, err := l.endPrevious(); err != nil {
		errs = append(errs, err)
	}
	l.runDeletes()
	if err := l.saveState(true); err != nil {
		errs = append(errs, err)
	}
	l.log.Info("packager session ended", "segments", l.segments, "last_segment", l.lastSegment)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("packager: ending session: %w", err)
	}
	return nil
}

// flushEpoch closes every open segment of the current epoch, as short as
// it may be, and publishes what can be.
func (l *Live) flushEpoch() error {
	ep := l.ep
	lead := ep.lead
	leadEnd := lead.lastPTS + ticksDur(uint64(max(lead.lastDur, 1)), lead.ts)
	if lead.open != nil {
		l.closeSegment(lead)
	}
	for _, t := range ep.tracks {
		if t == lead {
			continue
		}
		for t.pending() > 0 {
			u := t.peek()
			if u.pts < leadEnd {
				l.append(t, &u)
			} else {
				l.dropped++
			}
			t.pop()
		}
		if t.open != nil {
			l.closeSegment(t)
		}
	}
	for _, c := range ep.cuts {
		for _, t := range ep.tracks {
			if s := ep.slots[c.n]; s == nil || !s.res[t.idx].done {
				l.markGap(c.n, t)
			}
		}
	}
	return l.publishReady(false)
}

// closeSegment encodes and stores t's open segment.
func (l *Live) closeSegment(t *track) {
	s := t.open
	t.open = nil
	data := s.frag.Encode(uint32(s.n), s.base)
	t.payloadHint, t.samplesHint = s.frag.PayloadSize(), s.frag.Len()
	res := closedSeg{done: true, t: s.base, d: s.frag.Duration(), size: len(data), count: s.frag.Len()}
	if err := l.put(l.key(segmentKey(t.name, s.n)), data); err != nil {
		l.storeErrors++
		l.log.Error("storing segment", "rendition", t.name, "segment", s.n, "error", err)
		res.gap = true
	}
	l.ep.setClosed(s.n, t.idx, res, len(l.ep.tracks))
	l.publishDue = true
}

func (l *Live) markGap(n uint64, t *track) {
	l.ep.setClosed(n, t.idx, closedSeg{done: true, gap: true}, len(l.ep.tracks))
	l.publishDue = true
}

func (ep *epoch) setClosed(n uint64, i int, res closedSeg, tracks int) {
	s := ep.slots[n]
	if s == nil {
		s = &slot{res: make([]closedSeg, tracks)}
		ep.slots[n] = s
	}
	if !s.res[i].done {
		s.have++
	}
	s.res[i] = res
}
