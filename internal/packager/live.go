package packager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ospreyvideo/osprey/internal/media"
	"github.com/ospreyvideo/osprey/internal/storage"
)

// ErrEnded is returned by calls after End (of a Live or a VOD).
var ErrEnded = errors.New("packager: session ended")

// storeTimeout bounds one storage call made from WriteUnit or Begin.
const storeTimeout = 15 * time.Second

// Rendition is one output of the transcoder's ladder.
type Rendition struct {
	Name       string       // path element and DASH Representation id: "720p", "audio"
	Track      *media.Track // codec parameters as the transcoder outputs them
	Bitrate    int          // declared average bits/s, 0 if unknown (then measured)
	MaxBitrate int          // declared peak bits/s, 0 if unknown

	// Audio renditions: they are listed as alternatives of one group.
	Language string // BCP 47 ("en", "fr"), "" if unknown
	Label    string // human name ("English"); "" derives one from Language
	Default  bool   // the default audio rendition (the first audio if none is)
}

// Live packages one live session of a channel. Its methods are safe for
// concurrent use; units are expected from one goroutine.
type Live struct {
	mu   sync.Mutex
	core // startNS is sessionStart, nanoseconds since the Unix epoch

	cfg Config

	// Persistent counters (state.json).
	nextSeg       uint64
	reserved      uint64
	nextInit      uint64
	discSeq       uint64
	nextSession   uint64
	hadPrevious   bool // an earlier session of the channel published segments
	oldListed     []listing
	listed        listing // this session's objects
	listedStarted bool
	deletes       []deletion

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
	lastPublish time.Time
	lastSegment uint64
	segments    int64
	pubTracks   []trackRef // ladder of the epoch that published last
	pubEpoch    int
	last        *view // what the manifests were last rendered from
	frozen      []frozenPlaylist
	finalized   bool          // End wrote the ended manifests of last
	prev        *sessionState // the previous session's, as loaded from state.json
	// awaiting: the previous session may be continued (continue.go); the
	// first Begin decides, by its ladder.
	awaiting  bool
	continued bool // this session continues the previous one

	deleted int64
}

// NewLive prepares packaging of one live session of a channel under prefix
// (e.g. "live/ch_abc"). sessionStart is the wall-clock instant of session
// time 0. It loads prefix+"/state.json" so that segment numbers and init
// versions continue where the channel's previous session left them.
//
// If that session was left live (the process stopped without End) and
// published within cfg.ContinueGrace, the first Begin decides: the same
// renditions continue it (continue.go), another ladder ends it. If it was
// left live longer ago, NewLive first ends its manifests as Recover would;
// failing that, it logs the error and goes on (End tries again if this
// session publishes nothing, and its first publish replaces them anyway).
func NewLive(ctx context.Context, store storage.Store, prefix string, sessionStart time.Time, cfg Config, log *slog.Logger) (*Live, error) {
	l, err := openLive(context.WithoutCancel(ctx), store, prefix, sessionStart, cfg, log)
	if err != nil {
		return nil, err
	}
	if l.continuable() {
		l.awaiting = true
		l.log.Info("the previous session was left live: the first ladder with its renditions continues it",
			"dir", l.prev.Dir, "last_publish", l.prev.Published)
		return l, nil
	}
	l.startSession()
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
	cfg = cfg.withDefaults()
	l := &Live{
		core: core{
			store:   store,
			prefix:  prefix,
			ctx:     ctx,
			log:     log.With("stage", "packager", "prefix", prefix),
			segDur:  cfg.SegmentDuration,
			startNS: sessionStart.UnixNano(),
		},
		cfg:       cfg,
		initNames: map[uint64][]string{},
		rends:     map[string]*rendInfo{},
	}
	l.alloc = l.allocSegment
	if err := l.loadState(); err != nil {
		return nil, fmt.Errorf("packager: %w", err)
	}
	return l, nil
}

// startSession gives the session the next session directory of the
// channel (persisted with the next state.json, before any object is
// stored in it).
func (l *Live) startSession() {
	k := max(l.nextSession, 1)
	l.nextSession = k + 1
	l.dir = sessionDir(k)
	l.listed.Dir = l.dir
	l.log = l.log.With("session", l.dir)
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
	tracks, err := newTracks(renditions)
	if err != nil {
		return err
	}
	if l.awaiting {
		l.awaiting = false
		l.decideContinuation(renditions)
	}
	var flushErr error
	if l.ep != nil {
		flushErr = l.flushEpoch()
	}
	l.epochs++
	ep := newEpoch(l.epochs, tracks)
	ep.disc = l.published || l.hadPrevious
	l.ep = ep
	for _, t := range tracks {
		l.listed.addRendition(t.name)
	}
	l.log.Info("packager epoch started", "epoch", ep.index, "renditions", len(tracks), "lead", ep.lead.name)
	return flushErr
}

// WriteUnit packages one access unit of the rendition with that index in
// the list given to Begin. It satisfies media.Sink.
func (l *Live) WriteUnit(rendition int, u *media.Unit) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return ErrEnded
	}
	if err := l.checkUnit(rendition); err != nil {
		return err
	}
	err := l.cutUnit(rendition, u)
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
	l.awaiting = false // never begun: the previous session ends below
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
	l.flushCuts()
	return l.publishReady(false)
}
